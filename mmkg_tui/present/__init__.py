"""UI-free presentation shared by the CLI and the views: tables, formatting, records."""

"""The five views of the main screen (one module each)."""

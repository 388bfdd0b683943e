"""The Textual app: factory, session state, messages."""

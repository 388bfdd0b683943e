"""mmkg-tui: the Textual explorer and the command line. Heavy modules load lazily."""

__version__ = "0.1.0"

"""mmkg-tui engine: datasets, CLIP features, the knowledge graph, training and evaluation.

This package never imports the terminal UI (textual, plotext, mmkg_tui); an
import-linter contract in pyproject.toml and tests/test_import_hygiene.py enforce it.
Nothing heavy happens at import time: models are loaded only when asked for.
"""

__version__ = "0.1.0"

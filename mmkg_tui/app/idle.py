"""What the app does with the interpreter while the user is idle."""

from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Move every object alive now to the collector's permanent generation (a full
    collection of the large long-lived heap took 150-250 ms with the GIL held and
    froze the event loop while training). Frozen objects are still freed by
    reference counting. Called after the warm-up and again once the hidden views
    are prebuilt."""
    gc.freeze()

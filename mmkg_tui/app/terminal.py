"""The terminal graphics probe, started first thing at launch so it overlaps the imports.

textual_image asks the terminal what it supports when it is first imported (Sixel,
the Kitty graphics protocol, the cell size in pixels): an escape sequence each, and a
terminal that does not answer one costs its 0.1 s timeout (tmux: ~0.35 s in all). It
must finish before Textual starts reading stdin. Waiting for those answers releases the
GIL, so in a thread they overlap the app's imports (engine, numpy, scipy) on the main
thread; the launcher's own ``import textual_image.widget`` then waits for the module
the thread is importing (Python's per-module import lock) instead of asking again.
"""

from __future__ import annotations

import sys
import threading

EXPLORER_FLAGS = ("-h", "--help", "--version")


def is_explorer_launch(argv: list[str], subcommands: set[str] | dict) -> bool:
    """True when ``argv`` (without the program) opens the explorer: no subcommand and
    no help / version flag (those never start Textual)."""
    if any(a in EXPLORER_FLAGS for a in argv):
        return False
    return not (argv and argv[0] in subcommands)


def _probe() -> None:
    try:
        import textual_image.widget  # noqa: F401  (asks the terminal at import)
    except Exception:  # noqa: BLE001 - the launcher's import raises it again, with its traceback
        pass


_started: list[threading.Thread] = []  # the probe of this process, once started


def start_probe() -> threading.Thread | None:
    """Import textual_image.widget in a daemon thread when stdout is a terminal (it asks
    nothing otherwise, so there is nothing to overlap); returns the thread, or None
    when there is nothing to do (no terminal, already imported or started)."""
    if _started or not (sys.__stdout__ and sys.__stdout__.isatty()) or "textual_image.widget" in sys.modules:
        return None
    thread = threading.Thread(target=_probe, name="terminal-probe", daemon=True)
    _started.append(thread)
    thread.start()
    return thread


def wait_probe(timeout: float = 2.0) -> None:
    """Let a probe still asking the terminal finish before the process leaves (it holds
    the terminal in raw mode while it waits for an answer; a daemon thread killed then
    would leave it so)."""
    for thread in _started:
        thread.join(timeout)

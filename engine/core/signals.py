"""Signals: SIGTERM ends a command the way Ctrl-C does, and short critical sections
(the rename pair of an atomic folder swap) hold SIGINT/SIGTERM until they are done.

Python runs signal handlers on the main thread only, between bytecodes; so holding
them there, by swapping in a handler that just records the signal, is enough for the
whole process: a worker thread's critical section is never interrupted by Python code.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

HELD = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM was received: unwinds like Ctrl-C, so every cleanup runs."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While active (main thread only), SIGTERM raises :class:`Terminated`."""
    if not _on_main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old if old is not None else signal.SIG_DFL)


def _deliver(signum: int, handler) -> None:
    """Act on a held signal as its own handler would have."""
    if handler is None or handler == signal.SIG_DFL:
        signal.raise_signal(signum)  # default action (SIGTERM: the process ends)
    elif handler != signal.SIG_IGN and callable(handler):
        handler(signum, None)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT/SIGTERM arriving inside the block take effect when it ends."""
    if not _on_main_thread():  # handlers run on the main thread: this one is never interrupted
        yield
        return
    pending: list[int] = []

    def hold(signum, frame) -> None:
        pending.append(signum)

    old = {s: signal.signal(s, hold) for s in HELD}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        if pending:
            _deliver(pending[0], old[pending[0]])

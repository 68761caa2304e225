"""Ctrl-C as "answer now": the first Ctrl-C (SIGINT) during ``inverse predict``'s refinement ends its gradient steps
after the current one (in ``inverse search``, the search after its batch under way), and the answer is finished from
what there is and written; a second one stops the command at once, as Ctrl-C always did.

An answer's gradient steps are about half of its time (~10 s on 2 cores); a user who stops waiting loses nothing
found so far. Stopped after step ``j``, the answer is the one ``--steps j`` gives (``refine_gradient`` stops there bit
for bit, :mod:`inverse.refine`), and the result says so.
"""

from __future__ import annotations

import signal
import threading


class FinishEarly:
    """Within the block, the first SIGINT sets :attr:`requested` (read it by calling the object) instead of raising
    :class:`KeyboardInterrupt`; any further one raises it. Only in the main thread (the only one Python delivers
    signals to); elsewhere, as in the web app's worker threads, the block changes nothing and it stays false."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> FinishEarly:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True  # no printing here: a signal handler may run in the middle of a write to stderr

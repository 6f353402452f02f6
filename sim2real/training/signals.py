"""SIGINT/SIGTERM during training: the first one stops ``learn``, later ones wait for the save."""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["StopSignals"]


class StopSignals:
    """SIGINT/SIGTERM during training: the first raises ``KeyboardInterrupt``, later ones wait.

    Installed in the main thread over handlers that raise ``KeyboardInterrupt`` (Python's
    default for SIGINT; the CLI's for SIGTERM). After the first signal, or once :meth:`hold` is
    called (the final save), signals are only counted, so a second SIGTERM a few ms after the
    first cannot abort the save that the first one started. :meth:`restore` puts the previous
    handlers back.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.stopping = False
        self.held = 0
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is signal.default_int_handler:
                    self.previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.stopping:
            self.held += 1
            return
        self.stopping = True
        raise KeyboardInterrupt

    def hold(self) -> None:
        """From now on only count signals (also those whose handler was not ours)."""
        self.stopping = True
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                previous = signal.signal(sig, self._on_signal)
                self.previous.setdefault(sig, previous)

    def restore(self) -> None:
        """Put the previous handlers back."""
        for sig, previous in self.previous.items():
            signal.signal(sig, previous)
        self.previous.clear()

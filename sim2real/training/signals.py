"""SIGINT/SIGTERM during training: the first one stops training at its next safe point (an
env step, or a phase-2 iteration), later ones wait for the save."""

from __future__ import annotations

import signal
import threading
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

__all__ = ["StopAtSignal", "StopSignals"]


class StopSignals:
    """SIGINT/SIGTERM during training: the first asks training to stop, later ones wait.

    Installed in the main thread over handlers that raise ``KeyboardInterrupt`` (Python's
    default for SIGINT; the CLI's for SIGTERM). The handler only records the request; training
    raises ``KeyboardInterrupt`` itself at its next safe point (:meth:`check`, called between env
    steps by :class:`StopAtSignal`). Raising from the handler, at whatever bytecode the main
    thread is on, could land inside a lock (e.g. TensorBoard's event writer) or halfway through
    a gradient update, and leave the final save waiting or the checkpoint inconsistent.

    After the first signal, or once :meth:`hold` is called (the final save), signals are only
    counted, so a second SIGTERM a few ms after the first cannot abort the save that the first
    one started. :meth:`restore` puts the previous handlers back.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.holding = False
        self.held = 0
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is signal.default_int_handler:
                    self.previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.requested or self.holding:
            self.held += 1
            return
        self.requested = True

    def check(self) -> None:
        """A safe point: raise ``KeyboardInterrupt`` if a signal asked training to stop."""
        if self.requested and not self.holding:
            raise KeyboardInterrupt

    def hold(self) -> None:
        """From now on only count signals (also those whose handler was not ours)."""
        self.holding = True
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                previous = signal.signal(sig, self._on_signal)
                self.previous.setdefault(sig, previous)

    def restore(self) -> None:
        """Put the previous handlers back."""
        for sig, previous in self.previous.items():
            signal.signal(sig, previous)
        self.previous.clear()


class StopAtSignal(BaseCallback):
    """First in the callback list: stops ``learn`` at the env step after a signal, before any
    other callback (an evaluation, a checkpoint) starts work on that step."""

    def __init__(self, signals: StopSignals) -> None:
        super().__init__()
        self.signals = signals

    def _on_step(self) -> bool:
        self.signals.check()
        return True

"""Clean shutdown for long-running workers (management commands run by honcho or systemd)."""

from __future__ import annotations

import signal
import threading


def stop_event_on_signals() -> threading.Event:
    """An Event set by SIGINT or SIGTERM, so a worker can finish its current step and exit."""
    stop = threading.Event()

    def handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop

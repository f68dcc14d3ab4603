"""What ``paylens sandbox`` and ``paylens sandbox truth`` call; argv parsing lives in ``app/``."""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
from types import FrameType
from typing import TextIO

from sandbox.server import SandboxServer, serve_forever
from sandbox.sim import simulate, truth


def run_sandbox(
    seed: int, until: dt.date, port: int, api_key: str, preset: str, out: TextIO
) -> None:
    """Simulate, serve on 127.0.0.1:``port``, print how to connect, block until stopped.

    Steps: simulate (seeded, so a restart serves the same account); serve; print the URL and
    key; wait for Ctrl-C or SIGTERM (handled only when called from the main thread, where
    Python allows installing signal handlers); shut down.
    """
    sim = simulate(seed, until, preset)
    stop = threading.Event()
    previous = _stop_on_sigterm(stop)

    def announce(server: SandboxServer) -> None:
        counts = ", ".join(f"{n} {name}" for name, n in sim.counts().items())
        print(
            f"paylens sandbox ({preset}, seed {seed}, until {until.isoformat()}): {counts}",
            file=out,
        )
        print(f"URL:     {server.url}", file=out)
        print(f"API key: {server.api_key}", file=out)
        print("Press Ctrl-C to stop.", file=out, flush=True)

    try:
        serve_forever(sim, stop, port=port, api_key=api_key, on_ready=announce)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        print("sandbox stopped", file=out, flush=True)


def _stop_on_sigterm(stop: threading.Event) -> signal.Handlers | None:
    """Make SIGTERM set ``stop``; returns the handler to restore (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handle)
    return previous if isinstance(previous, signal.Handlers) else signal.Handlers.SIG_DFL


def truth_json(seed: int, until: dt.date, as_of: dt.date, preset: str) -> str:
    """The ground truth for ``as_of`` as JSON text (see ``sandbox.sim.truth``)."""
    return json.dumps(truth(simulate(seed, until, preset), as_of), indent=2)

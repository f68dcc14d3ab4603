"""``paylens sandbox …``: its arguments and what each form does.

``app/cli.py`` hands the ``sandbox`` sub-parser to ``configure_parser`` and the parsed arguments
to ``main``; the app passes today's date in, so nothing here reads the clock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import threading
from types import FrameType
from typing import TextIO

from sandbox.server import DEFAULT_API_KEY, SandboxServer, serve_forever
from sandbox.sim import simulate, truth


def configure_parser(parser: argparse.ArgumentParser, today: dt.date) -> None:
    """Arguments of ``paylens sandbox`` (serve) and ``paylens sandbox truth``."""
    _simulation_arguments(parser, today)
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument("--key", default=DEFAULT_API_KEY, help="the API key clients must send")
    commands = parser.add_subparsers(dest="sandbox_command")
    truth_parser = commands.add_parser("truth", help="the simulator's own numbers for a date")
    _simulation_arguments(truth_parser, today)
    truth_parser.add_argument("--as-of", type=_date, required=True)
    truth_parser.add_argument(
        "--json", action="store_true", required=True, help="print JSON (the only format)"
    )


def main(args: argparse.Namespace, out: TextIO) -> int:
    if args.sandbox_command == "truth":
        print(truth_json(args.seed, args.until, args.as_of, args.preset), file=out)
        return 0
    run_sandbox(args.seed, args.until, args.port, args.key, args.preset, out)
    return 0


def _simulation_arguments(parser: argparse.ArgumentParser, today: dt.date) -> None:
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--until", type=_date, default=today, help="last simulated day")
    parser.add_argument("--preset", default="demo")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


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

"""``paylens sandbox …``: its arguments and what each form does.

``app/cli.py`` hands the ``sandbox`` sub-parser to ``configure_parser`` and the parsed arguments
to ``main``; the app passes today's date in, so nothing here reads the clock. Flag values are
parsed by the modules that own them (faults, incidents, restricted keys), so a bad value is one
argparse error quoting that module's message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TextIO, TypeVar

from sandbox.api.faults import FaultPlan, parse_faults
from sandbox.api.routes import PERMISSIONS
from sandbox.api.server import DEFAULT_API_KEY, SandboxServer, serve_forever
from sandbox.scenario import (
    ScenarioError,
    live_entries,
    live_entries_error,
    load_scenario,
    simulate_scenario,
)
from sandbox.sim import simulate, truth
from sandbox.sim.incidents import Incident, parse_incident
from sandbox.sim.model import Simulation
from sandbox.sim.presets import PRESETS
from sandbox.truth.report import format_truth
from sandbox.truth.stats import format_stats, monthly_stats

T = TypeVar("T")


@dataclass(frozen=True)
class ServeOptions:
    """How the server behaves beyond the data: limits, faults, live clock, extra keys."""

    rate: float | None = None
    endpoint_rate: float | None = None
    faults: FaultPlan | None = None
    fault_seed: int = 0
    speed: float | None = None
    restricted_keys: dict[str, list[str]] = field(default_factory=dict)


def configure_parser(parser: argparse.ArgumentParser, today: dt.date) -> None:
    """Arguments of ``paylens sandbox`` (serve), ``… truth`` and ``… stats``.

    ``main`` checks what no single argument can: live entries of a scenario need ``--speed``
    (``usage_error`` reports that as argparse reports any other bad argument).
    """
    _simulation_arguments(parser, today)
    parser.set_defaults(usage_error=parser.error)
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument("--key", default=DEFAULT_API_KEY, help="the API key clients must send")
    _serving_arguments(parser)
    commands = parser.add_subparsers(dest="sandbox_command")
    truth_parser = commands.add_parser("truth", help="the simulator's own numbers for a date")
    _simulation_arguments(truth_parser, today)
    truth_parser.add_argument("--as-of", type=_date, required=True)
    truth_parser.add_argument(
        "--json", action="store_true", help="print JSON (every key) instead of a summary"
    )
    stats_parser = commands.add_parser("stats", help="the preset's monthly business figures")
    _simulation_arguments(stats_parser, today)


def main(args: argparse.Namespace, out: TextIO) -> int:
    """Serve, or print the truth or the stats; ``--scenario`` replaces the preset."""
    if args.sandbox_command == "truth":
        if args.json:
            text = truth_json(args.seed, args.until, args.as_of, args.preset, sim=args.scenario)
        else:
            text = truth_text(args.seed, args.until, args.as_of, args.preset, sim=args.scenario)
        print(text, file=out)
        return 0
    if args.sandbox_command == "stats":
        print(stats_text(args.seed, args.until, args.preset, sim=args.scenario), file=out)
        return 0
    if args.speed is None and args.scenario_file and live_entries(args.scenario_file):
        args.usage_error(f"argument --scenario: {live_entries_error(args.scenario_file)}")
    options = ServeOptions(
        rate=args.rate,
        endpoint_rate=args.endpoint_rate,
        faults=args.faults,
        fault_seed=args.fault_seed,
        speed=args.speed,
        restricted_keys=dict(args.restricted_key),
    )
    run_sandbox(
        args.seed, args.until, args.port, args.key, args.preset, out,
        options=options, incidents=args.incident, sim=args.scenario,
    )  # fmt: skip
    return 0


def _simulation_arguments(parser: argparse.ArgumentParser, today: dt.date) -> None:
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--until", type=_date, default=today, help="last simulated day")
    add_preset_argument(parser)
    parser.add_argument(
        "--scenario",
        action=_ScenarioAction,
        metavar="FILE",
        help="a scripted business (TOML or JSON; see docs/SANDBOX.md) instead of a preset; "
        "entries after its last day need --speed, whose live clock plays them",
    )
    parser.set_defaults(scenario_file=None)


def add_preset_argument(parser: argparse.ArgumentParser) -> None:
    """``--preset``, one of the known presets: an unknown name is one argparse line listing
    them (also for ``paylens demo``), not a traceback from deep in the simulation."""
    parser.add_argument("--preset", default="demo", choices=sorted(PRESETS))


def _serving_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--rate", type=_positive, help="global limit, requests/s (Stripe: 25 test, 100 live)")
    add("--endpoint-rate", type=_positive, help="per-endpoint limit, requests/s (Stripe: 25)")
    add("--faults", type=_parsed(parse_faults), help='e.g. "500=0.1,lock=0.02,window=wall:5-20"')
    add("--fault-seed", type=int, default=0, help="the same seed gives the same faults")
    add("--speed", type=_positive, help="live clock: simulated seconds per wall second")
    add(
        "--incident",
        type=_parsed(parse_incident),
        action="append",
        default=[],
        help="e.g. decline_spike:brand=visa,country=BR,start=2026-11-27T10:00,hours=2,rate=0.6"
        ",code=do_not_honor (code optional: else drawn per failure); also webhook_outage, "
        "dispute_wave and checkout_wave (see docs/SANDBOX.md)",
    )
    add(
        "--restricted-key",
        type=_restricted_key,
        action="append",
        default=[],
        metavar="KEY:RESOURCE,…",
        help="an extra key that may not read the listed resources (403)",
    )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _parsed(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser raising ValueError, keeping the parser's message."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def _restricted_key(text: str) -> tuple[str, list[str]]:
    key, sep, listed = text.partition(":")
    resources = [r.strip() for r in listed.split(",") if r.strip()]
    if not sep or not key or not resources:
        raise argparse.ArgumentTypeError(f"expected KEY:resource,resource…, got {text!r}")
    unknown = sorted(set(resources) - PERMISSIONS.keys())
    if unknown:
        known = ", ".join(sorted(PERMISSIONS))
        raise argparse.ArgumentTypeError(f"unknown resource {unknown[0]!r} (known: {known})")
    return key, resources


class _ScenarioAction(argparse.Action):
    """``--scenario FILE``: loaded and played to its last day while arguments are parsed.

    Playing it here makes every problem (a bad key, or an operation the business cannot do by
    then, live entries included) one argparse error quoting the ``ScenarioError``; ``--seed``,
    ``--until`` and ``--preset`` are then ignored (the file has its own seed and days). The
    parsed file goes to ``scenario_file``, for ``main`` to check that its live entries (after
    its last day) have a live clock (``--speed``) to play them.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        try:
            scenario = load_scenario(str(values))
            sim = simulate_scenario(scenario)
        except ScenarioError as error:
            raise argparse.ArgumentError(self, str(error)) from None
        setattr(namespace, self.dest, sim)
        namespace.scenario_file = scenario


def run_sandbox(
    seed: int,
    until: dt.date,
    port: int,
    api_key: str,
    preset: str,
    out: TextIO,
    *,
    options: ServeOptions | None = None,
    incidents: Sequence[Incident] = (),
    sim: Simulation | None = None,
) -> None:
    """Simulate (or take ``sim``), serve on 127.0.0.1:``port``, print how to connect, block.

    Steps: simulate (seeded, so a restart serves the same account); serve with ``options``;
    print the URL and key; wait for Ctrl-C or SIGTERM (handled only when called from the main
    thread, where Python allows installing signal handlers); shut down.
    """
    options = options or ServeOptions()
    if sim is None:
        sim = simulate(seed, until, preset, incidents=incidents)
    stop = threading.Event()
    previous = _stop_on_sigterm(stop)
    gc.freeze()  # the served account lives as long as this call: never traverse it in a GC

    def announce(server: SandboxServer) -> None:
        print(_banner(sim, options), file=out)
        print(f"URL:     {server.url}", file=out)
        print(f"API key: {server.api_key}", file=out)
        print("Press Ctrl-C to stop.", file=out, flush=True)

    try:
        serve_forever(
            sim, stop, port=port, api_key=api_key, rate=options.rate,
            endpoint_rate=options.endpoint_rate, faults=options.faults,
            fault_seed=options.fault_seed, speed=options.speed,
            restricted_keys=options.restricted_keys, on_ready=announce,
        )  # fmt: skip
    finally:
        gc.unfreeze()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        print("sandbox stopped", file=out, flush=True)


def _banner(sim: Simulation, options: ServeOptions) -> str:
    """One line saying what is served and how the server misbehaves, if it does."""
    counts = ", ".join(f"{n} {name}" for name, n in sim.counts().items())
    extras = [
        f"{label} {value}"
        for label, value in (
            ("rate", options.rate),
            ("endpoint rate", options.endpoint_rate),
            ("speed", options.speed),
        )
        if value is not None
    ]
    if options.faults is not None and options.faults.shares:
        extras.append(f"faults (seed {options.fault_seed})")
    extras.extend(f"restricted key {key}" for key in options.restricted_keys)
    tail = f" [{'; '.join(extras)}]" if extras else ""
    head = f"paylens sandbox ({sim.preset}, seed {sim.seed}, until {sim.until.isoformat()})"
    return f"{head}: {counts}{tail}"


def _stop_on_sigterm(stop: threading.Event) -> signal.Handlers | None:
    """Make SIGTERM set ``stop``; returns the handler to restore (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handle)
    return previous if isinstance(previous, signal.Handlers) else signal.Handlers.SIG_DFL


def truth_json(
    seed: int, until: dt.date, as_of: dt.date, preset: str, *, sim: Simulation | None = None
) -> str:
    """The ground truth for ``as_of`` as JSON text (see ``sandbox.sim.truth``) of the preset,
    or of ``sim`` (a scenario's simulation) when given."""
    simulation = sim if sim is not None else simulate(seed, until, preset)
    return json.dumps(truth(simulation, as_of), indent=2)


def truth_text(
    seed: int, until: dt.date, as_of: dt.date, preset: str, *, sim: Simulation | None = None
) -> str:
    """The ground truth for ``as_of`` as a few lines for people (``--json`` has every key)."""
    simulation = sim if sim is not None else simulate(seed, until, preset)
    return format_truth(truth(simulation, as_of))


def stats_text(seed: int, until: dt.date, preset: str, *, sim: Simulation | None = None) -> str:
    """The monthly figures of the preset, or of ``sim``, as a table (``sandbox.truth.stats``)."""
    simulation = sim if sim is not None else simulate(seed, until, preset)
    return format_stats(monthly_stats(simulation))

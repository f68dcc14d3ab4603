"""Freshness of alerts: the time from an event in Stripe to its message in Slack (SPEC §9:
within one sync interval plus 30 seconds).

The sandbox serves a scenario on a real-time live clock (speed 1), whose live entries open a
dispute every `SPACING` seconds; the service runs as `paylens run` does, with the default
interval (300 s), and sends to a local Slack stand-in. For each dispute: the wall time its
`created` came due on the sandbox's clock, to the arrival of the message naming it. About
`INCIDENTS * SPACING` seconds plus one interval of wall time (~15 minutes by default).
`BENCH_ALERTS_INTERVAL` and `BENCH_ALERTS_SPACING` (seconds) shorten the run for a quick look.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from app.scheduler import Service
from app.settings import Secret, Settings
from sandbox.api.server import start_server
from sandbox.scenario import load_scenario, simulate_scenario
from sandbox.sim import Simulation
from sandbox.slack_standin import SlackStandin, start_slack_standin
from tests.benchmarks.common import Row

INCIDENTS = 12
# seconds between disputes, so they fall at every point of the interval
SPACING = int(os.environ.get("BENCH_ALERTS_SPACING", "50"))
UNTIL = dt.date(2025, 1, 31)


def _scenario(directory: Path) -> Path:
    """Customers paying in January; after the last day a dispute every SPACING seconds."""
    first = dt.datetime.combine(UNTIL + dt.timedelta(days=1), dt.time(), dt.UTC)
    lines = [
        '[scenario]\nname = "bench_alerts"\nstart = 2025-01-01\nuntil = 2025-01-31\nseed = 1\n',
        '[products.pro]\nname = "Pro"\n',
        '[prices.pro]\nproduct = "pro"\ncurrency = "usd"\nunit_amount = 5000\ninterval = "month"\n',
        '[[timeline]]\nat = 2025-01-02\nop = "create_customer"\ncustomer = "c"\n'
        f"count = {INCIDENTS}\n",
        '[[timeline]]\nat = 2025-01-03\nop = "subscribe"\nsubscription = "s"\ncustomer = "c"\n'
        'items = [{ price = "pro" }]\n',
    ]
    for number in range(1, INCIDENTS + 1):
        at = first + dt.timedelta(seconds=SPACING * number)
        lines.append(
            f'[[timeline]]\nat = {at:%Y-%m-%dT%H:%M:%SZ}\nop = "dispute"\ncustomer = "c_{number}"\n'
            'outcome = "lost"\nevidence = false\ncloses = 2025-03-01\n'
        )
    path = directory / "bench_alerts.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def rows() -> list[Row]:
    interval = int(os.environ.get("BENCH_ALERTS_INTERVAL", Settings().sync_interval_seconds))
    with tempfile.TemporaryDirectory() as temp:
        sim = simulate_scenario(load_scenario(_scenario(Path(temp))))
        sim_start = sim.now
        with start_slack_standin() as standin:
            wall_start = time.monotonic()
            with start_server(sim, speed=1.0) as server:
                settings = dataclasses.replace(
                    Settings(),
                    stripe_api_key=Secret(server.api_key),
                    stripe_api_base=server.url,
                    data_dir=Path(temp) / "data",
                    slack_webhook_url=Secret(standin.url),
                    sync_interval_seconds=interval,
                )
                service = Service(settings)
                runner = threading.Thread(target=service.run, daemon=True)
                runner.start()
                expected = time.monotonic() + INCIDENTS * SPACING + interval + 120
                while time.monotonic() < expected and not _all_arrived(sim, sim_start, standin):
                    time.sleep(1)
                service.stop()
                runner.join(60)
            due = _due_times(sim, sim_start, wall_start)
            arrivals = _arrivals(standin, due)
    latencies = sorted(arrivals[d] - due[d] for d in arrivals)
    missing = len(due) - len(latencies)
    if not latencies:
        return [Row("alerts: event → Slack", "no message", f"{len(due)} disputes, none arrived")]
    return [
        Row(
            f"alerts: event → Slack, interval {interval} s",
            f"p50 {statistics.median(latencies):.0f} s / max {latencies[-1]:.0f} s",
            f"{len(latencies)} new disputes {SPACING} s apart"
            + (f", {missing} never arrived" if missing else "")
            + f"; target ≤ interval + 30 s = {interval + 30} s",
        )
    ]


def _due_times(sim: Simulation, sim_start: int, wall_start: float) -> dict[str, float]:
    """Each live dispute's id → the monotonic time its `created` came due (speed 1)."""
    return {
        dispute_id: wall_start + (dispute["created"] - sim_start)
        for dispute_id, dispute in list(sim.disputes.items())
        if dispute["created"] > sim_start
    }


def _all_arrived(sim: Simulation, sim_start: int, standin: SlackStandin) -> bool:
    try:
        due = _due_times(sim, sim_start, 0.0)
    except RuntimeError:  # the live clock added a dispute while we read
        return False
    return len(due) == INCIDENTS and len(_arrivals(standin, due)) == INCIDENTS


def _arrivals(standin: SlackStandin, due: dict[str, float]) -> dict[str, float]:
    """Each dispute's id → when the first message naming it arrived (monotonic)."""
    found: dict[str, float] = {}
    for request in standin.requests:
        if request.method != "POST" or request.status != 200:
            continue
        for key in due:
            if key not in found and key in request.body:
                found[key] = request.at
    return found

"""`paylens demo`: a live local Stripe, the sync service and the dashboard, stopped together.

Steps: simulate the sandbox business up to this very moment and serve it on a free loopback port
with a live clock (the simulated business keeps running, `DEMO_SPEED` times faster than real
time, so new signups, charges, failures and events keep arriving); run the sync service against
it, a cycle every `DEMO_INTERVAL_SECONDS` (on the sandbox's clock, which it sends as Stripe sends
its own, in every answer's `Date`); start the dashboard once the first snapshot is published
and print its URL once it answers there (a port another process holds is refused at the start);
on Ctrl-C or SIGTERM stop the service, the dashboard's process group and the
sandbox, leaving no process behind.

The account has steady checkout traffic and, `DEMO_SPIKE_AFTER` into the demo, a decline spike
at Visa cards issued in the US (`demo_incidents`), so a newcomer sees the payment alert fire,
name its cause and resolve. Without `SLACK_WEBHOOK_URL` the messages go to a local stand-in
for Slack, which the Alerts page shows; with it, to that channel.

Integration health (issue 20) scores the demo 5/8 from the start (`prepare_integration`): the
sandbox serves the portal and tax setup of the `demo` preset, the business retries its failed
renewals, the first cycle delivers Slack's test message through the alert outbox (so the
monitoring signal sees a delivery that went through), and the demo declares the two signals
the API cannot show. Webhooks (unpinned endpoints), tax (no automatic tax) and test → live
(a test-mode key) stay short, each with its reason.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from alerts.slack import render_test
from alerts.store import enqueue, ensure_schema
from app import dashboard_process
from app.alerting import silence_store
from app.errors import CommandError
from app.scheduler import Service, run_to_exit
from app.service import InstanceLock, utc_now
from app.settings import Secret, Settings
from sandbox.api.server import start_server
from sandbox.sim import simulate
from sandbox.sim.incidents import Incident
from sandbox.slack_standin import start_slack_standin
from sync import RunResult, current_snapshot

log = logging.getLogger("paylens.demo")
EXAMPLE_FX_RATES = Path(__file__).resolve().parent.parent / "docs" / "examples" / "fx_rates.csv"
DEMO_SPEED = 60.0  # simulated seconds per wall second: a simulated hour every minute
DEMO_INTERVAL_SECONDS = 30
DEMO_SYNC_RATE = 100.0  # the local sandbox has no rate limit; Stripe's live limit is 100/s
DEMO_CHECKOUTS_PER_HOUR = 120  # simulated: two a second of wall time
DEMO_SPIKE_AFTER = timedelta(minutes=4)  # of wall time after the start
DEMO_SPIKE_FOR = timedelta(seconds=90)  # of wall time: an hour and a half of the account's
DECLARED_BY = "paylens demo"  # who the demo's declarations say made them
TEST_MESSAGE_KEY = "demo:test-message"  # its outbox key: queued once a demo


def run(settings: Settings, *, seed: int, preset: str) -> int:
    dashboard_process.check_binding(settings)
    dashboard_process.check_port_free(settings)
    # the writer lock before anything is cleared: a second demo must not wipe the first's files
    lock = InstanceLock(demo_data_dir(settings))
    lock.acquire()
    try:
        return _run(settings, seed=seed, preset=preset, lock=lock)
    finally:
        lock.release()  # a no-op once the service has released it


def _run(settings: Settings, *, seed: int, preset: str, lock: InstanceLock) -> int:
    started = utc_now()
    log.info("simulating the %r sandbox business (seed %d) up to now", preset, seed)
    incidents = demo_incidents(int(started.timestamp()))
    sim = simulate(seed, started.date(), preset, now=int(started.timestamp()), incidents=incidents)
    _clear(demo_data_dir(settings), keep=lock.path)  # each demo starts afresh
    server = start_server(sim, speed=DEMO_SPEED)
    standin = start_slack_standin() if settings.slack_webhook_url is None else None
    try:
        demo_settings = dataclasses.replace(
            settings,
            data_dir=demo_data_dir(settings),
            stripe_api_key=Secret(server.api_key),
            stripe_api_base=server.url,
            sync_interval_seconds=DEMO_INTERVAL_SECONDS,
            sync_rate=DEMO_SYNC_RATE,
            dashboard_url=settings.dashboard_url or dashboard_process.url(settings),
        )
        if standin is not None:
            demo_settings = dataclasses.replace(
                demo_settings,
                slack_webhook_url=Secret(standin.url),
                slack_standin_url=standin.base_url,
            )
        _provide_example_rates(demo_settings)
        log.info("sandbox serving at %s, its clock running %gx", server.url, DEMO_SPEED)
        service = Service(demo_settings, account_speed=DEMO_SPEED, lock=lock)
        prepare_integration(service, started)
        threading.Thread(
            target=_start_dashboard_after_first_cycle,
            args=(service, started + DEMO_SPIKE_AFTER, standin is not None),
            daemon=True,
            name="demo-dashboard",
        ).start()
        return run_to_exit(service)
    finally:
        server.shutdown()
        if standin is not None:
            standin.shutdown()


def demo_incidents(now: int) -> list[Incident]:
    """What the demo account goes through: steady checkout traffic (the demo business alone
    makes under one card payment an hour, too few for a payment alert to judge), and a decline
    spike at one brand and country a few minutes of wall time after the start."""
    hour = 3_600
    wave = Incident("checkout_wave", now - 2 * hour, now + 14 * 24 * hour, rate=0.02,
                    per_hour=DEMO_CHECKOUTS_PER_HOUR)  # fmt: skip
    start = now + int(DEMO_SPIKE_AFTER.total_seconds() * DEMO_SPEED)
    spike = Incident(
        "decline_spike",
        start,
        start + int(DEMO_SPIKE_FOR.total_seconds() * DEMO_SPEED),
        rate=1.0,
        brand="visa",
        country="US",
        code="do_not_honor",
    )
    return [wave, spike]


def prepare_integration(service: Service, started: datetime) -> None:
    """What the demo's integration health shows beyond the sandbox's setup: the declarations
    (`declare_demo_answers`) and Slack's test message, sent in the first cycle before the
    alert job judges the rules: the first snapshot already holds a delivery, and the
    `integration_health` rule never sees the demo below 5 for want of one."""
    declare_demo_answers(service.settings, started)
    message = SlackTestMessage(service.settings.dashboard_url, service.alerts.deliver)
    service.after_sync.insert(0, message)


def declare_demo_answers(settings: Settings, started: datetime) -> None:
    """Idempotency keys and the PCI SAQ-A, declared done on the demo's first day by "paylens
    demo": the API cannot show them, and the page shows what a declaration looks like (record
    another answer there to see the score move)."""
    store = silence_store(settings)
    for signal, note in (
        ("idempotency", "the sandbox business sends an Idempotency-Key with every POST"),
        ("pci", "a demo account: no questionnaire was filled in"),
    ):
        store.declare(
            signal, answer=True, on=started.date(), by=DECLARED_BY, recorded=started, note=note
        )


class SlackTestMessage:
    """A `Service.after_sync` hook: queue `paylens alerts test`'s message once in the alert
    outbox (dated by the account's clock) and send what is due with `deliver` (the alert
    job's). `paylens alerts test` posts straight to Slack (it cannot write the master the
    service holds), so the monitoring signal, which reads the outbox, would not see it."""

    def __init__(
        self,
        dashboard_url: str | None,
        deliver: Callable[[duckdb.DuckDBPyConnection], object],
    ) -> None:
        self.dashboard_url = dashboard_url
        self.deliver = deliver

    def __call__(self, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
        machine_now = utc_now()
        ensure_schema(con)
        queued = enqueue(
            con,
            key=TEST_MESSAGE_KEY,
            created=result.account_time or machine_now,
            recorded=machine_now,
            payload=render_test(machine_now, dashboard_url=self.dashboard_url),
            summary="paylens test message",
        )
        if queued:
            self.deliver(con)


def demo_data_dir(settings: Settings) -> Path:
    """The demo's own directory: a demo never touches the warehouse of a real account."""
    return settings.data_dir / "demo"


def _clear(directory: Path, keep: Path) -> None:
    """Delete everything in `directory` but `keep` (the lock file, held: deleting it would let
    another demo lock a new file of the same name)."""
    for entry in directory.iterdir() if directory.is_dir() else ():
        if entry == keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _start_dashboard_after_first_cycle(service: Service, spike_at: datetime, local: bool) -> None:
    """Wait for the first snapshot, then start the dashboard and, once it answers, print its
    URL; the service stops it on exit. A dashboard that cannot serve stops the demo."""
    snapshots = service.settings.snapshot_dir
    while current_snapshot(snapshots) is None and not service.stopping.is_set():
        service.stopping.wait(0.2)
    if service.stopping.is_set():
        return
    try:
        dashboard_process.check_port_free(service.settings)  # taken since the demo started?
        process = dashboard_process.start(service.settings)
        service.on_stop.append(lambda: dashboard_process.stop(process))
        dashboard_process.wait_until_served(process, service.settings)
    except CommandError as exc:
        log.error("%s; stopping the demo", exc)
        service.stop()
        return
    print(
        f"\npaylens demo: open {dashboard_process.url(service.settings)}  (Ctrl-C stops it all)\n"
        f"the same numbers on the command line: PAYLENS_DATA_DIR={service.settings.data_dir} "
        ".venv/bin/paylens report --json\n"
        f"at {spike_at.astimezone():%H:%M:%S} Visa cards from the US start declining "
        f"(do_not_honor) for {DEMO_SPIKE_FOR.total_seconds():.0f} s of wall time: the payment "
        "alert fires and resolves on the Alerts page"
        + (" and in the local Slack stand-in" if local else " and in your Slack channel")
        + "\n",
        flush=True,
    )


def _provide_example_rates(settings: Settings) -> None:
    """The sandbox bills in several currencies; without rates the dashboard could not total them."""
    if settings.fx_rates_path is None:
        target = settings.data_dir / "fx_rates.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLE_FX_RATES, target)
        log.info("no FX rates configured: using the example rates, copied to %s", target)

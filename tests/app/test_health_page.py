"""The Webhooks & sync page, run headless with Streamlit's AppTest on published snapshots of the
`small` preset: as the shared fixture syncs it, and with a two-day outage of the first webhook
endpoint, a charge the sync must quarantine and a first sync whose key may not read refunds.
Expected figures come from the simulation's own objects and the sync's own results."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import ui
from app.report import build_report
from app.service import sync_and_publish
from app.settings import load_settings
from sandbox.api.server import start_server
from sandbox.objects.clock import day_end, day_start
from sandbox.sim import Simulation, simulate
from sandbox.sim.incidents import Incident
from sync.engine import RunResult
from sync.snapshots import SnapshotReader
from sync.status import MONTHLY_READ_FLOOR
from tests.conftest import PRESET, SEED, UNTIL, settings_for

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app" / "views" / "health.py")
END = day_end(UNTIL)  # the sandbox's clock, and so the last sync's answer
RESTRICTED = "rk_test_no_refunds"
HOUR = 3_600


@dataclasses.dataclass
class Account:
    data_dir: Path
    sim: Simulation
    runs: list[RunResult]


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Account:
    """The outage runs from 50 hours before the sync to a day after it: events of the last two
    days wait for endpoint 1, of every age band below three days."""
    outage = Incident("webhook_outage", END - 50 * HOUR, END + 24 * HOUR, endpoint=1)
    sim = simulate(SEED, UNTIL, PRESET, incidents=[outage])
    broken = dict(next(iter(sim.charges.values())), id="ch_broken", currency="zzz")
    sim.charges["ch_broken"] = broken
    data_dir = tmp_path_factory.mktemp("health")
    with start_server(sim, restricted_keys={RESTRICTED: {"refunds"}}) as server:
        full_key = server.api_key
        server.api_key = RESTRICTED
        first = sync_and_publish(settings_for(server, data_dir))
        server.api_key = full_key
        second = sync_and_publish(settings_for(server, data_dir))
    # refunds stay unavailable until the daily retry: both runs are degraded (metrics.degraded)
    assert (first.status, second.status) == ("degraded", "degraded")
    return Account(data_dir, sim, [first, second])


def _run(monkeypatch: pytest.MonkeyPatch, data_dir: Path, **params: str) -> AppTest:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(data_dir))
    at = AppTest.from_file(PAGE, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _table(at: AppTest, first_column: str) -> list[dict[str, object]]:
    [frame] = [df.value for df in at.dataframe if df.value.columns[0] == first_column]
    return frame.to_dict("records")


def _delivery(sim: Simulation, since: date, as_of: date) -> tuple[int, int]:
    """(judged, delivered) as metrics.webhooks defines them, from the simulation's events."""
    start, end = day_start(since + timedelta(days=1)), day_start(as_of + timedelta(days=1))
    judged = [e for e in sim.events.values() if start <= e["created"] < end - HOUR]
    return len(judged), sum(e["pending_webhooks"] == 0 for e in judged)


def _pending(sim: Simulation, before: int) -> list[dict[str, object]]:
    return [e for e in sim.events.values() if e["created"] < before and e["pending_webhooks"]]


def _band(age: int) -> str:
    for limit, label in ((HOUR, "under 1 h"), (6 * HOUR, "1–6 h"), (24 * HOUR, "6–24 h")):
        if age < limit:
            return label
    return "1–3 days" if age < 72 * HOUR else "over 3 days"


@pytest.mark.parametrize(("range_", "days"), [("7d", 7), ("30d", 30)])
def test_delivery_and_pending_events_are_the_simulations(
    monkeypatch: pytest.MonkeyPatch, account: Account, range_: str, days: int
) -> None:
    at = _run(monkeypatch, account.data_dir, range=range_)

    judged, delivered = _delivery(account.sim, UNTIL - timedelta(days=days), UNTIL)
    pending = _pending(account.sim, END + 1)
    shown = _metrics(at)
    assert delivered < judged
    assert shown["Webhook delivery"] == f"{delivered / judged:.2%}"
    assert shown["Events pending"] == f"{len(pending):,}"
    assert shown["Endpoints disabled"] == "1"
    assert "below 99%" in at.error[0].value  # critical


def test_the_headline_figures_are_the_reports(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    at = _run(monkeypatch, account.data_dir)
    reader = SnapshotReader(account.data_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    report = build_report(con, load_settings(), UNTIL, UNTIL - timedelta(days=30))
    reader.close()

    shown = _metrics(at)
    assert shown["Webhook delivery"] == f"{report['webhook_delivery_rate']:.2%}"
    assert shown["Events pending"] == f"{report['pending_events']:,}"


def test_pending_events_are_counted_by_type_and_age_at_the_last_sync(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    at = _run(monkeypatch, account.data_dir)

    expected = Counter(
        (str(e["type"]), _band(END - int(str(e["created"]))))
        for e in _pending(account.sim, END + 1)
    )
    shown = {(row["Type"], row["Age"]): row["Events"] for row in _table(at, "Type")}
    assert shown == dict(expected)
    assert {band for _, band in expected} >= {"1–6 h", "6–24 h", "1–3 days"}


def test_a_past_day_counts_the_events_pending_by_its_end(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    day = UNTIL - timedelta(days=1)
    at = _run(monkeypatch, account.data_dir, to=day.isoformat())

    before = day_start(UNTIL)
    expected = Counter(
        (str(e["type"]), _band(before - int(str(e["created"]))))
        for e in _pending(account.sim, before)
    )
    assert {(row["Type"], row["Age"]): row["Events"] for row in _table(at, "Type")} == dict(
        expected
    )
    # a from/to pair is a custom range by itself (app/filters.py)
    assert dict(at.query_params) == {"from": "2026-10-21", "to": day.isoformat()}


def test_endpoints_show_status_and_enabled_events_and_the_disabled_one_is_named(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    at = _run(monkeypatch, account.data_dir)

    rows = _table(at, "Endpoint")
    expected = {e["id"]: (e["url"], e["status"]) for e in account.sim.webhook_endpoints.values()}
    assert {row["Endpoint"]: (row["URL"], row["Status"]) for row in rows} == expected
    assert rows[0]["Status"] == "disabled"
    assert rows[0]["Enabled events"] == ", ".join(
        account.sim.webhook_endpoints[str(rows[0]["Endpoint"])]["enabled_events"]
    )
    [warning] = [w.value for w in at.warning if "disabled" in w.value]
    assert "legacy\\-disputes" in warning

    disabled = str(rows[0]["Endpoint"])  # the endpoint alert links ?endpoint=<id>
    linked = _run(monkeypatch, account.data_dir, endpoint=disabled)
    [line] = [box.value for box in linked.info if box.value.startswith("From the link")]
    url = account.sim.webhook_endpoints[disabled]["url"]
    shown = line.replace("\\", "").replace(ui.WORD_JOINER, "")  # as it reads (`ui.plain`)
    assert shown.startswith(f"From the link: {disabled} · {url} · disabled · ")
    missing = _run(monkeypatch, account.data_dir, endpoint="we_nope")
    assert any("we\\_nope is not among" in w.value for w in missing.warning)


def test_sync_runs_show_reads_objects_and_the_resource_a_key_could_not_read(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    at = _run(monkeypatch, account.data_dir)

    first, second = account.runs
    # both runs start within the sandbox's last second: their order is not the test's business
    rows = {row["Kind"]: row for row in _table(at, "Started (UTC)")}
    assert sorted(rows) == ["backfill", "incremental"]
    assert (rows["backfill"]["Status"], rows["backfill"]["Reads"]) == (first.status, first.reads)
    assert (rows["incremental"]["Status"], rows["incremental"]["Reads"]) == (
        second.status,
        second.reads,
    )
    assert rows["backfill"]["Objects written"] == sum(first.objects.values())
    assert rows["backfill"]["Errors"] == f"refunds: {first.errors['refunds']}"
    assert rows["incremental"]["Errors"] == ""
    shown = _metrics(at)
    assert shown["API reads this month"] == (
        f"{first.reads + second.reads:,} of {MONTHLY_READ_FLOOR:,}"
    )
    assert shown["Failed syncs since"] == "0"  # a degraded run is not a failed one


def test_the_quarantined_charge_is_listed_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    at = _run(monkeypatch, account.data_dir)

    rows = _table(at, "Table")
    assert [(row["Table"], row["Object"], row["Reason"]) for row in rows] == [
        ("charges", "ch_broken", "unknown currency zzz")
    ]
    assert _metrics(at)["Quarantined objects"] == "1"


def test_the_snapshot_in_use_is_named_and_every_table_has_a_csv(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    at = _run(monkeypatch, account.data_dir)

    name = (account.data_dir / "snapshots" / "CURRENT").read_text().strip()
    [text] = [element.value for element in at.text]
    assert text.startswith(f"Snapshot: {name}\nData as of: {UNTIL} 23:59 UTC")
    assert "Backfill: done" in text
    assert [button.key for button in at.get("download_button")] == [
        f"csv-{name}"
        for name in ("webhook_delivery_daily", "pending_by_type_and_age", "pending_events",
                     "webhook_endpoints", "sync_runs", "reads_by_month", "quarantine")
    ]  # fmt: skip


def test_a_healthy_account_says_nothing_is_pending_or_quarantined(
    monkeypatch: pytest.MonkeyPatch, synced_dir: Path
) -> None:
    at = _run(monkeypatch, synced_dir)

    shown = _metrics(at)
    assert (shown["Events pending"], shown["Quarantined objects"]) == ("0", "0")
    assert shown["Endpoints disabled"] == "1"  # the small preset's legacy-disputes
    successes = [element.value for element in at.success]
    assert "No event is waiting for an endpoint." in successes
    assert "Nothing is quarantined: every object the sync read was stored." in successes

"""The Webhooks & sync page's figures on hand-built warehouse rows: delivery per day (adding up
to `webhook_summary`), pending events by age band and type, endpoints, sync runs, reads per
month and the quarantine."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from metrics.health_views import (
    age_reference,
    delivery_daily,
    pending_by_type_and_age,
    pending_event_rows,
    quarantine_rows,
    reads_by_month,
    sync_run_rows,
    webhook_endpoint_rows,
)
from metrics.webhooks import webhook_summary
from tests.metrics.warehouse import API_VERSION, SYNCED_AT, Warehouse

AS_OF = date(2026, 3, 10)
LAST_HEARD = datetime(2026, 3, 10, 22, 0)  # the last sync's answer: ages are measured from it


def _events(wh: Warehouse, *rows: tuple[str, str, str, int]) -> None:
    wh.con.executemany(
        "INSERT INTO events (id, created, type, pending_webhooks, raw, api_version, synced_at) "
        "VALUES (?, ?, ?, ?, '{}', ?, ?)",
        [
            (id_, datetime.fromisoformat(at), kind, pending, API_VERSION, SYNCED_AT)
            for id_, at, kind, pending in rows
        ],
    )


def _run(
    wh: Warehouse, run_id: str, start: str, end: str | None, status: str, **more: object
) -> None:
    wh.con.execute(
        "INSERT INTO sync_runs (run_id, kind, started_at, finished_at, status, reads, objects, "
        "errors, error, account_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            more.get("kind", "incremental"),
            datetime.fromisoformat(start),
            None if end is None else datetime.fromisoformat(end),
            status,
            more.get("reads", 0),
            more.get("objects"),
            more.get("errors"),
            more.get("error"),
            None if end is None else datetime.fromisoformat(end),
        ],
    )


@pytest.fixture
def health(wh: Warehouse) -> Warehouse:
    _events(
        wh,
        ("evt_old", "2026-03-06 12:00", "invoice.paid", 1),  # 4 d 10 h: over 3 days
        ("evt_ok_1", "2026-03-08 08:00", "invoice.paid", 0),
        ("evt_day", "2026-03-09 09:00", "charge.succeeded", 2),  # 37 h: 1–3 days
        ("evt_ok_2", "2026-03-10 10:00", "invoice.paid", 0),
        ("evt_hours", "2026-03-10 19:30", "invoice.paid", 1),  # 2 h 30 min: 1–6 h
        ("evt_young", "2026-03-10 21:30", "invoice.paid", 1),  # 30 min: under 1 h
    )
    wh.con.executemany(
        "INSERT INTO webhook_endpoints (id, created, url, status, enabled_events, deleted, raw, "
        "api_version, synced_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        [
            (id_, datetime.fromisoformat(at), f"https://hooks.test/{id_}", status, events,
             deleted, API_VERSION, SYNCED_AT)
            for id_, at, status, events, deleted in [
                ("we_on", "2026-01-01", "enabled", '["*"]', False),
                ("we_off", "2026-01-02", "disabled",
                 '["charge.dispute.created","charge.dispute.closed"]', False),
                ("we_gone", "2026-01-03", "enabled", "[]", True),  # no longer listed
                ("we_later", "2026-03-11", "enabled", "[]", False),  # created after as_of
            ]
        ],
    )  # fmt: skip
    _run(wh, "run_feb", "2026-02-27 10:00", "2026-02-27 10:05", "ok", kind="backfill",
         reads=120, objects='{"customers": 10, "charges": 30}')  # fmt: skip
    _run(wh, "run_partial", "2026-03-09 12:00", "2026-03-09 12:00:02.5", "partial", reads=7,
         objects='{"charges": 2}', errors='{"refunds": "403: needs rak_refund_read"}')  # fmt: skip
    _run(wh, "run_ok", "2026-03-10 21:59:58", "2026-03-10 22:00", "ok", reads=3, objects="{}")
    wh.con.execute(
        "INSERT INTO quarantine VALUES ('charges', 'ch_bad', 'unknown currency zzz', '{}', "
        "'2026-03-09 12:00', '2026-03-10 22:00')"
    )
    return wh


def test_ages_are_measured_from_the_last_sync_or_the_end_of_a_past_day(health: Warehouse) -> None:
    assert age_reference(health.con, AS_OF) == LAST_HEARD
    assert age_reference(health.con, date(2026, 3, 8)) == datetime(2026, 3, 9)


def test_pending_events_are_banded_by_their_age_at_the_last_sync(health: Warehouse) -> None:
    rows = pending_event_rows(health.con, AS_OF)

    assert rows[["event", "age_seconds", "age", "pending_webhooks"]].values.tolist() == [
        ["evt_old", (4 * 24 + 10) * 3_600, "over 3 days", 1],
        ["evt_day", 37 * 3_600, "1–3 days", 2],
        ["evt_hours", 150 * 60, "1–6 h", 1],
        ["evt_young", 30 * 60, "under 1 h", 1],
    ]


def test_pending_events_are_grouped_by_type_and_band_oldest_band_first(health: Warehouse) -> None:
    groups = pending_by_type_and_age(health.con, AS_OF)

    assert groups[["type", "age", "events", "deliveries_awaited"]].values.tolist() == [
        ["invoice.paid", "over 3 days", 1, 1],
        ["charge.succeeded", "1–3 days", 1, 2],
        ["invoice.paid", "1–6 h", 1, 1],
        ["invoice.paid", "under 1 h", 1, 1],
    ]


def test_delivery_per_day_lists_every_day_and_adds_up_to_the_summary(health: Warehouse) -> None:
    since = date(2026, 3, 6)
    daily = delivery_daily(health.con, since, AS_OF)
    summary = webhook_summary(health.con, since, AS_OF)

    assert daily["day"].tolist() == [date(2026, 3, d) for d in (7, 8, 9, 10)]
    assert daily[["events", "judged", "delivered", "pending"]].values.tolist() == [
        [0, 0, 0, 0], [1, 1, 1, 0], [1, 1, 0, 1], [3, 3, 1, 2]
    ]  # fmt: skip
    # 03-10's events are all judged: more than the hour of grace before the end of the day
    assert daily["delivery_rate"].tolist()[1:] == [1.0, 0.0, 1 / 3]
    assert daily["delivery_rate"].isna().tolist()[0]
    assert (int(daily["judged"].sum()), int(daily["delivered"].sum())) == (
        summary.judged,
        summary.delivered,
    )


def test_endpoints_listed_are_those_that_existed_disabled_first(health: Warehouse) -> None:
    rows = webhook_endpoint_rows(health.con, AS_OF)

    assert rows[["endpoint", "status", "enabled_events"]].values.tolist() == [
        ["we_off", "disabled", "charge.dispute.created, charge.dispute.closed"],
        ["we_on", "enabled", "*"],
    ]


def test_sync_runs_of_the_range_have_duration_reads_objects_and_errors(health: Warehouse) -> None:
    rows = sync_run_rows(health.con, date(2026, 3, 1), AS_OF)

    assert rows[["run_id", "status", "reads", "objects_total", "errors"]].values.tolist() == [
        ["run_ok", "ok", 3, 0, "{}"],
        ["run_partial", "partial", 7, 2, '{"refunds": "403: needs rak_refund_read"}'],
    ]
    assert rows["duration_seconds"].tolist() == [2.0, 2.5]
    assert sync_run_rows(health.con, date(2026, 2, 1), AS_OF, limit=1)["run_id"].tolist() == [
        "run_ok"
    ]


def test_reads_are_summed_per_month_up_to_the_month_of_as_of(health: Warehouse) -> None:
    frame = reads_by_month(health.con, AS_OF)

    assert frame.values.tolist() == [[date(2026, 2, 1), 120], [date(2026, 3, 1), 10]]
    assert reads_by_month(health.con, date(2026, 2, 28))["reads"].tolist() == [120]


def test_the_quarantine_lists_each_object_with_its_reason(health: Warehouse) -> None:
    rows = quarantine_rows(health.con)

    assert rows[["table_name", "object_key", "reason"]].values.tolist() == [
        ["charges", "ch_bad", "unknown currency zzz"]
    ]


def test_a_window_that_ends_before_it_starts_is_refused(health: Warehouse) -> None:
    with pytest.raises(ValueError, match="must be before"):
        delivery_daily(health.con, AS_OF, AS_OF)

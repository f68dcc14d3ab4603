"""The stored MRR tables (`metrics.refresh`): built once, read by every MRR query under any
settings, on hand-built history; the stored labelled changes and paid spells against the
per-query definition they replaced (`REFERENCE_CHANGES`, `REFERENCE_SPELLS`: running sums and
merged runs over the segment layers on every read), on the scenario files, under every
combination of the settings."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from metrics._sql import HISTORY, MissingSegmentsError, compose, load_sql
from metrics.churn import churn_monthly, customer_spells
from metrics.movements import customer_changes, mrr_movements
from metrics.mrr import SEGMENTS, MrrSettings, mrr_currency_daily, mrr_item_daily
from metrics.refresh import COMBINATIONS, DEPENDS, VARIANTS
from tests.metrics.scenarios import simulate_named, synced_snapshot
from tests.metrics.warehouse import Price, Sub, Warehouse

STRIPE = MrrSettings()
PERIOD_END = MrrSettings(churn_at_period_end=True)
# coupons of every duration, cancellations at the request and at period end, upgrades, several
# currencies, returns (a customer's later spells), dunning
SCENARIOS = ["coupons", "cancellations", "plan_changes", "currencies", "dunning"]
SCENARIOS += ["profitwell_reactivations", "back_within_month", "same_month_moves"]

# The labelled changes in [$start, $as_of] as `sql/mrr_customer_changes.sql` computed them on
# every read before they were stored: running sums over every segment up to $as_of.
REFERENCE_CHANGES = """
WITH
steps AS (
    SELECT customer, currency, from_day AS day,
        CAST(net_mrr_minor AS DECIMAL(38, 14)) AS delta, 1 AS paying
    FROM mrr_subscription_segments
    WHERE net_mrr_minor > 0
    UNION ALL
    SELECT customer, currency, to_day, -CAST(net_mrr_minor AS DECIMAL(38, 14)), -1
    FROM mrr_subscription_segments
    WHERE net_mrr_minor > 0 AND to_day <= CAST($as_of AS DATE)
),
per_day AS (
    SELECT customer, currency, day, SUM(delta) AS delta, SUM(paying) AS paying
    FROM steps
    GROUP BY ALL
),
levels AS (
    SELECT customer, currency, day, delta,
        SUM(delta) OVER (PARTITION BY customer, currency ORDER BY day) AS after_mrr,
        SUM(paying) OVER (PARTITION BY customer, currency ORDER BY day) - paying AS own_before,
        SUM(paying) OVER (PARTITION BY customer, currency ORDER BY day) AS own_after,
        SUM(paying) OVER (PARTITION BY customer ORDER BY day) AS customer_after,
        SUM(paying) OVER (PARTITION BY customer, day) AS customer_day,
        MIN(day) OVER (PARTITION BY customer) AS first_day
    FROM per_day
),
placed AS (
    SELECT customer, currency, day, delta, after_mrr, after_mrr - delta AS before_mrr,
        customer_after - customer_day > 0 AS customer_paying_before,
        customer_after - customer_day - own_before > 0 AS others_before,
        customer_after - own_after > 0 AS others_after,
        first_day
    FROM levels
    WHERE delta <> 0 AND day >= CAST($start AS DATE) AND day <= CAST($as_of AS DATE)
)
SELECT customer, currency, day, before_mrr AS before_mrr_minor, after_mrr AS after_mrr_minor,
    delta AS change_minor, abs(delta) AS amount_minor,
    CASE WHEN before_mrr = 0 THEN (CASE WHEN others_before THEN 'expansion'
                                        WHEN day > first_day THEN 'reactivation'
                                        ELSE 'new' END)
         WHEN after_mrr = 0 THEN (CASE WHEN others_after THEN 'contraction' ELSE 'churn' END)
         WHEN delta > 0 THEN 'expansion'
         ELSE 'contraction' END AS kind,
    customer_paying_before
FROM placed
"""

# The paid spells in [$start, $as_of] as `sql/customer_spells.sql` merged them on every read.
REFERENCE_SPELLS = """
WITH
paid AS (
    SELECT customer, GREATEST(from_day, CAST($start AS DATE)) AS from_day,
        LEAST(to_day, CAST(CAST($as_of AS DATE) + INTERVAL 1 DAY AS DATE)) AS to_day
    FROM mrr_subscription_segments
    WHERE net_mrr_minor > 0
      AND from_day <= CAST($as_of AS DATE) AND to_day > CAST($start AS DATE)
),
opened AS (
    SELECT customer, from_day, to_day,
        CASE WHEN from_day <= MAX(to_day) OVER (
            PARTITION BY customer ORDER BY from_day, to_day
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS opens
    FROM paid
),
numbered AS (
    SELECT customer, from_day, to_day,
        CAST(SUM(opens) OVER (PARTITION BY customer ORDER BY from_day, to_day) AS BIGINT) AS island
    FROM opened
)
SELECT customer, MIN(from_day) AS first_day, CAST(MAX(to_day) - 1 AS DATE) AS last_day,
    island AS spell
FROM numbered
GROUP BY customer, island
"""


def _history(
    wh: Warehouse,
    items: list[tuple[str, int, str, str | None]],
    status: list[tuple[str, str, str | None]],
    sub: str = "sub_1",
) -> None:
    """Item rows (price, quantity, from, to) of `si_<sub>_0` and status rows (status, from, to)
    of `sub`."""
    wh.con.executemany(
        "INSERT INTO subscription_item_history (subscription, subscription_item, price, quantity, "
        f"valid_from, valid_to, source) VALUES ('{sub}', 'si_{sub}_0', ?, ?, ?, ?, 'test')",
        items,
    )
    wh.con.executemany(
        "INSERT INTO subscription_status_history (subscription, status, valid_from, valid_to, "
        f"source) VALUES ('{sub}', ?, ?, ?, 'test')",
        status,
    )


def _usd(con: duckdb.DuckDBPyConnection, day: date, settings: MrrSettings = STRIPE) -> float:
    daily = mrr_currency_daily(con, day, day, settings)
    return float(daily.loc[daily["currency"] == "usd", "net_mrr_minor"].sum())


@pytest.fixture
def upgraded(wh: Warehouse) -> Warehouse:
    """$100 × 2 a month from 2026-01-05, billed monthly (one history row per invoice), × 3 from
    2026-03-05; cancellation requested 2026-03-20, the subscription ends 2026-04-05."""
    wh.prices(Price("price_m", "usd", 10_000, "month"))
    wh.subscriptions(Sub("sub_1", "active", "2026-01-05", [("price_m", 2)]))
    _history(
        wh,
        [
            ("price_m", 2, "2026-01-05 10:00", "2026-02-05 10:00"),
            ("price_m", 2, "2026-02-05 10:00", "2026-03-05 10:00"),
            ("price_m", 3, "2026-03-05 10:00", "2026-04-05 10:00"),
            ("price_m", 3, "2026-04-05 10:00", None),
        ],
        [
            ("active", "2026-01-05 10:00", "2026-04-05 10:00"),
            ("canceled", "2026-04-05 10:00", None),
        ],
    )
    wh.con.execute("UPDATE subscriptions SET canceled_at = TIMESTAMP '2026-03-20 09:00'")
    return wh


def test_rows_split_per_invoice_are_stored_as_one_piece_per_price_and_quantity(
    upgraded: Warehouse,
) -> None:
    upgraded.refresh()
    pieces = upgraded.con.execute(
        "SELECT quantity, from_day, to_day, leaves_day FROM mrr_item_pieces ORDER BY from_day"
    ).fetchall()
    assert pieces == [
        (2, date(2026, 1, 5), date(2026, 3, 5), date(2026, 3, 20)),
        (3, date(2026, 3, 5), date(2026, 4, 5), date(2026, 3, 20)),
    ]


def test_one_stored_table_answers_both_cancellation_settings(upgraded: Warehouse) -> None:
    con = upgraded.read_only()
    try:
        assert _usd(con, date(2026, 2, 10)) == 20_000.0
        assert _usd(con, date(2026, 3, 5)) == 30_000.0
        assert _usd(con, date(2026, 3, 19)) == 30_000.0
        assert _usd(con, date(2026, 3, 20)) == 0.0  # left at the request (Stripe)
        assert _usd(con, date(2026, 3, 20), PERIOD_END) == 30_000.0
        assert _usd(con, date(2026, 4, 4), PERIOD_END) == 30_000.0
        assert _usd(con, date(2026, 4, 5), PERIOD_END) == 0.0
        items = mrr_item_daily(con, date(2026, 3, 18), date(2026, 3, 21))
        assert sorted(items["day"]) == [date(2026, 3, 18), date(2026, 3, 19)]
    finally:
        con.close()


def test_a_second_refresh_replaces_the_stored_segments(upgraded: Warehouse) -> None:
    upgraded.refresh()
    upgraded.con.execute("UPDATE subscriptions SET canceled_at = NULL")
    upgraded.con.execute(
        "UPDATE subscription_status_history SET valid_to = NULL WHERE status = 'active'"
    )
    upgraded.con.execute("DELETE FROM subscription_status_history WHERE status = 'canceled'")
    con = upgraded.read_only()
    try:
        assert _usd(con, date(2026, 6, 1)) == 30_000.0
    finally:
        con.close()


def test_a_warehouse_never_refreshed_gets_a_clear_error(upgraded: Warehouse) -> None:
    upgraded.con.close()
    con = duckdb.connect(str(upgraded.path), read_only=True)
    try:
        with pytest.raises(MissingSegmentsError, match=r"metrics\.refresh"):
            mrr_currency_daily(con, date(2026, 2, 1), date(2026, 2, 1))
    finally:
        con.close()


@pytest.fixture
def with_a_second_customer(upgraded: Warehouse) -> Warehouse:
    """`upgraded`, and `cus_sub_2`: $100 a month from 2026-02-10, never cancelled, no coupon."""
    upgraded.subscriptions(Sub("sub_2", "active", "2026-02-10", [("price_m", 1)]))
    _history(
        upgraded,
        [("price_m", 1, "2026-02-10 08:00", None)],
        [("active", "2026-02-10 08:00", None)],
        sub="sub_2",
    )
    return upgraded


def _changes(con: duckdb.DuckDBPyConnection, settings: MrrSettings) -> list[tuple[object, ...]]:
    frame = customer_changes(con, date(2026, 1, 1), date(2026, 6, 30), settings)
    columns = ["customer", "day", "kind", "change_minor"]
    return [tuple(row) for row in frame[columns].itertuples(index=False)]


def test_one_stored_change_table_answers_both_cancellation_settings(
    with_a_second_customer: Warehouse,
) -> None:
    con = with_a_second_customer.read_only()
    try:
        assert _changes(con, STRIPE) == [
            ("cus_sub_1", date(2026, 1, 5), "new", 20_000.0),
            ("cus_sub_2", date(2026, 2, 10), "new", 10_000.0),
            ("cus_sub_1", date(2026, 3, 5), "expansion", 10_000.0),
            ("cus_sub_1", date(2026, 3, 20), "churn", -30_000.0),  # at the request
        ]
        assert _changes(con, PERIOD_END) == [
            ("cus_sub_1", date(2026, 1, 5), "new", 20_000.0),
            ("cus_sub_2", date(2026, 2, 10), "new", 10_000.0),
            ("cus_sub_1", date(2026, 3, 5), "expansion", 10_000.0),
            ("cus_sub_1", date(2026, 4, 5), "churn", -30_000.0),  # at the period end
        ]
        march = mrr_movements(con, date(2026, 3, 1), date(2026, 3, 31), STRIPE)
        assert march[["kind", "amount_minor"]].values.tolist() == [
            ["expansion", 10_000.0],
            ["churn", 30_000.0],
        ]
    finally:
        con.close()


def test_a_customer_is_stored_once_unless_its_mrr_depends_on_a_setting(
    with_a_second_customer: Warehouse,
) -> None:
    with_a_second_customer.refresh()
    stored = with_a_second_customer.con.execute(
        "SELECT customer, subtract_repeating, subtract_once, churn_at_period_end, COUNT(*) "
        "FROM mrr_labelled_changes GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    # cus_sub_1's cancellation makes its changes depend on the cancellation rule; neither
    # customer has a coupon, so the coupon settings are NULL ("either value")
    assert stored == [
        ("cus_sub_1", None, None, False, 3),
        ("cus_sub_1", None, None, True, 3),
        ("cus_sub_2", None, None, None, 1),  # its open end (9999-12-31) is not stored
    ]
    spells = with_a_second_customer.con.execute(
        "SELECT customer, churn_at_period_end, first_day, to_day, spell FROM mrr_paid_spells "
        "ORDER BY ALL"
    ).fetchall()
    assert spells == [
        ("cus_sub_1", False, date(2026, 1, 5), date(2026, 3, 20), 1),
        ("cus_sub_1", True, date(2026, 1, 5), date(2026, 4, 5), 1),
        ("cus_sub_2", None, date(2026, 2, 10), date(9999, 12, 31), 1),
    ]


def test_the_refresh_leaves_no_temporary_table_behind(upgraded: Warehouse) -> None:
    upgraded.refresh()
    temporary = upgraded.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary"
    ).fetchall()
    assert temporary == []
    assert {DEPENDS, VARIANTS}.isdisjoint(
        name
        for (name,) in upgraded.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    )


def test_a_warehouse_refreshed_by_an_older_paylens_gets_a_clear_error_not_a_number(
    upgraded: Warehouse,
) -> None:
    upgraded.refresh()
    for table in HISTORY:  # what a paylens that stored only the pieces left
        upgraded.con.execute(f"DROP TABLE {table}")
    upgraded.con.close()
    con = duckdb.connect(str(upgraded.path), read_only=True)
    try:
        assert _usd(con, date(2026, 2, 10)) == 20_000.0  # the pieces still answer MRR
        with pytest.raises(MissingSegmentsError, match=r"mrr_labelled_changes.*metrics\.refresh"):
            mrr_movements(con, date(2026, 1, 1), date(2026, 3, 31))
        with pytest.raises(MissingSegmentsError, match=r"mrr_paid_spells.*metrics\.refresh"):
            churn_monthly(con, date(2026, 1, 1), date(2026, 3, 31))
    finally:
        con.close()


def test_a_customer_in_two_currencies_moves_as_one(upgraded: Warehouse) -> None:
    upgraded.prices(Price("price_eur", "eur", 5_000, "month"))
    upgraded.subscriptions(Sub("sub_2", "active", "2026-02-10", [("price_eur", 1)]))
    upgraded.con.execute("UPDATE subscriptions SET customer = 'cus_sub_1'")
    _history(
        upgraded,
        [("price_eur", 1, "2026-02-10 08:00", None)],
        [("active", "2026-02-10 08:00", None)],
        sub="sub_2",
    )
    con = upgraded.read_only()
    try:
        frame = customer_changes(con, date(2026, 1, 1), date(2026, 6, 30), STRIPE)
        assert frame[["currency", "day", "kind", "change_minor"]].values.tolist() == [
            ["usd", date(2026, 1, 5), "new", 20_000.0],
            ["eur", date(2026, 2, 10), "expansion", 5_000.0],  # paying in usd already
            ["usd", date(2026, 3, 5), "expansion", 10_000.0],
            ["usd", date(2026, 3, 20), "contraction", -30_000.0],  # still paying in eur
        ]
        spells = customer_spells(con, date(2026, 1, 1), date(2026, 6, 30), STRIPE)
        assert spells[["first_day", "last_day", "spell"]].values.tolist() == [
            [date(2026, 1, 5), date(2026, 6, 30), 1],
        ]
        for settings in COMBINATIONS:  # no scenario file has a customer in two currencies
            params = {"start": date(2026, 1, 1), "as_of": date(2026, 6, 30), **asdict(settings)}
            expected = _rows(con, SEGMENTS, REFERENCE_CHANGES, params)
            assert _rows(con, ["mrr_customer_changes.sql"], None, params) == expected
    finally:
        con.close()


@pytest.fixture(scope="module")
def snapshots(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, duckdb.DuckDBPyConnection]]:
    cons = {
        name: synced_snapshot(simulate_named(name), tmp_path_factory.mktemp(name))
        for name in SCENARIOS
    }
    yield cons
    for con in cons.values():
        con.close()


def _windows(con: duckdb.DuckDBPyConnection) -> list[tuple[date, date]]:
    """The whole history to a week past its last change, its second half, and one month."""
    row = con.execute(
        "SELECT MIN(valid_from)::DATE, GREATEST(MAX(valid_from), MAX(valid_to))::DATE "
        "FROM subscription_item_history"
    ).fetchone()
    assert row is not None and row[0] is not None
    first, last = row[0], row[1] + timedelta(days=7)
    middle = first + (last - first) / 2
    return [(first, last), (middle, last), (middle, middle + timedelta(days=30))]


def _rows(
    con: duckdb.DuckDBPyConnection,
    layers: list[str],
    reference: str | None,
    params: dict[str, Any],
) -> list[tuple[Any, ...]]:
    """The last layer's rows, or the reference query's over `layers`, in one order."""
    outer = "SELECT * FROM result ORDER BY ALL"
    if reference is None:
        text = compose(layers, outer.replace("result", layers[-1].removesuffix(".sql")))
    else:
        ctes = ",\n".join(f"{n.removesuffix('.sql')} AS (\n{load_sql(n)}\n)" for n in layers)
        text = f"WITH {ctes},\nresult AS (\n{reference}\n)\n{outer}"
    used = {key: value for key, value in params.items() if f"${key}" in text}
    return con.execute(text, used).fetchall()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_stored_changes_and_spells_are_the_per_query_definition_under_every_setting(
    snapshots: dict[str, duckdb.DuckDBPyConnection], scenario: str
) -> None:
    con = snapshots[scenario]
    for (start, as_of), settings in itertools.product(_windows(con), COMBINATIONS):
        params = {"start": start, "as_of": as_of, **asdict(settings)}
        for layer, reference in [
            ("mrr_customer_changes.sql", REFERENCE_CHANGES),
            ("customer_spells.sql", REFERENCE_SPELLS),
        ]:
            expected = _rows(con, SEGMENTS, reference, params)
            assert _rows(con, [layer], None, params) == expected, (layer, start, as_of, settings)

"""Materialise what the MRR queries read from the whole history, once per sync, before a
snapshot is published.

MRR is answered from *segments*: per subscription item and per subscription, day ranges over
which MRR is constant. Building them reads the whole history, so it is done here, once, into two
tables of the warehouse (`mrr_item_pieces`, `mrr_subscription_pieces`; `sql/mrr_item_pieces.sql`
and `sql/mrr_subscription_pieces.sql`), and the published snapshot carries them. The tables do
not depend on the MRR settings: they keep the day a cancellation was requested and, per coupon
duration, what the discounts take off, so the layers every query reads (`sql/mrr_item_segments.sql`,
`sql/mrr_subscription_segments.sql`) answer any settings from them with a filter and a formula.

The movements, revenue churn, cohorts and customer churn need more than a day's segments:
running sums and merged runs over each customer's whole history (the labelled changes, the paid
spells). Those are stored here too (`mrr_labelled_changes`, `mrr_paid_spells`), because no
formula turns one setting's into another's (whether a customer is back at 0 depends on which
coupons count). They hold each customer's rows once per combination of the settings its MRR
depends on (`sql/mrr_variant_segments.sql`: on `large` 1.5 times, not 8), and the layers
(`sql/mrr_customer_changes.sql`, `sql/customer_spells.sql`) pick their settings' rows with a
filter and cut them to their days.

The service refreshes only what the sync says changed (`refresh_pending`): the sync lists in
`mrr_pending` the subscriptions whose inputs moved (their history rebuilt, a price, coupon or
discount they use; all of them after a full history rebuild). Each stored table is a union of
independent units: the pieces of a subscription read only its own rows (its history, itself, the
discounts that apply to it: its own and its customer's, and the invoice lines carrying them), and
a customer's labelled changes and paid spells only its subscriptions' pieces. So the pending
subscriptions' pieces are built again, then every row of each customer they belong to (before or
after), each with the same SQL file, over its inputs narrowed to those units: temporary tables of
the same names shadow the whole tables (DuckDB resolves a name to the temporary schema first).
Each unit's rows are deleted and inserted again, in one transaction with emptying `mrr_pending`;
the result equals a full refresh (`tests/metrics/test_refresh_incremental.py`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Literal

import duckdb

from metrics._sql import HISTORY, PIECES, STORED, Param, compose, load_sql
from metrics.mrr import SEGMENTS, MrrSettings

# Every combination of the MRR settings (all booleans): one run of `sql/mrr_variant_segments.sql`
# each.
COMBINATIONS = [
    MrrSettings(*values)
    for values in itertools.product((False, True), repeat=len(fields(MrrSettings)))
]
# The temporary tables HISTORY is built from: the settings each customer's MRR depends on, and
# the paying segments of every combination of them.
DEPENDS = "mrr_customer_settings"
VARIANTS = "mrr_variant_segments"


# Above this share of the subscriptions pending, the full refresh: it writes each table in one
# pass, where the incremental one deletes and inserts the units' rows besides building them, and
# redoes every row of each customer touched. Measured on `demo`'s inputs copied 50 times (53,500
# subscriptions, 2 threads): full 1.3-1.6 s; incremental 0.28 s for 100 pending, 0.55 s for
# 1,000, 0.93 s for 2,500, 1.4-1.6 s for 5,000 (9%). Just under that break-even.
FULL_SHARE = 0.08

_SCOPE = "IN (SELECT subscription FROM mrr_scope)"
# What the piece files read, narrowed to the pending subscriptions (`mrr_scope`), in this order
# (later conditions read earlier copies); and whether to copy every column (else all but
# `raw`). Prices and coupons are read whole: few rows, and any subscription may use any of them.
PIECE_INPUTS: dict[str, tuple[str, bool]] = {
    "subscriptions": (f"id {_SCOPE}", False),
    "subscription_item_history": (f"subscription {_SCOPE}", True),
    "subscription_status_history": (f"subscription {_SCOPE}", True),
    # their own discounts, and their customers' (which apply to every subscription of it)
    "discounts": (
        f"subscription {_SCOPE} OR (subscription IS NULL "
        "AND customer IN (SELECT customer FROM temp.main.subscriptions))",
        False,
    ),
    # the lines carrying those discounts (a once coupon lasts the period of the first one)
    "invoice_lines": (
        "discounts IS NOT NULL AND discounts <> '[]' AND list_has_any("
        "CAST(discounts AS VARCHAR[]), (SELECT list(id) FROM temp.main.discounts))",
        False,
    ),
}
# What the customer files read (through `mrr_customer_settings` and the segments layers),
# narrowed to the customers of the pending subscriptions (`mrr_customer_scope`).
CUSTOMER_INPUTS: dict[str, tuple[str, bool]] = {
    "mrr_subscription_pieces": ("customer IN (SELECT customer FROM mrr_customer_scope)", True),
}


@dataclass(frozen=True)
class Refreshed:
    """What `refresh_pending` redid: nothing, the pending units, or everything; how many
    subscriptions and customers (all of the warehouse's for a full refresh)."""

    mode: Literal["none", "incremental", "full"]
    subscriptions: int
    customers: int


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the stored MRR tables from the warehouse's history tables, in one transaction,
    and empty `mrr_pending` (nothing is left to redo). `con` must be writable (the service's
    master connection, or a test's warehouse); readers of a snapshot published afterwards see
    the new tables. Safe to run on an empty warehouse."""
    with _transaction(con):
        _refresh_all(con)


def refresh_pending(con: duckdb.DuckDBPyConnection, full_share: float = FULL_SHARE) -> Refreshed:
    """Bring the stored MRR tables up to date with what `mrr_pending` lists, in one transaction:
    nothing when it is empty; everything when a table is missing or more than `full_share` of
    the subscriptions are pending (after a full history rebuild, all are); else the pending
    subscriptions' pieces and their customers' rows. `mrr_pending` is emptied with it."""
    with _transaction(con):
        pending = _count(con, "SELECT count(*) FROM mrr_pending")
        stored = _stored(con)
        if stored and not pending:
            return Refreshed("none", 0, 0)
        if not stored or pending > full_share * _count(con, "SELECT count(*) FROM subscriptions"):
            return _refresh_all(con)
        return _refresh_units(con)


def _refresh_all(con: duckdb.DuckDBPyConnection) -> Refreshed:
    """Steps: the item pieces, then the subscription pieces (each built by its file from the
    tables before it); as temporary tables, the settings each customer depends on and the
    paying segments of every settings combination; from those the labelled changes and the paid
    spells; the temporary tables dropped; `mrr_pending` emptied."""
    for table in PIECES:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS\n{load_sql(f'{table}.sql')}")
    _store_variant_segments(con)
    for table in HISTORY:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS\n{load_sql(f'{table}.sql')}")
    for table in (DEPENDS, VARIANTS):
        con.execute(f"DROP TABLE {table}")
    con.execute("DELETE FROM mrr_pending")
    counts = "SELECT count(*), count(DISTINCT customer) FROM subscriptions"
    subscriptions, customers = con.execute(counts).fetchall()[0]
    return Refreshed("full", int(subscriptions), int(customers))


def _refresh_units(con: duckdb.DuckDBPyConnection) -> Refreshed:
    """Steps: the pending subscriptions' pieces built from their narrowed inputs into temporary
    tables; their customers, before and after; the pieces replaced; the customers' labelled
    changes and paid spells built from their narrowed pieces and replaced; `mrr_pending`
    emptied."""
    main = f"{_database(con)}.main"
    con.execute("CREATE OR REPLACE TEMP TABLE mrr_scope AS SELECT subscription FROM mrr_pending")
    with _shadowed(con, PIECE_INPUTS):
        for table in PIECES:  # each shadows the stored table for the files after it
            con.execute(f"CREATE TEMP TABLE {table} AS\n{load_sql(f'{table}.sql')}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE mrr_customer_scope AS "
        f"SELECT customer FROM {main}.mrr_subscription_pieces WHERE subscription {_SCOPE} "
        "UNION SELECT customer FROM temp.main.mrr_subscription_pieces"
    )
    for table in PIECES:
        _replace(con, f"{main}.{table}", f"subscription {_SCOPE}", f"FROM temp.main.{table}")
        con.execute(f"DROP TABLE temp.main.{table}")
    with _shadowed(con, CUSTOMER_INPUTS):
        _store_variant_segments(con)
        for table in HISTORY:
            where = "customer IN (SELECT customer FROM mrr_customer_scope)"
            _replace(con, f"{main}.{table}", where, load_sql(f"{table}.sql"))
        for table in (DEPENDS, VARIANTS):
            con.execute(f"DROP TABLE {table}")
    con.execute("DELETE FROM mrr_pending")
    subscriptions = _count(con, "SELECT count(*) FROM mrr_scope")
    customers = _count(con, "SELECT count(*) FROM mrr_customer_scope")
    for table in ("mrr_scope", "mrr_customer_scope"):
        con.execute(f"DROP TABLE temp.main.{table}")
    return Refreshed("incremental", subscriptions, customers)


def _replace(con: duckdb.DuckDBPyConnection, table: str, where: str, rows: str) -> None:
    """Delete the unit's rows of `table`, then insert its rebuilt ones."""
    con.execute(f"DELETE FROM {table} WHERE {where}")
    con.execute(f"INSERT INTO {table} BY NAME\n{rows}")


@contextmanager
def _shadowed(
    con: duckdb.DuckDBPyConnection, inputs: Mapping[str, tuple[str, bool]]
) -> Iterator[None]:
    """Shadow each input table with a temporary copy of the rows its condition keeps (dropped
    after; on an error the transaction rolls back, and the copies with it)."""
    main = f"{_database(con)}.main"
    for table, (condition, whole) in inputs.items():
        columns = "*" if whole else "* EXCLUDE (raw)"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT {columns} FROM {main}.{table} WHERE {condition}"
        )
    yield
    for table in inputs:
        con.execute(f"DROP TABLE temp.main.{table}")


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _stored(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every stored table exists (a warehouse never refreshed has none)."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name IN (SELECT unnest(?::VARCHAR[]))",
        [list(STORED)],
    ).fetchall()[0][0]
    return int(found) == len(STORED)


def _database(con: duckdb.DuckDBPyConnection) -> str:
    name = str(con.execute("SELECT current_database()").fetchall()[0][0])
    return '"' + name.replace('"', '""') + '"'


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def _store_variant_segments(con: duckdb.DuckDBPyConnection) -> None:
    """`mrr_customer_settings`, then `mrr_variant_segments` with each combination's run
    appended, as temporary tables; every piece of the history (read at 9999-12-31, so none is
    left out)."""
    depends = load_sql(f"{DEPENDS}.sql")
    con.execute(f"CREATE TEMP TABLE {DEPENDS} AS\n{depends}", {"as_of": date.max})
    text = compose([*SEGMENTS, f"{VARIANTS}.sql"])
    for number, settings in enumerate(COMBINATIONS):
        params: dict[str, Param] = {"as_of": date.max, **asdict(settings)}
        into = f"INSERT INTO {VARIANTS}" if number else f"CREATE TEMP TABLE {VARIANTS} AS"
        con.execute(f"{into}\n{text}", params)

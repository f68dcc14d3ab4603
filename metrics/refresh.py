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
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, fields
from datetime import date

import duckdb

from metrics._sql import HISTORY, PIECES, Param, compose, load_sql
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


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the stored MRR tables from the warehouse's history tables, in one transaction.

    Steps: the item pieces, then the subscription pieces (each built by its file from the
    tables before it); as temporary tables, the settings each customer depends on and the
    paying segments of every settings combination; from those the labelled changes and the paid
    spells; the temporary tables dropped. `con` must be writable (the service's master
    connection, or a test's warehouse); readers of a snapshot published afterwards see the new
    tables. Safe to run on an empty warehouse.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        for table in PIECES:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS\n{load_sql(f'{table}.sql')}")
        _store_variant_segments(con)
        for table in HISTORY:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS\n{load_sql(f'{table}.sql')}")
        for table in (DEPENDS, VARIANTS):
            con.execute(f"DROP TABLE {table}")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


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

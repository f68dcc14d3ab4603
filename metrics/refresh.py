"""Materialise what every MRR query reads, once per sync, before a snapshot is published.

MRR is answered from *segments*: per subscription item and per subscription, day ranges over
which MRR is constant. Building them reads the whole history, so it is done here, once, into two
tables of the warehouse (`mrr_item_pieces`, `mrr_subscription_pieces`; `sql/mrr_item_pieces.sql`
and `sql/mrr_subscription_pieces.sql`), and the published snapshot carries them. The tables do
not depend on the MRR settings: they keep the day a cancellation was requested and, per coupon
duration, what the discounts take off, so the layers every query reads (`sql/mrr_item_segments.sql`,
`sql/mrr_subscription_segments.sql`) answer any settings from them with a filter and a formula.
"""

from __future__ import annotations

import duckdb

from metrics._sql import STORED, load_sql


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the stored MRR pieces from the warehouse's history tables, in one transaction.

    `con` must be writable (the service's master connection, or a test's warehouse); readers of
    a snapshot published afterwards see the new tables. Safe to run on an empty warehouse.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        for table in STORED:  # in build order: each `sql/<table>.sql` may read the ones before
            con.execute(f"CREATE OR REPLACE TABLE {table} AS\n{load_sql(f'{table}.sql')}")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")

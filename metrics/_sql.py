"""Load the package's SQL files and run them with named parameters.

The SQL lives in `metrics/sql/*.sql` (package data) so each query can be read, reviewed and run on
its own; values are always bound as DuckDB named parameters (`$as_of`), never formatted in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib.resources import files

import duckdb
import pandas as pd


@cache
def load_sql(name: str) -> str:
    """The text of `metrics/sql/<name>`, read once per process."""
    return files("metrics").joinpath("sql", name).read_text(encoding="utf-8")


def run_sql(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, date]) -> pd.DataFrame:
    """Run one SQL file with its named parameters and return the result as a new DataFrame.

    Works on a read-only connection: the queries are single SELECTs built from CTEs and never
    create anything.
    """
    return con.execute(load_sql(name), dict(params)).df()

"""How the alert signals bind time bounds and read rows.

The alert engine works on the account's clock at minute precision, so signals take aware UTC
datetimes (not days). The warehouse stores naive UTC timestamps: bounds are converted on the
way in and every time read back is made aware again. Nothing here reads a clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from metrics._sql import compose

MICROSECOND = timedelta(microseconds=1)


def naive_utc(moment: datetime, name: str = "time") -> datetime:
    """`moment` as the warehouse stores times: UTC without a zone. A naive `moment` is refused:
    guessing its zone is how an alert window silently shifts by hours."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC).replace(tzinfo=None)


def aware_utc(value: datetime | None) -> datetime | None:
    """A naive UTC timestamp read from the warehouse as an aware UTC datetime."""
    return None if value is None else value.replace(tzinfo=UTC)


def as_utc(moment: datetime, name: str = "time") -> datetime:
    """An aware `moment` in any zone as aware UTC (naive is refused, as by `naive_utc`)."""
    return naive_utc(moment, name).replace(tzinfo=UTC)


def microseconds(span: timedelta) -> int:
    """A duration in whole microseconds (DuckDB's timestamp resolution), exactly."""
    return span // MICROSECOND


def positive(span: timedelta, name: str) -> None:
    if span <= timedelta(0):
        raise ValueError(f"{name} must be positive, got {span}")


def rows(
    con: duckdb.DuckDBPyConnection, names: Sequence[str], params: Mapping[str, object]
) -> list[tuple[Any, ...]]:
    """The SQL files `names` composed as layers (see `metrics._sql.run_layers`), as tuples.

    Tuples, not a DataFrame: signals read a few rows and need Python datetimes and ints, not
    pandas' Timestamps and NaN. Only the parameters the composed text mentions are bound.
    """
    text = compose(names)
    used = {key: value for key, value in params.items() if re.search(rf"\${key}\b", text)}
    return con.execute(text, used).fetchall()

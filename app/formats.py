"""How the pages write numbers, times and tables: one formatter per kind of value, so that a rate,
an amount or an age reads the same on every page, and every table has the same CSV download.

Formatting only: values arrive computed (from `metrics`); nothing here adds or divides beyond
turning minor units into major ones (`metrics.money`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from metrics.money import format_money, minor_to_major

MISSING = "n/a"


def _missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def rate(value: float | None) -> str:
    """A fraction as a percentage with two decimals: "97.31%"; "n/a" when unknown."""
    return MISSING if _missing(value) else f"{value:.2%}"


def points(change: float | None, against: str) -> str | None:
    """A change of rate in percentage points: "-2.10 pp vs baseline" (`against` = "baseline")."""
    if _missing(change):
        return None
    return f"{change:+.2%}".removesuffix("%") + f" pp vs {against}"


def money(value: float | None, currency: str, *, signed: bool = False) -> str:
    """Major units of `currency` as it is written ("$1,060.00", "¥980"); "+" before a gain when
    `signed`; "n/a" when unknown."""
    if _missing(value):
        return MISSING
    text = format_money(float(value), currency)  # type: ignore[arg-type]
    return f"+{text}" if signed and float(value) > 0 else text  # type: ignore[arg-type]


def minor(amount_minor: float, currency: str) -> str:
    """Minor units of `currency` as money: 106000 usd → "$1,060.00"."""
    return format_money(minor_to_major(float(amount_minor), currency), currency)


def per_currency(amounts: Mapping[str, int]) -> str:
    """Minor units per currency as text, currencies in order: "$1,060.00 + ¥980"; "none"."""
    parts = [minor(value, code) for code, value in sorted(amounts.items()) if value]
    return " + ".join(parts) or "none"


def converted_or_each(value: float | None, amounts: Mapping[str, int], currency: str) -> str:
    """`value` (major units of `currency`) when it could be converted, else each currency's."""
    return per_currency(amounts) if _missing(value) else money(value, currency)


def minor_column(frame: pd.DataFrame, column: str, currency: str = "currency") -> list[str]:
    """Each row's `column` (minor units of the row's `currency` column) as money."""
    pairs = zip(frame[column], frame[currency], strict=True)
    return ["" if _missing(amount) else minor(amount, str(code)) for amount, code in pairs]


def time(value: Any) -> str:
    """A moment as "2026-06-01 14:05" (UTC, as stored); "" when there is none."""
    return "" if _missing(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"


def age(seconds: Any) -> str:
    """A span in its two largest units: "2 d 4 h", "5 h 12 min", "12 min", "40 s"."""
    if _missing(seconds):
        return ""
    days, rest = divmod(max(0, int(seconds)), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def countdown(seconds: Any) -> str:
    """Time left to a deadline: "1 d 12 h", "5 h 20 min"; "passed 3 h 5 min ago" once past."""
    if _missing(seconds):
        return "no deadline"
    left = age(abs(int(seconds))) if abs(int(seconds)) >= 60 else "0 min"
    return f"passed {left} ago" if int(seconds) < 0 else left


def duration(seconds: Any) -> str:
    """How long a run took: "4.2 s" under two minutes, else as an age; "unfinished"."""
    if _missing(seconds):
        return "unfinished"
    return f"{seconds:.1f} s" if seconds < 120 else age(seconds)


# A table shows at most this many rows (its CSV has them all): on a large account a 30-day list
# of failed payments holds tens of thousands, and each page open would send them all to the
# browser.
MAX_ROWS = 1_000


def show(table: pd.DataFrame) -> None:
    """`table` as a dataframe, its first MAX_ROWS rows (in the order given: the most recent or
    the largest first), saying how many there are when it is cut."""
    st.dataframe(table.head(MAX_ROWS), hide_index=True)
    if len(table) > MAX_ROWS:
        st.caption(f"The first {MAX_ROWS:,} of {len(table):,} rows; the CSV has them all.")


def download(table: pd.DataFrame, name: str) -> None:
    """The table's CSV (numbers as numbers) as a download named `name`.csv."""
    csv = table.to_csv(index=False)
    st.download_button("Download CSV", csv, f"{name}.csv", "text/csv", key=f"csv-{name}")


def table(
    source: pd.DataFrame,
    name: str,
    columns: Mapping[str, str],
    money_columns: Mapping[str, str | None] | None = None,
    rates: Sequence[str] = (),
) -> None:
    """`source`'s `columns` (its name → the page's) as a table, and its CSV download.

    `money_columns`: a column's currency (amounts in major units), or None for minor units of
    the row's `currency`; `rates`: columns of fractions, shown as percentages. The CSV keeps
    numbers (major units).
    """
    money_columns = money_columns or {}
    frame = pd.DataFrame(index=source.index)
    for column, label in columns.items():
        values = source[column]
        if column == "currency":
            values = values.str.upper()
        elif column in money_columns and money_columns[column] is None:
            pairs = zip(values, source["currency"], strict=True)
            values = pd.Series([minor_to_major(float(v), c) for v, c in pairs], source.index)
        frame[label] = values
    shown = frame.copy()
    for column, code in money_columns.items():
        codes = source["currency"] if code is None else [code] * len(source)
        pairs = zip(frame[columns[column]], codes, strict=True)
        shown[columns[column]] = [money(value, str(c)) for value, c in pairs]
    for column in rates:
        shown[columns[column]] = [rate(value) for value in frame[columns[column]]]
    show(shown.reset_index(drop=True))
    download(frame, name)

"""Conversion to one reporting currency with a rates table the user supplies (no network).

The rates file is a CSV with the header `date,currency,rate`; a row `2026-01-31,eur,1.08` means
1 EUR = 1.08 units of the reporting currency on that day. A conversion uses the latest rate on or
before the day asked for, and refuses to guess when there is none.
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pandas as pd

HEADER = ["date", "currency", "rate"]


class FxError(Exception):
    """A conversion to the reporting currency cannot be done as asked."""


class FxRatesError(FxError):
    """The rates file is unreadable or malformed; the message names the file, line and problem."""


class MissingRateError(FxError):
    """No rate on or before the day asked for; the message says what to add to the rates file."""


def load_rates_csv(path: Path) -> pd.DataFrame:
    """Read and validate a rates file.

    Returns one row per (date, currency), sorted by both: `date` (datetime.date), `currency`
    (lower-case ISO code) and `rate` (float > 0). Blank lines are skipped; anything else that is
    not a valid row raises FxRatesError naming the first bad line.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise FxRatesError(f"{path}: cannot read the rates file: {error}") from error
    if not rows or [cell.strip().lower() for cell in rows[0]] != HEADER:
        raise FxRatesError(f"{path}, line 1: the header must be exactly 'date,currency,rate'")
    parsed: dict[tuple[date, str], float] = {}
    for line, cells in enumerate(rows[1:], start=2):
        if not cells or all(not cell.strip() for cell in cells):
            continue
        day, currency, rate = _parse_row(cells, where=f"{path}, line {line}")
        if (day, currency) in parsed:
            raise FxRatesError(
                f"{path}, line {line}: a second rate for {currency.upper()} on {day}"
            )
        parsed[(day, currency)] = rate
    return pd.DataFrame(
        {
            "date": pd.Series([key[0] for key in parsed], dtype="object"),
            "currency": pd.Series([key[1] for key in parsed], dtype="str"),
            "rate": pd.Series(list(parsed.values()), dtype="float64"),
        }
    ).sort_values(["date", "currency"], ignore_index=True)


def convert_total(
    amounts: Mapping[str, float],
    reporting_currency: str,
    rates: pd.DataFrame | None,
    on: date,
) -> float:
    """Sum amounts given in major units per currency, converted to the reporting currency.

    The reporting currency converts at 1; every other currency at its latest rate on or before
    `on`. A zero amount needs no rate. Raises MissingRateError when a rate is missing, and
    FxRatesError when the rates table prices the reporting currency itself at anything but 1
    (a sign the file was written for another reporting currency).
    """
    reporting = reporting_currency.lower()
    index = _indexed(rates) if rates is not None else {}
    _check_reporting_rows(index, reporting)
    total = 0.0
    for currency, amount in amounts.items():
        code = currency.lower()
        if amount == 0 or code == reporting:
            total += amount
            continue
        total += amount * _rate_on(index, code, on, reporting)
    return total


def _parse_row(cells: list[str], where: str) -> tuple[date, str, float]:
    """One data row as (date, currency, rate), or FxRatesError saying what is wrong with it."""
    if len(cells) != len(HEADER):
        raise FxRatesError(f"{where}: expected 3 fields (date,currency,rate), found {len(cells)}")
    day_text, currency_text, rate_text = (cell.strip() for cell in cells)
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise FxRatesError(f"{where}: date {day_text!r} is not YYYY-MM-DD") from None
    currency = currency_text.lower()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise FxRatesError(f"{where}: currency {currency_text!r} is not a 3-letter ISO code")
    try:
        rate = float(rate_text)
    except ValueError:
        raise FxRatesError(f"{where}: rate {rate_text!r} is not a number") from None
    if not math.isfinite(rate) or rate <= 0:
        raise FxRatesError(f"{where}: rate {rate_text!r} must be a positive number")
    return day, currency, rate


# Per currency, its rates' days (ascending) and values.
_Index = dict[str, tuple[list[date], list[float]]]
_INDEXES: dict[int, tuple[pd.DataFrame, _Index]] = {}  # by table identity; the table is kept
_INDEXES_KEPT = 8


def _rate_on(index: _Index, currency: str, on: date, reporting: str) -> float:
    """The latest rate of `currency` on or before `on`."""
    days, values = index.get(currency, ([], []))
    position = bisect.bisect_right(days, on)
    if position == 0:
        raise MissingRateError(
            f"no exchange rate for {currency.upper()} on or before {on}: add a row "
            f"'{on.isoformat()},{currency},<rate>' to the rates file, where <rate> is the value "
            f"of 1 {currency.upper()} in {reporting.upper()}"
        )
    return values[position - 1]


def _check_reporting_rows(index: _Index, reporting: str) -> None:
    """Refuse a rates table that gives the reporting currency a rate other than 1."""
    for day, rate in zip(*index.get(reporting, ([], [])), strict=True):
        if rate != 1.0:
            raise FxRatesError(
                f"the rates table gives {reporting.upper()}, the reporting currency, a rate of "
                f"{rate} on {day}: rates must be in units of {reporting.upper()}"
            )


def _indexed(rates: pd.DataFrame) -> _Index:
    """A caller's rates table (dates as anything pandas reads, codes in any case) as sorted
    lists per currency, built once per table: a report converts dozens of totals with one
    table, and the tables are never changed once loaded."""
    kept = _INDEXES.get(id(rates))
    if kept is not None and kept[0] is rates:
        return kept[1]
    table = pd.DataFrame(
        {
            "date": [pd.Timestamp(value).date() for value in rates["date"]],
            "currency": rates["currency"].astype("str").str.lower(),
            "rate": rates["rate"].astype("float64"),
        }
    ).sort_values(["currency", "date"], kind="stable")
    index: _Index = {}
    for currency, group in table.groupby("currency", sort=False):
        index[str(currency)] = (list(group["date"]), [float(r) for r in group["rate"]])
    if len(_INDEXES) >= _INDEXES_KEPT:
        _INDEXES.pop(next(iter(_INDEXES)))
    _INDEXES[id(rates)] = (rates, index)
    return index

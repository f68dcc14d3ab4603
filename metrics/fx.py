"""Conversion to one reporting currency with a rates table the user supplies (no network).

The rates file is a CSV `date,currency,rate_in_usd`: the row `2026-01-31,eur,1.08` means
1 EUR = 1.08 USD on that day. The header names the currency the rates are in; a plain
`date,currency,rate` header says it with a row rating that currency 1 (`2026-01-31,usd,1`). A
file whose rates are in another currency than the reporting one is refused, naming the file and
line, rather than converted by cross rates: a total converted through a third currency's rates
on other days than asked would be a quiet approximation, and relabelling USD totals as CHF a
wrong one. A conversion uses the latest rate on or before the day asked for, and refuses to
guess when there is none.
"""

from __future__ import annotations

import bisect
import csv
import math
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pandas as pd

HEADER = ["date", "currency", "rate"]
RATE_IN = re.compile(r"rate_in_([a-z]{3})")  # the third header field naming the currency


class FxError(Exception):
    """A conversion to the reporting currency cannot be done as asked."""


class FxRatesError(FxError):
    """The rates file is unreadable or malformed; the message names the file, line and problem."""


class MissingRateError(FxError):
    """No rate on or before the day asked for; the message says what to add to the rates file."""


# (date, currency) -> (rate, line number in the file)
_Rows = dict[tuple[date, str], tuple[float, int]]


def load_rates_csv(path: Path, reporting_currency: str) -> pd.DataFrame:
    """Read and validate a rates file for `reporting_currency`.

    Returns one row per (date, currency), sorted by both: `date` (datetime.date), `currency`
    (lower-case ISO code) and `rate` (float > 0). Blank lines are skipped; anything else that is
    not a valid row, and a file whose rates are not in the reporting currency, raises
    FxRatesError as "<file>:<line>: <problem>".
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = list(csv.reader(handle))
    except FileNotFoundError:
        raise FxRatesError(f"{path}: the rates file does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise FxRatesError(f"{path}: cannot read the rates file: {error}") from error
    reporting = reporting_currency.lower()
    declared = _header_currency(path, lines[0] if lines else [], reporting)
    rows: _Rows = {}
    for line, cells in enumerate(lines[1:], start=2):
        if not cells or all(not cell.strip() for cell in cells):
            continue
        day, currency, rate = _parse_row(cells, where=f"{path}:{line}")
        if (day, currency) in rows:
            raise FxRatesError(f"{path}:{line}: a second rate for {currency.upper()} on {day}")
        rows[(day, currency)] = (rate, line)
    _check_base(path, rows, declared, reporting)
    return pd.DataFrame(
        {
            "date": pd.Series([key[0] for key in rows], dtype="object"),
            "currency": pd.Series([key[1] for key in rows], dtype="str"),
            "rate": pd.Series([rate for rate, _ in rows.values()], dtype="float64"),
        }
    ).sort_values(["date", "currency"], ignore_index=True)


def _header_currency(path: Path, cells: list[str], reporting: str) -> str | None:
    """The currency the header names (`rate_in_chf`), None for a plain `rate` header."""
    fields = [cell.strip().lower() for cell in cells]
    if fields == HEADER:
        return None
    found = RATE_IN.fullmatch(fields[2]) if fields[:2] == HEADER[:2] and len(fields) == 3 else None
    if found is None:
        raise FxRatesError(
            f"{path}:1: the header must be 'date,currency,rate_in_{reporting}' (or "
            f"'date,currency,rate' with a row rating {reporting.upper()} 1), "
            f"found {','.join(cells)!r}"
        )
    return found.group(1)


def _check_base(path: Path, rows: _Rows, declared: str | None, reporting: str) -> None:
    """Refuse rates that are not in the reporting currency, or that do not say what they are in.

    The currency is the header's; without one, a currency rated 1 on every row of it (the
    reporting currency first, when it is). Rows of that currency must say 1.
    """
    first_line = {code: line for (_, code), (_, line) in sorted(rows.items(), key=_by_line)}
    if declared is None:
        ones = sorted(code for code in first_line if _all_one(rows, code))
        if not ones:
            raise FxRatesError(
                f"{path}:1: the rates file does not say which currency its rates are in: name "
                f"it in the header ('date,currency,rate_in_{reporting}') or add a row rating it "
                f"1 ('YYYY-MM-DD,{reporting},1')"
            )
        if reporting not in ones:
            shown = " or ".join(code.upper() for code in ones)
            raise FxRatesError(
                f"{path}:{first_line[ones[0]]}: rates are against {shown}, the reporting "
                f"currency is {reporting.upper()}"
            )
        return
    if declared != reporting:
        raise FxRatesError(
            f"{path}:1: rates are against {declared.upper()}, the reporting currency is "
            f"{reporting.upper()}"
        )
    for (day, code), (rate, line) in sorted(rows.items(), key=_by_line):
        if code == reporting and rate != 1.0:
            raise FxRatesError(
                f"{path}:{line}: {code.upper()} is the currency the rates are in, so its rate "
                f"on {day} must be 1, not {rate:g}"
            )


def _by_line(item: tuple[tuple[date, str], tuple[float, int]]) -> int:
    return item[1][1]


def _all_one(rows: _Rows, currency: str) -> bool:
    return all(rate == 1.0 for (_, code), (rate, _) in rows.items() if code == currency)


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

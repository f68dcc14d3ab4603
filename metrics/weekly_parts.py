"""The weekly review's rows and series: failures by dimension, the decline segments the
success-rate sentence decomposes, webhook endpoints, disputes, MRR movers and the daily series.

Each reads one query over the review's two weeks (`sql/weekly_*.sql`) and converts money to the
reporting currency with a `Converter`, which notes what it could not convert instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import duckdb
import pandas as pd

from metrics._sql import Param, run_layers
from metrics.churn import ChurnSettings
from metrics.disputes import RESPOND_WITHIN
from metrics.fx import FxError, convert_total
from metrics.money import THREE_DECIMAL, ZERO_DECIMAL, minor_to_major
from metrics.movements import CHANGES, KINDS
from metrics.mrr import mrr_currency_daily
from metrics.payments import payment_success_daily
from metrics.summary import Rates
from metrics.webhooks import DEFAULT_GRACE
from metrics.weekly_model import (
    BreakdownRow,
    CustomerChange,
    DisputeRow,
    EndpointRow,
    IsoWeek,
    SeriesPoint,
)

# BreakdownRow.dimension → the column of `sql/weekly_attempt_groups.sql` it groups by
DIMENSIONS = {
    "brand": "card_brand",
    "country": "card_country",
    "amount_band": "amount_band",
    "decline_code": "decline",
}
PERSISTENT_HOURS = 24.0  # an event still awaited this long after it was sent: a "timeout"
MOVERS_PER_KIND = 10  # the largest customers of each movement kind the review keeps
Counts = tuple[int, int]  # attempted, succeeded


class Converter:
    """Sums money given per currency into the reporting currency on a day, or None when a
    rate is missing. Each problem is noted once (`warnings`): a missing rate for the earliest
    day it was needed, since a rate added for that day serves the later ones too."""

    def __init__(self, reporting: str, rates: Rates) -> None:
        self.reporting = reporting
        self.table = rates if isinstance(rates, pd.DataFrame) else None
        self.unreadable = rates if isinstance(rates, FxError) else None
        self.unconverted: set[str] = set()  # currencies met without a rates table
        self.missing: dict[str, tuple[date, str]] = {}  # currency → earliest day, message

    def total(self, major: Mapping[str, float], on: date) -> float | None:
        """Major units per currency → one amount in the reporting currency at `on`'s rates."""
        total: float | None = 0.0
        for currency, amount in sorted(major.items()):
            value = self._one(currency, amount, on)
            total = None if value is None or total is None else total + value
        return total

    def minor(self, minor: Mapping[str, float], on: date) -> float | None:
        """`total` of amounts given in minor units per currency."""
        return self.total({str(c): minor_to_major(float(v), str(c)) for c, v in minor.items()}, on)

    @property
    def warnings(self) -> list[str]:
        found = [str(self.unreadable)] if self.unreadable is not None and self.unconverted else []
        if self.unconverted and self.unreadable is None:
            which = ", ".join(c.upper() for c in sorted(self.unconverted))
            found.append(
                f"amounts in {which} cannot be converted to {self.reporting.upper()}: "
                "no FX rates file"
            )
        return found + [message for _, message in self.missing.values()]

    def _one(self, currency: str, amount: float, on: date) -> float | None:
        if amount == 0 or currency == self.reporting:
            return amount
        if self.table is None:
            self.unconverted.add(currency)
            return None
        try:
            return convert_total({currency: amount}, self.reporting, self.table, on)
        except FxError as exc:
            known = self.missing.get(currency)
            if known is None or on < known[0]:
                self.missing[currency] = (on, str(exc))
            return None


def attempt_groups(con: duckdb.DuckDBPyConnection, week: IsoWeek) -> pd.DataFrame:
    """The raw attempts of `week` and the week before, counted per `this_week`, card brand,
    card country, amount band, currency, decline code and `succeeded`
    (`sql/weekly_attempt_groups.sql`): columns those and `attempted`, `amount_minor`."""
    params: dict[str, Param] = {
        "start": week.previous().start,
        "as_of": week.end,
        "week_start": week.start,
        "dedup": False,
        "zero_decimal": ",".join(sorted(ZERO_DECIMAL)),
        "three_decimal": ",".join(sorted(THREE_DECIMAL)),
    }
    frame = run_layers(con, ["payment_attempts.sql", "weekly_attempt_groups.sql"], params)
    return frame.astype({"this_week": "bool", "succeeded": "bool", "attempted": "int64"})


def failure_rows(groups: pd.DataFrame, week: IsoWeek, money: Converter) -> list[BreakdownRow]:
    """Per dimension (DIMENSIONS' order) the values with a failure in either week, most
    failures this week first. An amount band is named with its currency ("50-200 USD"): a band
    is in each currency's own major unit. For a decline code, attempts are its failures."""
    rows: list[BreakdownRow] = []
    frame = groups.assign(
        amount_band=groups["amount_band"] + " " + groups["currency"].str.upper(),
        failed=groups["attempted"].where(~groups["succeeded"], 0),
    )
    for dimension, column in DIMENSIONS.items():
        found = []
        for value, part in frame.groupby(column, sort=True):
            now, before = part[part["this_week"]], part[~part["this_week"]]
            if dimension == "decline_code":
                now, before = now[~now["succeeded"]], before[~before["succeeded"]]
            failures, last_failures = int(now["failed"].sum()), int(before["failed"].sum())
            if failures == 0 and last_failures == 0:
                continue
            row = BreakdownRow(
                dimension=dimension,  # type: ignore[arg-type]
                value=str(value),
                attempts=int(now["attempted"].sum()),
                failures=failures,
                last_week_attempts=int(before["attempted"].sum()),
                last_week_failures=last_failures,
                lost_amount=money.minor(
                    _per_currency(now[~now["succeeded"]], "amount_minor"), week.end
                ),
            )
            found.append(row)
        rows += sorted(found, key=lambda row: (-row.failures, -row.last_week_failures, row.value))
    return rows


def segment_counts(groups: pd.DataFrame, this_week: bool) -> dict[tuple[str, str, str], Counts]:
    """{(brand, country, decline code): (attempted, succeeded)} of one of the two weeks."""
    part = groups[groups["this_week"] == this_week]
    counts: dict[tuple[str, str, str], Counts] = {}
    for row in part.to_dict("records"):
        key = (str(row["card_brand"]), str(row["card_country"]), str(row["decline"]))
        attempted, succeeded = counts.get(key, (0, 0))
        tried = int(row["attempted"])
        counts[key] = (attempted + tried, succeeded + (tried if row["succeeded"] else 0))
    return counts


def endpoint_rows(con: duckdb.DuckDBPyConnection, week: IsoWeek) -> list[EndpointRow]:
    """Every webhook endpoint existing at the end of `week`, disabled ones first
    (`sql/weekly_endpoints.sql`; EndpointRow says what each count can and cannot tell)."""
    params: dict[str, Param] = {
        "as_of": week.end,
        "week_start": week.start,
        "grace_seconds": int(DEFAULT_GRACE.total_seconds()),
        "persistent_hours": PERSISTENT_HOURS,
    }
    frame = run_layers(con, ["webhook_events.sql", "weekly_endpoints.sql"], params)
    return [
        EndpointRow(
            endpoint=str(row["endpoint"]),
            url=str(row["url"]),
            status=str(row["status"]),
            deliveries=int(row["deliveries"]),
            failures=int(row["failures"]),
            timeouts=int(row["persistent"]),
            pending=int(row["pending"]),
        )
        for row in frame.to_dict("records")
    ]


def dispute_rows(con: duckdb.DuckDBPyConnection, week: IsoWeek, link: str) -> list[DisputeRow]:
    """The disputes opened in `week` or open at its end, open ones soonest deadline first;
    `link` is the Disputes page's query for the week, to which each row adds its dispute."""
    params: dict[str, Param] = {"as_of": week.end, "week_start": week.start}
    frame = run_layers(con, ["dispute_list.sql", "weekly_disputes.sql"], params)
    rows = []
    for row in frame.to_dict("records"):
        created = _moment(row["created"])
        assert created is not None
        rows.append(
            DisputeRow(
                dispute=str(row["dispute"]),
                charge=_text(row["charge"]),
                customer=_text(row["customer"]),
                amount=minor_to_major(float(row["amount_minor"]), str(row["currency"])),
                currency=str(row["currency"]),
                reason=str(row["reason"] or ""),
                status=str(row["status"]),
                created=created,
                due_by=_moment(row["due_by"]),
                link=f"{link}&dispute={row['dispute']}",
                respond_by=created + RESPOND_WITHIN,
                needs_response=bool(row["needs_response"]),
            )
        )
    return rows


def movements_frame(
    con: duckdb.DuckDBPyConnection, week: IsoWeek, definition: ChurnSettings
) -> pd.DataFrame:
    """The MRR movements of both weeks per day, customer, currency and kind
    (`sql/weekly_movements.sql`): `day`, `customer`, `name`, `currency`, `kind`,
    `amount_minor` (positive; contraction and churn are subtracted)."""
    params: dict[str, Param] = {"start": week.previous().start, "as_of": week.end}
    params.update(asdict(definition))
    frame = run_layers(con, [*CHANGES, "weekly_movements.sql"], params)
    frame["day"] = [pd.Timestamp(day).date() for day in frame["day"]]
    return frame


def movers(moves: pd.DataFrame, week: IsoWeek, money: Converter) -> list[CustomerChange]:
    """Per kind (in KINDS' order), the customers behind this week's movements of that kind,
    largest first, at most MOVERS_PER_KIND; amounts at the week end's rates."""
    now = moves[moves["day"] >= week.start]
    rows: list[CustomerChange] = []
    for kind in KINDS:
        found = []
        part = now[now["kind"] == kind]
        for (customer, name), own in part.groupby(["customer", "name"], dropna=False, sort=True):
            amount = money.minor(_per_currency(own, "amount_minor"), week.end)
            if amount is not None:
                found.append(CustomerChange(str(customer), _text(name), kind, amount))
        found.sort(key=lambda change: (-change.amount, change.customer))
        rows += found[:MOVERS_PER_KIND]
    return rows


def series(
    con: duckdb.DuckDBPyConnection,
    week: IsoWeek,
    definition: ChurnSettings,
    moves: pd.DataFrame,
    money: Converter,
) -> dict[str, tuple[SeriesPoint, ...]]:
    """The charts' daily values over both weeks: `payments.success_rate` (None on a day
    without attempts), `mrr` (end of each day, that day's rates) and `movements.<kind>` (each
    day's movements at the rates of its week's end, so a week's days add up to its figure)."""
    start = week.previous().start
    days = [start + timedelta(days=n) for n in range(14)]
    daily = payment_success_daily(con, start, week.end)
    rates = dict(zip(daily["day"], daily["success_rate"], strict=True))
    result = {"payments.success_rate": tuple(SeriesPoint(d, _number(rates[d])) for d in days)}
    mrr = _per_day(mrr_currency_daily(con, start, week.end, definition), [], "net_mrr_minor")
    result["mrr"] = tuple(SeriesPoint(day, money.minor(mrr.get((day,), {}), day)) for day in days)
    moved = _per_day(moves, ["kind"], "amount_minor")
    for kind in KINDS:
        points = []
        for day in days:
            valued_on = week.end if day >= week.start else week.previous().end
            points.append(SeriesPoint(day, money.minor(moved.get((day, kind), {}), valued_on)))
        result[f"movements.{kind}"] = tuple(points)
    return result


def _per_day(
    frame: pd.DataFrame, keys: list[str], column: str
) -> dict[tuple[object, ...], dict[str, float]]:
    """{(day, *keys): {currency: sum of `column`}}."""
    found: dict[tuple[object, ...], dict[str, float]] = {}
    sums = frame.groupby(["day", *keys, "currency"])[column].sum()
    for index, value in sums.items():
        key = tuple(index) if isinstance(index, tuple) else (index,)
        found.setdefault(key[:-1], {})[str(key[-1])] = float(value)
    return found


def _per_currency(frame: pd.DataFrame, column: str) -> dict[str, float]:
    return {str(c): float(v) for c, v in frame.groupby("currency")[column].sum().items()}


def _number(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _moment(value: object) -> datetime | None:
    """A naive UTC timestamp from the warehouse as an aware UTC datetime (None for a null)."""
    if value is None or value is pd.NaT:
        return None
    return pd.Timestamp(value).to_pydatetime().replace(tzinfo=UTC)  # type: ignore[arg-type]

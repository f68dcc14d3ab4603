"""The sidebar every page shares: a date range and a currency (and on Payments, card filters),
bound to the page's query parameters, so a link opens the page exactly as it was.

Query parameters: `range` (`7d`, `30d`, `90d`, `12m`, or `custom` with `from` and `to` as
YYYY-MM-DD; a `from`/`to` alone, as the alert messages send them with times, implies custom),
`currency` (a native currency code; absent: the reporting currency, amounts converted), and on
Payments `brand`, `country`, `funding`, `decline`. The default range ends on the account's day
(the day of the last sync's answer from Stripe), never the machine's, so a page and `paylens
report --as-of` that day show the same figures. Flows cover (since, as_of], as the report's.

The URL is the source of truth: the sidebar reads it on every run, writes back only what is not
a default (so a link stays short) and only the keys it owns (a page's own parameters, such as
Revenue's `grain` or Disputes' `dispute`, are left alone). When the URL changes from outside the
sidebar (a link followed in an open session, the browser's back button), the widgets are rebuilt
from it rather than keeping what they showed before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import streamlit as st

from sync import account_day

PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "12m": "Last 12 months",
    "custom": "Custom",
}
DEFAULT_RANGE = "30d"  # the report's default period
CARD_FILTERS = ("brand", "country", "funding", "decline")
RANGE_KEYS = ("range", "from", "to", "currency")  # the parameters every page's sidebar owns
_ALL = "all"
_SEEN = "filter_params_seen"  # the owned parameters as the sidebar last left them


@dataclass(frozen=True)
class Filters:
    """What the sidebar chose. `since` is exclusive: flows over (since, as_of]."""

    range: str
    since: date
    as_of: date
    currency: str | None  # None: the reporting currency (converted); else one native currency
    card: Mapping[str, str]  # Payments' card filters that are set: brand, country, …

    @property
    def days(self) -> int:
        return (self.as_of - self.since).days


def period(preset: str, as_of: date) -> date:
    """The exclusive start of a preset range ending on `as_of` (12 months back from 29 February
    starts after the 28th)."""
    if preset == "12m":
        try:
            return as_of.replace(year=as_of.year - 1)
        except ValueError:  # 29 February
            return as_of.replace(year=as_of.year - 1, day=28)
    if preset not in PRESETS or preset == "custom":
        raise ValueError(f"not a preset range: {preset!r} (one of 7d, 30d, 90d, 12m)")
    return as_of - timedelta(days=int(preset.removesuffix("d")))


def sidebar(
    con: duckdb.DuckDBPyConnection,
    *,
    reporting_currency: str,
    currencies: Sequence[str] = (),
    card_options: Mapping[str, Sequence[str]] | None = None,
) -> Filters:
    """Draw the sidebar from the query parameters, write the choice back to them, return it.

    `currencies`: the native currencies the account has (offered besides the reporting one);
    `card_options`: on Payments, the values each card filter can take. Steps: rebuild the
    widgets if the URL changed from outside; the range; the currency; the card filters; write
    back what is not a default.
    """
    owned = (*RANGE_KEYS, *(card_options or {}))
    params = {key: str(st.query_params[key]) for key in owned if key in st.query_params}
    if st.session_state.get(_SEEN) != params:  # a link or the back button: the URL decides
        for key in ("filter_range", "filter_dates", "filter_currency", *_card_keys()):
            st.session_state.pop(key, None)
    today = account_day(con)
    chosen, since, as_of = _range_widgets(params, today)
    currency = _currency_widget(params, reporting_currency, currencies)
    card = _card_widgets(params, card_options or {})
    filters = Filters(chosen, since, as_of, currency, card)
    wanted = query(filters, today)
    _write_back(wanted, owned)
    st.session_state[_SEEN] = wanted
    return filters


def query(filters: Filters, today: date) -> dict[str, str]:
    """The query parameters that reproduce `filters` on `today`, without the defaults: no
    `range` for 30 days or a custom range (its `from` says so), no `to` when a preset ends on
    `today`, no `currency` for the reporting one."""
    wanted: dict[str, str] = {}
    if filters.range not in (DEFAULT_RANGE, "custom"):
        wanted["range"] = filters.range
    if filters.range == "custom":
        wanted["from"] = (filters.since + timedelta(days=1)).isoformat()
    if filters.range == "custom" or filters.as_of != today:
        wanted["to"] = filters.as_of.isoformat()
    if filters.currency:
        wanted["currency"] = filters.currency
    wanted.update(filters.card)
    return wanted


def link_query() -> dict[str, str]:
    """The range and currency of this page's URL, for a link that opens another page on them
    (call after `sidebar`)."""
    return {key: str(st.query_params[key]) for key in RANGE_KEYS if key in st.query_params}


def _range_widgets(params: Mapping[str, str], today: date) -> tuple[str, date, date]:
    """The range picker (and the dates of a custom range): (preset, since, as_of)."""
    linked, since, as_of = _range_from(params, today)
    label = st.sidebar.selectbox(
        "Range", list(PRESETS.values()), index=list(PRESETS).index(linked), key="filter_range"
    )
    chosen = next(key for key, text in PRESETS.items() if text == label)
    if chosen == "custom":
        picked = st.sidebar.date_input(
            "From – to (UTC days)",
            value=(since + timedelta(days=1), as_of),
            max_value=today,
            key="filter_dates",
        )
        if isinstance(picked, tuple) and len(picked) == 2:  # one day picked: not a range yet
            since, as_of = picked[0] - timedelta(days=1), picked[1]
    elif chosen != linked:  # a preset picked in the sidebar ends on the account's day
        since, as_of = period(chosen, today), today
    return chosen, since, as_of


def _currency_widget(
    params: Mapping[str, str], reporting_currency: str, currencies: Sequence[str]
) -> str | None:
    options = [f"{reporting_currency.upper()} (all, converted)"]
    options += [code.upper() for code in currencies if code.lower() != reporting_currency.lower()]
    wanted = params.get("currency", "").upper()
    label = st.sidebar.selectbox(
        "Currency",
        options,
        index=options.index(wanted) if wanted in options else 0,
        key="filter_currency",
    )
    return None if label == options[0] else label.lower()


def _card_widgets(
    params: Mapping[str, str], card_options: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """The card filters that are set. A linked value the range has no charges for is still
    offered (and kept), so a link from an alert opens on what it names."""
    card: dict[str, str] = {}
    for name, values in card_options.items():
        wanted = params.get(name) or _ALL
        choices = [_ALL, *values] + ([wanted] if wanted not in (_ALL, *values) else [])
        picked = st.sidebar.selectbox(
            name.capitalize(), choices, index=choices.index(wanted), key=f"filter_{name}"
        )
        if picked != _ALL:
            card[name] = str(picked)
    return card


def _card_keys() -> list[str]:
    return [f"filter_{name}" for name in CARD_FILTERS]


def _range_from(params: Mapping[str, str], today: date) -> tuple[str, date, date]:
    """(preset, since, as_of) as the query parameters say, else the default range; never past
    the account's day."""
    chosen = params.get("range")
    start, end = _day(params.get("from")), _day(params.get("to"))
    if chosen not in PRESETS:
        chosen = "custom" if start or end else DEFAULT_RANGE
    as_of = min(end or today, today)
    if chosen == "custom":
        first = start or as_of - timedelta(days=29)  # a `to` alone: the 30 days to it
        return chosen, min(first, as_of) - timedelta(days=1), as_of
    return chosen, period(chosen, as_of), as_of


def _day(text: str | None) -> date | None:
    """A YYYY-MM-DD, or the day of an ISO time (as alert links carry them), else None."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _write_back(wanted: Mapping[str, str], owned: Sequence[str]) -> None:
    """Set the owned parameters to `wanted`, leaving every other parameter as it is."""
    for key in owned:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]

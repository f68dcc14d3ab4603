"""The summary's figures by key: the names an alert rule's `metric` (and a user) can use.

A key is the dotted path of a number in `Summary`: `customer_churn.rate`,
`involuntary.involuntary_share`, `payments.success_rate`, `mrr.converted`,
`mrr.by_currency.usd`, `movements.churn`, `payments.disputes.open`. Lists (the cohort rows) and
the warnings and degradations have no keys; a figure the summary could not compute is None.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from metrics.summary import Summary

_SKIPPED = frozenset(
    {"cohorts", "warnings", "degradations", "as_of", "since", "reporting_currency"}
)


def summary_values(summary: Summary) -> dict[str, float | None]:
    """Every number of `summary` by its dotted key (booleans and dates are not figures)."""
    values: dict[str, float | None] = {}
    for item in dataclasses.fields(summary):
        if item.name not in _SKIPPED:
            _flatten(item.name, getattr(summary, item.name), values)
    return values


def summary_keys(summary: Summary) -> tuple[str, ...]:
    """The keys of `summary_values`, sorted: those a rule may name (by-currency keys depend on
    the account's currencies)."""
    return tuple(sorted(summary_values(summary)))


# The keys every summary has, whatever the account: a rules file is checked against these
# (plus `<amount>.by_currency.<code>`), without a warehouse.
def static_keys() -> tuple[str, ...]:
    keys: list[str] = []
    _static("", Summary, keys)
    return tuple(sorted(keys))


def is_summary_key(key: str) -> bool:
    """Whether `key` names a figure of every summary, or a per-currency one."""
    if key in static_keys():
        return True
    head, _, code = key.rpartition(".by_currency.")
    return bool(head) and len(code) == 3 and code.isalpha() and f"{head}.converted" in static_keys()


def _flatten(prefix: str, value: Any, into: dict[str, float | None]) -> None:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        into[prefix] = None if value is None else float(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _flatten(f"{prefix}.{item.name}", getattr(value, item.name), into)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}", inner, into)
    # dates, datetimes, strings, booleans and sequences are not figures


def _static(prefix: str, cls: Any, into: list[str]) -> None:
    hints = _hints(cls)
    for item in dataclasses.fields(cls):
        if not prefix and item.name in _SKIPPED:
            continue
        name = f"{prefix}{item.name}"
        kind = hints[item.name]
        inner = _dataclass_in(kind)
        if inner is not None:
            _static(f"{name}.", inner, into)
        elif _is_number(kind):
            into.append(name)


def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dataclass_in(kind: Any) -> Any:
    for option in (kind, *getattr(kind, "__args__", ())):
        if dataclasses.is_dataclass(option):
            return option
    return None


def _is_number(kind: Any) -> bool:
    options = (kind, *getattr(kind, "__args__", ()))
    return any(option in (int, float) for option in options) and not any(
        option in (bool, date, datetime, str) for option in options
    )

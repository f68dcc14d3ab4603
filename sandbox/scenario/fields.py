"""Checking the values of a scenario file, one key at a time, strictly.

Each checker takes the raw value (from TOML or JSON) and returns it normalised, or raises
``Invalid`` with the problem in words; the parser adds the file and the place. A table is
checked against a schema (key → checker) so an unknown or missing key is caught the same way
everywhere, and the error can list the keys that are allowed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.objects.catalog import MINOR_UNITS
from sandbox.objects.clock import day_start

Checker = Callable[[Any], Any]
Schema = Mapping[str, Checker]


class Invalid(ValueError):
    """A value is wrong; the message says how (the caller knows where)."""


def table(value: Any, schema: Schema, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A table with only ``schema``'s keys, ``required`` ones present, each value checked."""
    if not isinstance(value, dict):
        raise Invalid(f"expected a table, got {_shown(value)}")
    unknown = sorted(set(value) - set(schema))
    if unknown:
        raise Invalid(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(schema))})")
    missing = [key for key in required if key not in value]
    if missing:
        raise Invalid(f"missing key {missing[0]!r}")
    checked = {}
    for key, raw in value.items():
        try:
            checked[key] = schema[key](raw)
        except Invalid as error:
            raise Invalid(f"{key}: {error}") from None
    return checked


def text(value: Any) -> str:
    """A non-empty string without NUL (Stripe refuses a request holding one)."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"expected a non-empty string, got {_shown(value)}")
    if "\x00" in value:
        raise Invalid("contains a NUL character (U+0000), which Stripe refuses")
    return value


# Stripe's metadata limits (docs.stripe.com/metadata): 50 keys, names up to 40 characters
# without square brackets, values up to 500 characters, all strings.
METADATA_KEYS, METADATA_KEY_LENGTH, METADATA_VALUE_LENGTH = 50, 40, 500
RESERVED_METADATA = "scenario_name"  # the sandbox's own key on every scripted object


def metadata(value: Any) -> dict[str, str]:
    """A ``metadata`` table: string keys and values within Stripe's limits; the sandbox's own
    ``scenario_name`` key counts towards the 50 and cannot be given."""
    if not isinstance(value, dict):
        raise Invalid(f"expected a table of strings, got {_shown(value)}")
    if len(value) > METADATA_KEYS - 1:
        raise Invalid(f"has {len(value)} keys; Stripe allows {METADATA_KEYS}, one of them "
                      f"{RESERVED_METADATA!r} (so at most {METADATA_KEYS - 1} here)")  # fmt: skip
    for key, entry in value.items():
        if key == RESERVED_METADATA:
            raise Invalid(f"key {key!r} is the sandbox's own (the object's name in the file)")
        if not key or len(key) > METADATA_KEY_LENGTH or "[" in key or "]" in key:
            raise Invalid(f"key {_shown(key)}: Stripe takes 1 to {METADATA_KEY_LENGTH} "
                          "characters without square brackets")  # fmt: skip
        if not isinstance(entry, str):
            raise Invalid(f"{key}: expected a string, got {_shown(entry)}")
        if len(entry) > METADATA_VALUE_LENGTH:
            raise Invalid(f"{key}: {len(entry)} characters; Stripe allows "
                          f"{METADATA_VALUE_LENGTH}")  # fmt: skip
        if "\x00" in key + entry:
            raise Invalid(f"{key}: contains a NUL character (U+0000), which Stripe refuses")
    return dict(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {_shown(value)}")
    return value


def integer(minimum: int) -> Checker:
    """An integer no smaller than ``minimum`` (booleans are not integers here)."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"expected an integer, got {_shown(value)}")
        if value < minimum:
            raise Invalid(f"expected an integer ≥ {minimum}, got {value}")
        return value

    return check


def percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
        raise Invalid(f"expected a number in (0, 100], got {_shown(value)}")
    return float(value)


def choice(*options: str) -> Checker:
    def check(value: Any) -> str:
        if value not in options:
            raise Invalid(f"expected one of {', '.join(options)}, got {_shown(value)}")
        return str(value)

    return check


def currency(value: Any) -> str:
    if value not in MINOR_UNITS:
        known = ", ".join(sorted(MINOR_UNITS))
        raise Invalid(f"unknown currency {_shown(value)} (known: {known})")
    return str(value)


def listed(check: Checker, *, at_least: int = 1) -> Checker:
    def check_list(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list) or len(value) < at_least:
            raise Invalid(f"expected a list of at least {at_least}, got {_shown(value)}")
        checked = []
        for position, entry in enumerate(value):
            try:
                checked.append(check(entry))
            except Invalid as error:
                raise Invalid(f"[{position}]: {error}") from None
        return tuple(checked)

    return check_list


def day(value: Any) -> dt.date:
    """A calendar date: a TOML date or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise Invalid(f"expected a date YYYY-MM-DD, got {_shown(value)}")


def time_of_day(value: Any) -> int:
    """``HH:MM`` or ``HH:MM:SS`` (UTC) as seconds after midnight."""
    try:
        moment = dt.time.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        moment = None
    if not isinstance(moment, dt.time) or moment.tzinfo is not None:
        raise Invalid(f"expected a UTC time of day HH:MM[:SS], got {_shown(value)}")
    return moment.hour * 3_600 + moment.minute * 60 + moment.second


def moment(default_time: int) -> Checker:
    """A date (at ``default_time``) or a date and time (UTC unless it says otherwise)."""

    def check(value: Any) -> int:
        if isinstance(value, str) and len(value) > 10:
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                raise Invalid(f"expected a date or an ISO date-time, got {value!r}") from None
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
            return int(aware.timestamp())
        return day_start(day(value)) + default_time

    return check


def _shown(value: Any) -> str:
    """A value as an error message quotes it (its repr, cut short)."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."

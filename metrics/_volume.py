"""Rates of money volumes that may span currencies (refund rate, failure and recovery rates).

A volume rate is a ratio of two sums of money. Within one currency it is a plain ratio of minor
units; across currencies both sums are first converted to the reporting currency with the user's
rates table, because adding dollars and yen as numbers would weigh a ¥1,000 payment like a
$1,000 one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from metrics.fx import FxError, convert_total
from metrics.money import minor_to_major


def volume_ratio(
    numerator_minor: Mapping[str, int],
    denominator_minor: Mapping[str, int],
    *,
    on: date,
    rates: pd.DataFrame | None = None,
    reporting_currency: str | None = None,
) -> float | None:
    """Σ numerator ÷ Σ denominator; None when the denominator is 0 in every currency.

    Raises FxError when the amounts span several currencies and no reporting currency was
    given, and MissingRateError (an FxError) when a rate is missing on or before `on`.
    """
    used = sorted(
        {c for c, v in numerator_minor.items() if v}
        | {c for c, v in denominator_minor.items() if v}
    )
    if not any(denominator_minor.values()):
        return None
    if len(used) == 1:
        return numerator_minor.get(used[0], 0) / denominator_minor[used[0]]
    if reporting_currency is None:
        raise FxError(
            f"a rate over amounts in {', '.join(c.upper() for c in used)} needs a reporting "
            "currency and a rates table to convert them"
        )
    top = convert_total(_major(numerator_minor), reporting_currency, rates, on)
    bottom = convert_total(_major(denominator_minor), reporting_currency, rates, on)
    return top / bottom if bottom else None


def _major(amounts: Mapping[str, int]) -> dict[str, float]:
    return {currency: minor_to_major(amount, currency) for currency, amount in amounts.items()}

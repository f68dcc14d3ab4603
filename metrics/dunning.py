"""Failure and recovery of subscription payments (SPEC §5, beside involuntary churn).

failure rate = subscription invoice volume whose first attempt failed ÷ all subscription invoice
volume attempted; recovery rate = failed volume later paid ÷ failed volume. Computed from the
invoices (`attempt_count`, `status`, `status_transitions.paid_at`): charges reach their invoice
only through PaymentIntents, which the sync does not store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from metrics._sql import run_layers, run_sql
from metrics._volume import volume_ratio


@dataclass(frozen=True)
class RecoveryRates:
    """Volumes per currency (minor units) and the two rates (0..1, None without a base)."""

    attempted_minor: dict[str, int]
    failed_minor: dict[str, int]
    recovered_minor: dict[str, int]
    failure_rate: float | None
    recovery_rate: float | None


def subscription_payment_invoices(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date
) -> pd.DataFrame:
    """Subscription invoices first attempted in the days (`since`, `as_of`] (the drill-down).

    Columns: `invoice`, `subscription`, `customer`, `created`, `billing_reason`, `currency`,
    `amount_minor` (amount due), `attempt_count`, `status`, `paid_at`, `failed_first`,
    `recovered` (paid by the end of `as_of` after a failed first attempt). Invoices with nothing
    due and the first invoice after a trial are left out.
    """
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    frame = run_sql(con, "subscription_payment_invoices.sql", {"since": since, "as_of": as_of})
    return frame.astype(
        {
            "amount_minor": "int64",
            "attempt_count": "int64",
            "failed_first": "bool",
            "recovered": "bool",
        }
    )


def subscription_payment_recovery(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date
) -> pd.DataFrame:
    """Per currency over (`since`, `as_of`]: `invoices`, `attempted_minor`, `failed`,
    `failed_minor`, `recovered`, `recovered_minor`, `failure_rate` and `recovery_rate`
    (volume-based, NaN without a base)."""
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    frame = run_layers(
        con,
        ["subscription_payment_invoices.sql", "subscription_payment_recovery.sql"],
        {"since": since, "as_of": as_of},
    )
    frame["failure_rate"] = frame["failed_minor"] / frame["attempted_minor"]
    frame["recovery_rate"] = frame["recovered_minor"] / frame["failed_minor"].where(
        frame["failed_minor"] > 0
    )
    counts = ["invoices", "attempted_minor", "failed", "failed_minor"]
    counts += ["recovered", "recovered_minor"]
    return frame.astype({**dict.fromkeys(counts, "int64"), "recovery_rate": "float64"})


def recovery_rates(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    rates: pd.DataFrame | None = None,
    reporting_currency: str | None = None,
) -> RecoveryRates:
    """Failure and recovery rates over (`since`, `as_of`] across currencies (volumes converted
    with `rates` at `as_of` when there are several; none needed for one)."""
    frame = subscription_payment_recovery(con, since, as_of)
    volumes = {
        column: {str(c): int(v) for c, v in zip(frame["currency"], frame[column], strict=True)}
        for column in ("attempted_minor", "failed_minor", "recovered_minor")
    }
    attempted, failed = volumes["attempted_minor"], volumes["failed_minor"]
    recovered = volumes["recovered_minor"]

    def ratio(top: dict[str, int], bottom: dict[str, int]) -> float | None:
        return volume_ratio(
            top, bottom, on=as_of, rates=rates, reporting_currency=reporting_currency
        )

    return RecoveryRates(
        attempted_minor=attempted,
        failed_minor=failed,
        recovered_minor=recovered,
        failure_rate=ratio(failed, attempted),
        recovery_rate=ratio(recovered, failed),
    )

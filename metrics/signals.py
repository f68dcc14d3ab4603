"""The metrics the alert engine reads after every sync (SPEC §7), over windows of time.

Alerts evaluate at the account's clock, to the minute, so every signal takes aware UTC
datetimes and a `timedelta` window (end − window, end] instead of the report's days; every
query is parameterised by its bounds (`metrics/sql/signal_*.sql`) and reads no clock. Results
are frozen dataclasses with aware UTC times. Definitions match the report's (`metrics.payments`
raw, `metrics.webhooks`, `metrics.disputes`) so an alert and the dashboard agree.

One import for the alert engine; the code lives in `signals_payments` (success windows,
baselines, trends, Wilson), `signals_driver` (the decline driver) and `signals_health`
(webhooks, disputes, endpoints, the sync).
"""

from __future__ import annotations

from metrics.signals_driver import Driver, decline_driver, describe, shift_share
from metrics.signals_health import (
    DeliveryWindow,
    DisputeSignal,
    EndpointSignal,
    SyncHealth,
    disabled_endpoints_at,
    disputes_due,
    new_disputes,
    sync_health,
    webhook_delivery_window,
)
from metrics.signals_payments import (
    RateWindow,
    TrendPoint,
    success_baseline,
    success_trend,
    success_window,
    wilson_interval,
)

__all__ = [
    "DeliveryWindow",
    "DisputeSignal",
    "Driver",
    "EndpointSignal",
    "RateWindow",
    "SyncHealth",
    "TrendPoint",
    "decline_driver",
    "describe",
    "disabled_endpoints_at",
    "disputes_due",
    "new_disputes",
    "shift_share",
    "success_baseline",
    "success_trend",
    "success_window",
    "sync_health",
    "webhook_delivery_window",
    "wilson_interval",
]

"""Payments (ops): success over time against its baseline, what declined and the money it cost,
failed subscription payments and dunning, and refunds.

The figures are `metrics.payments_views`' (attempts as `metrics.payments` counts them, so the
page and `paylens report` agree; the baseline and the decline code are the alert engine's, so an
alert's link, `?from=…&to=…&brand=visa&country=BR&decline=do_not_honor`, opens the page on
what it counted). This page only formats them. Card filters apply to attempts; invoices and
refunds carry no card, so only the range and the currency apply to them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from alerts.store import history
from app import formats as fmt
from app import ui
from app.alerting import alert_rules
from app.filters import Filters, sidebar
from app.report import fx_rates
from metrics import payments_views as pv
from metrics.payments import CRITICAL_BELOW, HEALTHY_AT, payment_health

GRAINS = {"day": "Day", "week": "ISO week"}
WEEKLY_AFTER_DAYS = 92  # longer ranges default to weeks
DIMENSION_LABELS = {
    "decline": "Decline code",
    "failure_code": "Failure code",
    "outcome_type": "Outcome type",
    "outcome_reason": "Outcome reason",
    "network_decline_code": "Network code",
    "card_brand": "Brand",
    "card_country": "Country",
    "card_funding": "Funding",
    "amount_band": "Amount band",
}
# The chart's lines: (column, of the per-PaymentIntent series?, name, Scatter options); the
# baseline's interval is the band between its first two.
LINES: tuple[tuple[str, bool, str | None, dict[str, Any]], ...] = (
    ("baseline_high", False, None, {"line": {"width": 0}, "showlegend": False}),
    (
        "baseline_low",
        False,
        "Baseline (95% interval)",
        {"line": {"width": 0}, "fill": "tonexty", "fillcolor": "rgba(100, 149, 237, 0.2)"},
    ),
    ("baseline_rate", False, "Baseline", {"line": {"dash": "dash", "color": "cornflowerblue"}}),
    ("success_rate", False, "Raw", {"mode": "lines+markers", "line": {"color": "black"}}),
    (
        "success_rate",
        True,
        "Per PaymentIntent",
        {"mode": "lines+markers", "line": {"color": "seagreen"}},
    ),
)
OUTCOMES = {"recovered": "recovered", "lost": "lost", "in_retry": "in retry"}


def _volume(volume: pv.Volume) -> str:
    return fmt.converted_or_each(volume.converted, volume.minor, volume.currency)


def _grain(wanted: str | None, filters: Filters) -> str:
    """The grain radio, bound to `?grain=` (left out when it is the range's default)."""
    default = "week" if filters.days > WEEKLY_AFTER_DAYS else "day"
    options = list(GRAINS)
    index = options.index(wanted if wanted in GRAINS else default)
    grain = st.sidebar.radio(
        "Grain", options, index=index, format_func=GRAINS.__getitem__, key="payments_grain"
    )
    if grain != default:
        st.query_params["grain"] = grain
    elif "grain" in st.query_params:
        del st.query_params["grain"]
    return str(grain)


def _period(row: Mapping[Hashable, Any], grain: str) -> str:
    if grain == "day":
        return str(row["period"])
    year, week, _ = row["period"].isocalendar()
    return f"{year}-W{week:02d} ({row['first_day']:%m-%d} – {row['last_day']:%m-%d})"


def headline(figures: pv.PaymentFigures, card: Mapping[str, str]) -> None:
    code = card.get("decline")
    first, second, third, fourth = st.columns(4)
    first.metric(
        "Success rate",
        fmt.rate(figures.success_rate),
        delta=fmt.points(figures.baseline_change, "baseline"),
        help=f"{figures.succeeded:,} of {figures.attempted:,} charges succeeded; 95% Wilson "
        f"interval {fmt.rate(figures.low)} – {fmt.rate(figures.high)}.",
    )
    second.metric(
        "Success rate per PaymentIntent",
        fmt.rate(figures.success_rate_dedup),
        help=f"{figures.succeeded_dedup:,} of {figures.attempted_dedup:,} payments went through "
        "(retries of one PaymentIntent count once, with their last outcome).",
    )
    third.metric("Charges attempted", f"{figures.attempted:,}")
    fourth.metric("Failed charges", f"{figures.failed:,}")
    first, second, third, fourth = st.columns(4)
    first.metric(
        f"Declined with {code}" if code else "Failed volume",
        _volume(figures.declined),
        help=f"{figures.declined.count:,} failed charges (a retried payment: each failed try).",
    )
    second.metric(
        "Never paid",
        _volume(figures.unrecovered),
        help=f"{figures.unrecovered.count:,} PaymentIntents whose last charge failed.",
    )
    if figures.baseline_kind == "weeks":
        basis = "The same days of the previous 4 weeks, pooled"
    else:
        basis = "The period of equal length just before the range (as on the Overview)"
    counted = (
        "" if figures.baseline_attempted is None else f" ({figures.baseline_attempted:,} charges)"
    )
    third.metric("Baseline", fmt.rate(figures.baseline_rate), help=f"{basis}{counted}.")
    health = payment_health(figures.success_rate)
    fourth.metric(
        "Health",
        health or "no data",
        help=f"healthy ≥ {HEALTHY_AT:.0%}, warning {CRITICAL_BELOW:.0%}–{HEALTHY_AT:.0%}, "
        f"critical < {CRITICAL_BELOW:.0%}",
    )
    if figures.below_baseline:
        st.error(
            f"Success is significantly below its baseline: the 95% interval's upper bound "
            f"{fmt.rate(figures.high)} is under {fmt.rate(figures.baseline_rate)}."
        )


def _alert_marks(con: Any, settings: Any, filters: Filters) -> list[tuple[datetime, str]]:
    """(time, "fired"/"resolved") of the payment-success alerts inside the range."""
    try:
        names = {rule.name for rule in alert_rules(settings) if rule.metric == "payment_success"}
        rows = history(con, limit=500)
    except Exception:  # a snapshot from before the first alert cycle, or a bad rules file
        return []
    start = datetime.combine(filters.since + timedelta(days=1), datetime.min.time())
    end = datetime.combine(filters.as_of + timedelta(days=1), datetime.min.time())
    return [
        (row.at.replace(tzinfo=None), row.kind)
        for row in rows
        if row.rule in names
        and row.kind in ("firing", "resolved")
        and start <= row.at.replace(tzinfo=None) < end
    ]


def over_time(raw: pd.DataFrame, dedup: pd.DataFrame, grain: str, marks: Sequence[Any]) -> None:
    st.subheader("Success rate over time")
    if int(raw["attempted"].sum()) == 0:
        st.info("No payment attempts in this range (for these filters).")
        return
    figure = go.Figure()
    for column, per_intent, name, style in LINES:
        frame = dedup if per_intent else raw
        figure.add_trace(
            go.Scatter(
                x=list(frame["period"]),
                y=frame[column],
                name=name,
                connectgaps=True,
                **{"mode": "lines", **style},
            )
        )
    below = raw[raw["below_baseline"]]
    figure.add_trace(
        go.Scatter(
            x=list(below["period"]),
            y=below["success_rate"],
            mode="markers",
            name="Below baseline",
            marker={"color": "red", "size": 11},
        )
    )
    figure.add_hline(y=HEALTHY_AT, line_dash="dot", line_color="orange")
    figure.add_hline(y=CRITICAL_BELOW, line_dash="dot", line_color="red")
    for at, kind in marks:
        figure.add_vline(x=at, line_dash="dot", line_color="red" if kind == "firing" else "green")
    figure.update_layout(
        xaxis_title="UTC day" if grain == "day" else "ISO week (Monday)",
        yaxis_title="Success rate",
        yaxis_tickformat=".0%",
    )
    st.plotly_chart(figure, width="stretch")
    st.caption(
        "Baseline: the same days of the previous 4 weeks, pooled, with its 95% Wilson interval; "
        "red: a period whose own interval lies wholly below the baseline (the alert's test). "
        "Dotted lines: 95% and 90%"
        + (", and payment-success alerts firing (red) and resolved (green)." if marks else ".")
    )
    rows = raw.to_dict("records")
    table = pd.DataFrame(
        {
            "Period": [_period(row, grain) for row in rows],
            "Days": raw["days"],
            "Attempts": raw["attempted"],
            "Succeeded": raw["succeeded"],
            "Success rate": raw["success_rate"].map(fmt.rate),
            "95% interval": [
                f"{fmt.rate(r['low'])} – {fmt.rate(r['high'])}" if r["attempted"] else ""
                for r in rows
            ],
            "Per PaymentIntent": dedup["success_rate"].map(fmt.rate),
            "PaymentIntents": dedup["attempted"],
            "Baseline": raw["baseline_rate"].map(fmt.rate),
            "Baseline attempts": raw["baseline_attempted"],
            "Below baseline": raw["below_baseline"].map({True: "yes", False: ""}),
        }
    )
    fmt.show(table)
    fmt.download(table, "success_over_time")


def declines(breakdown: pd.DataFrame, attempts: pd.DataFrame, currency: str) -> None:
    st.subheader("Declines")
    if breakdown.empty:
        st.success("No declines in this range (for these filters).")
        return
    st.caption(
        f"Failed charges in the range, each dimension sorted by lost volume (the failed amount, in "
        f"{currency.upper()}); a retried payment counts once per failed try."
    )
    # One dimension at a time, bound to ?declines_by= (the tab's label): only the open tab is
    # built and sent, so the page draws one chart here rather than nine.
    tabs = st.tabs(list(DIMENSION_LABELS.values()), key="declines_by", bind="query-params")
    for tab, (dimension, label) in zip(tabs, DIMENSION_LABELS.items(), strict=True):
        rows = breakdown[breakdown["dimension"] == dimension]
        with tab:
            if not tab.open:
                continue
            if rows.empty:
                st.info(f"No declines with a {label.lower()} in this range.")
                continue
            values = [
                f"{value or 'none'} ({code.upper()})" if code else str(value or "none")
                for value, code in zip(rows["value"], rows["currency"], strict=True)
            ]
            lost = [
                fmt.converted_or_each(value, amounts, currency)
                for value, amounts in zip(rows["lost"], rows["lost_minor"], strict=True)
            ]
            table = pd.DataFrame(
                {
                    label: values,
                    "Declines": rows["declined"].to_numpy(),
                    "Share of declines": rows["failure_share"].map(fmt.rate).to_numpy(),
                    "Lost volume": lost,
                    "Attempts": rows["attempted"].to_numpy(),
                    "Success rate": rows["success_rate"].map(fmt.rate).to_numpy(),
                }
            )
            fmt.show(table)
            fmt.download(table, f"declines_by_{dimension}")
            convertible = bool(rows["lost"].notna().all())
            chart = pd.DataFrame({label: values, "y": rows["lost" if convertible else "declined"]})
            figure = px.bar(chart, x=label, y="y", text=lost if convertible else None)
            figure.update_layout(
                yaxis_title=f"Lost volume ({currency.upper()})" if convertible else "Declines"
            )
            st.plotly_chart(figure, width="stretch", key=f"chart-{dimension}")
    with st.expander(f"Declined charges ({len(attempts):,})"):
        table = pd.DataFrame(
            {
                "Created (UTC)": attempts["created"].map(fmt.time),
                "Charge": attempts["charge"],
                "Customer": attempts["customer"].fillna(""),
                "Customer name": attempts["customer_name"].fillna(""),
                "Amount": fmt.minor_column(attempts, "amount"),
                "Brand": attempts["card_brand"].fillna(""),
                "Country": attempts["card_country"].fillna(""),
                "Funding": attempts["card_funding"].fillna(""),
                "Decline code": attempts["decline"],
                "Failure code": attempts["failure_code"].fillna(""),
                "Outcome type": attempts["outcome_type"].fillna(""),
            }
        )
        fmt.show(table)
        fmt.download(table, "declined_charges")


def dunning(
    figures: pv.DunningFigures, failed: pd.DataFrame, retrying: pd.DataFrame, as_of: date
) -> None:
    st.subheader("Failed subscription payments and dunning")
    first, second, third, fourth = st.columns(4)
    first.metric(
        "Failure rate",
        fmt.rate(figures.failure_rate),
        help="Subscription volume whose first attempt failed (first invoice after a "
        "trial left out).",
    )
    second.metric(
        "Recovery rate", fmt.rate(figures.recovery_rate), help="Failed volume paid later."
    )
    third.metric(
        "Recovered",
        _volume(figures.recovered),
        help=f"{figures.recovered.count:,} invoices paid after a failed first attempt.",
    )
    fourth.metric(
        "Lost",
        _volume(figures.lost),
        help=f"{figures.lost.count:,} invoices uncollectible, voided or out of retries.",
    )
    first, second, third, _ = st.columns(4)
    first.metric(
        "Failed first", _volume(figures.failed), help=f"{figures.failed.count:,} invoices."
    )
    second.metric(
        "Still in retry",
        _volume(figures.in_retry),
        help=f"{figures.in_retry.count:,} of the range's failed invoices.",
    )
    third.metric(
        "Revenue at risk",
        _volume(figures.at_risk),
        help=f"Due on the {figures.at_risk.count:,} invoices in retry at the last sync.",
    )
    st.markdown("**Invoices in retry at the last sync**")
    if retrying.empty:
        st.success("No invoice is in retry.")
    else:
        table = pd.DataFrame(
            {
                "Next attempt (UTC)": retrying["next_payment_attempt"].map(fmt.time),
                "Invoice": retrying["invoice"],
                "Customer": retrying["customer"].fillna(""),
                "Customer name": retrying["customer_name"].fillna(""),
                "Amount due": fmt.minor_column(retrying, "amount_minor"),
                "Attempts so far": retrying["attempt_count"],
                "Subscription status": retrying["subscription_status"].fillna(""),
                "Created (UTC)": retrying["created"].map(fmt.time),
            }
        )
        fmt.show(table)
        fmt.download(table, "invoices_in_retry")
        st.caption(
            f"Open invoices created by {as_of} with a next attempt scheduled, as the last sync "
            "saw them (Stripe keeps an invoice's latest state only)."
        )
    st.markdown("**Subscription payments that failed first in this range**")
    if failed.empty:
        st.success("No subscription payment failed on its first attempt in this range.")
    else:
        table = pd.DataFrame(
            {
                "Created (UTC)": failed["created"].map(fmt.time),
                "Invoice": failed["invoice"],
                "Customer": failed["customer"].fillna(""),
                "Customer name": failed["customer_name"].fillna(""),
                "Amount": fmt.minor_column(failed, "amount_minor"),
                "Attempts": failed["attempt_count"],
                "Outcome": failed["outcome"].map(OUTCOMES),
                "Paid at (UTC)": failed["paid_at"].map(fmt.time),
                "Next attempt (UTC)": failed["next_payment_attempt"].map(fmt.time),
            }
        )
        fmt.show(table)
        fmt.download(table, "failed_subscription_payments")
        volumes = {"recovered": figures.recovered, "lost": figures.lost}
        volumes["in retry"] = figures.in_retry
        if all(volume.converted is not None for volume in volumes.values()):
            chart = pd.DataFrame(
                {"Outcome": list(volumes), "Amount": [v.converted for v in volumes.values()]}
            )
            figure = px.bar(
                chart, x="Outcome", y="Amount", text=[_volume(v) for v in volumes.values()]
            )
            figure.update_layout(yaxis_title=f"Amount ({figures.failed.currency.upper()})")
            st.plotly_chart(figure, width="stretch", key="chart-dunning")
    st.info(
        "Cards expiring next month: not available. The warehouse does not store card expiry "
        "dates (the sync keeps a charge's brand, country and funding, not exp_month/exp_year), "
        "so paylens does not guess which cards will expire."
    )


def refunds(figures: pv.RefundFigures, reasons: pd.DataFrame) -> None:
    st.subheader("Refunds")
    first, second, third = st.columns(3)
    first.metric(
        "Refunded",
        _volume(figures.refunded),
        help=f"Of {_volume(figures.charged)} charged in the range.",
    )
    second.metric("Refund rate", fmt.rate(figures.rate), help="Refunded ÷ succeeded charge volume.")
    third.metric("Refunds", f"{figures.refunded.count:,}")
    if reasons.empty:
        st.info("No refunds in this range.")
        return
    currency = figures.refunded.currency
    table = pd.DataFrame(
        {
            "Reason": reasons["reason"].fillna("no reason given"),
            "Currency": reasons["currency"].str.upper(),
            "Refunds": reasons["refunds"],
            "Amount": fmt.minor_column(reasons, "refunded_minor"),
            f"Amount ({currency.upper()})": [
                fmt.converted_or_each(v, {str(c): int(a)}, currency)
                for v, a, c in zip(
                    reasons["refunded"], reasons["refunded_minor"], reasons["currency"], strict=True
                )
            ],
        }
    )
    fmt.show(table)
    fmt.download(table, "refund_reasons")
    if reasons["refunded"].notna().all():
        figure = px.bar(
            table.assign(value=reasons["refunded"]), x="Reason", y="value", color="Currency"
        )
        figure.update_layout(yaxis_title=f"Refunded ({currency.upper()})")
        st.plotly_chart(figure, width="stretch", key="chart-refunds")


def _fx_warning(volumes: Sequence[pv.Volume], rates_missing: bool, settings: Any) -> None:
    problems = sorted({volume.problem for volume in volumes if volume.problem})
    if not problems:
        return
    hint = (
        f" No rates file: put a CSV with columns date,currency,rate at "
        f"{settings.data_dir / 'fx_rates.csv'} or set PAYLENS_FX_RATES_FILE."
        if rates_missing
        else ""
    )
    st.warning(
        "Amounts are shown per currency where a rate is missing: "
        + "; ".join(problems)
        + "."
        + hint
    )


st.title("Payments")
with ui.snapshot() as (con, snapshot_name):
    settings = ui.settings()
    wanted = st.query_params.get("grain")  # read first: the sidebar rewrites the parameters
    currencies = ui.call(snapshot_name, pv.payment_view_currencies, con)
    options = ui.call(snapshot_name, pv.payment_card_options, con)
    filters = sidebar(
        con,
        reporting_currency=settings.reporting_currency,
        currencies=currencies,
        card_options=options,
    )
    grain = _grain(wanted, filters)
    loaded = fx_rates(settings)
    rates = loaded if isinstance(loaded, pd.DataFrame) else None
    card = dict(filters.card)
    window = (filters.since, filters.as_of)
    money: dict[str, Any] = {"reporting_currency": settings.reporting_currency, "rates": rates}
    money["currency"] = filters.currency
    shown_in = filters.currency or settings.reporting_currency
    figures = ui.call(snapshot_name, pv.payment_figures, con, *window, card=card, **money)
    raw = ui.call(
        snapshot_name,
        pv.success_series,
        con,
        *window,
        grain=grain,
        currency=filters.currency,
        card=card,
    )
    dedup = ui.call(
        snapshot_name,
        pv.success_series,
        con,
        *window,
        grain=grain,
        dedup=True,
        currency=filters.currency,
        card=card,
    )
    breakdown = ui.call(snapshot_name, pv.decline_breakdown, con, *window, card=card, **money)
    attempts = ui.call(
        snapshot_name, pv.declined_attempts, con, *window, currency=filters.currency, card=card
    )
    dunning_now = ui.call(snapshot_name, pv.dunning_figures, con, *window, **money)
    failed = ui.call(snapshot_name, pv.failed_subscription_payments, con, *window, filters.currency)
    retrying = ui.call(snapshot_name, pv.retrying_invoices, con, filters.as_of, filters.currency)
    refunded = ui.call(snapshot_name, pv.refund_figures, con, *window, **money)
    reasons = ui.call(snapshot_name, pv.refund_reasons, con, *window, **money)
    marks = _alert_marks(con, settings, filters)

    scope = (
        f"{filters.currency.upper()} only"
        if filters.currency
        else f"all currencies, in {shown_in.upper()}"
    )
    segment = " · ".join(f"{name} {ui.plain(value)}" for name, value in card.items())
    st.caption(
        f"Charges created {filters.since + timedelta(days=1)} – {filters.as_of} (UTC days); {scope}"
        + (f"; cards: {segment} (dunning and refunds carry no card: not filtered)" if card else "")
    )
    _fx_warning(
        [
            figures.declined,
            figures.unrecovered,
            dunning_now.failed,
            dunning_now.at_risk,
            refunded.refunded,
            refunded.charged,
        ],
        loaded is None,
        settings,
    )
    headline(figures, card)
    over_time(raw, dedup, grain, marks)
    declines(breakdown, attempts, shown_in)
    dunning(dunning_now, failed, retrying, filters.as_of)
    refunds(refunded, reasons)
    ui.freshness(con, snapshot_name)
ui.watch(snapshot_name)

"""Overview: is everything all right? One screen over the sidebar's range, each figure a link to
its page: MRR and its change, net new MRR, payment success against its baseline, firing alerts,
disputes due soon, webhook delivery, the sync's freshness and API reads this month.

The figures are `paylens report`'s for the same (since, as_of] (the same `Summary`), in the
reporting currency; the default range is the report's 30 days, ending on the account's day.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd
import plotly.express as px
import streamlit as st

from alerts.store import AlertState, load_states
from app import filters, ui
from app import formats as fmt
from app.alerting import integration_setup
from app.report import summary_for, warning_texts
from metrics.integration import PASSING, integration_report
from metrics.money import format_money
from metrics.overview_views import mrr_change, net_new_mrr, reads_in_month, success_against_baseline
from metrics.payments import payment_health, payment_success_daily
from sync import MONTHLY_READ_FLOOR, latest_runs


def _points(change: float) -> str:
    """A change of rate in percentage points: "+1.25 pp vs before"."""
    return f"{change:+.2%}".replace("%", " pp") + " vs before"


def _alert_states(con: duckdb.DuckDBPyConnection) -> list[AlertState]:
    """The alert states in the snapshot (none before the first alert cycle)."""
    try:
        return list(load_states(con).values())
    except Exception:  # a snapshot from before the first alert cycle has no alert tables
        return []


st.title("Overview")
with ui.snapshot() as (con, snapshot_name):
    settings = ui.settings()
    currency = settings.reporting_currency
    chosen = filters.sidebar(con, reporting_currency=currency)
    since, as_of = chosen.since, chosen.as_of
    summary = ui.call(ui.fresh(snapshot_name), summary_for, con, settings, as_of, since)
    success = ui.call(snapshot_name, success_against_baseline, con, since, as_of)
    daily = ui.call(snapshot_name, payment_success_daily, con, since + timedelta(days=1), as_of)
    states = _alert_states(con)
    today = filters.account_day(con)
    reads = ui.call(ui.fresh(snapshot_name), reads_in_month, con, today)
    runs = latest_runs(con, limit=1)
    age = ui.data_age(con)
    link = filters.link_query()

    st.caption(
        f"{since + timedelta(days=1):%Y-%m-%d} – {as_of:%Y-%m-%d} (UTC days; state at the end "
        f"of {as_of:%Y-%m-%d}), amounts in {currency.upper()}, as `paylens report --since "
        f"{since} --as-of {as_of}` shows them."
    )
    for warning in warning_texts(summary, settings):
        st.warning(warning)
    integration = ui.call(
        ui.fresh(snapshot_name), integration_report, con, as_of, integration_setup(settings)
    )
    if not integration.passing:
        st.warning(
            f"Integration health {integration.score}/{integration.out_of}: below {PASSING}, "
            "stop and fix before adding features."
        )
        ui.page_link("integration.py", "Integration health: what to fix", link)

    moves = summary.movements
    first, second, third = st.columns(3)
    with first:
        change = mrr_change(moves)
        st.metric(
            "MRR",
            fmt.money(summary.mrr.converted, currency),
            delta=None
            if change is None
            else f"{fmt.money(change, currency, signed=True)} in range",
            help="Monthly recurring revenue at the end of the range; the change since its start.",
        )
        ui.page_link("revenue.py", "Revenue: MRR over time and movements", link)
    with second:
        st.metric(
            "Net new MRR",
            fmt.money(net_new_mrr(moves), currency, signed=True),
            help="New + reactivation + expansion − contraction − churn over the range (no FX).",
        )
        ui.page_link("revenue.py", "Revenue: the movements", link)
    with third:
        st.metric("Active subscriptions", f"{summary.active_subscriptions:,}")
        st.caption(f"{summary.active_customers:,} paying customers")

    first, second, third = st.columns(3)
    with first:
        rate = summary.payments.success_rate
        health = payment_health(rate)
        st.metric(
            "Payment success rate",
            fmt.rate(rate),
            delta=None if success.change is None else _points(success.change),
            help=f"Succeeded ÷ attempted charges; against the {chosen.days} days before the "
            f"range ({fmt.rate(success.baseline)}).",
        )
        st.caption(
            "no payments attempted in this range"
            if rate is None
            else f"{health}; the {chosen.days} days before: {fmt.rate(success.baseline)}"
        )
        ui.page_link("payments.py", "Payments: declines and dunning", link)
    with second:
        firing = [state for state in states if state.status == "firing"]
        critical = sum(state.level == "critical" for state in firing)
        st.metric("Firing alerts", f"{len(firing)}")
        st.caption(
            "nothing is firing"
            if not firing
            else f"{critical} critical, {len(firing) - critical} warning"
        )
        ui.page_link("alerts_page.py", "Alerts", link)
    with third:
        disputes = summary.payments.disputes
        st.metric("Disputes due within 72 h", f"{disputes.due_within_72h}")
        at_risk = fmt.money(summary.payments.disputes_at_risk.converted, currency)
        st.caption(f"{disputes.open} open, {at_risk} at risk; {disputes.new} new in range")
        ui.page_link("disputes.py", "Disputes: deadlines", link)

    first, second, third = st.columns(3)
    with first:
        hooks = summary.payments.webhooks
        st.metric("Webhook delivery", fmt.rate(hooks.delivery_rate))
        st.caption(
            f"{hooks.pending_events:,} events pending, {hooks.disabled_endpoints} "
            f"endpoint{'' if hooks.disabled_endpoints == 1 else 's'} disabled"
        )
        ui.page_link("health.py", "Webhooks & sync", link)
    with second:
        last = None if runs.empty else runs.iloc[0]
        st.metric("Last sync", age)
        st.caption(
            "no sync run recorded"
            if last is None
            else f"{last['status']}, {int(last['reads']):,} API reads, snapshot {snapshot_name}"
        )
        ui.page_link("health.py", "Sync runs", link)
    with third:
        st.metric(f"API reads in {today:%B %Y}", f"{reads:,}")
        st.caption(f"of Stripe's floor of {MONTHLY_READ_FLOOR:,} a month")
        ui.page_link("health.py", "Reads by month", link)

    st.subheader("MRR by currency")
    by_currency = pd.DataFrame(
        [
            {"Currency": code.upper(), "MRR": format_money(value, code)}
            for code, value in sorted(summary.mrr.by_currency.items())
        ],
        columns=["Currency", "MRR"],
    )
    if by_currency.empty:
        st.info("No paying subscriptions at the end of the range.")
    else:
        fmt.show(by_currency)
        st.download_button(
            "Download CSV",
            by_currency.to_csv(index=False),
            file_name=f"mrr_by_currency_{as_of}.csv",
            mime="text/csv",
            key="mrr_by_currency_csv",
        )

    st.subheader("Daily payment success rate")
    if rate is None:
        st.info("No payments attempted in this range.")
    else:
        figure = px.line(
            daily,
            x="day",
            y="success_rate",
            markers=True,
            labels={"day": "Day (UTC)", "success_rate": "Success rate"},
        )
        if success.baseline is not None:
            figure.add_hline(
                y=success.baseline,
                line_dash="dot",
                annotation_text=f"the {chosen.days} days before: {fmt.rate(success.baseline)}",
            )
        figure.update_yaxes(tickformat=".0%")
        st.plotly_chart(figure, width="stretch")

    ui.freshness(con, snapshot_name)
ui.watch(snapshot_name)

"""Overview: MRR, active subscriptions, payment success rate, and when the data was synced."""

from __future__ import annotations

from datetime import timedelta

import plotly.express as px
import streamlit as st

from app import ui
from app.report import SUCCESS_RATE_DAYS, summary_for, warning_texts
from metrics.money import format_money
from metrics.payments import payment_success_daily
from sync.runs import latest_runs

CHART_DAYS = 90

st.title("Overview")
with ui.snapshot() as (con, snapshot_name):
    as_of = st.sidebar.date_input("As of (end of day, UTC)", value=ui.data_date(con))
    since = as_of - timedelta(days=SUCCESS_RATE_DAYS)
    settings = ui.settings()
    summary = summary_for(con, settings, as_of, since)
    daily = payment_success_daily(con, as_of - timedelta(days=CHART_DAYS - 1), as_of)
    runs = latest_runs(con, limit=1)

currency = summary.reporting_currency
mrr = summary.mrr.converted
rate = summary.payments.success_rate
left, middle, right = st.columns(3)
left.metric("MRR", "n/a" if mrr is None else format_money(mrr, currency))
middle.metric("Active subscriptions", f"{summary.active_subscriptions:,}")
right.metric(
    f"Payment success rate ({SUCCESS_RATE_DAYS} days)", "n/a" if rate is None else f"{rate:.2%}"
)
for warning in warning_texts(summary, settings):
    st.warning(warning)

st.subheader("MRR by currency")
st.dataframe(
    [
        {"Currency": cur.upper(), "MRR": format_money(value, cur)}
        for cur, value in sorted(summary.mrr.by_currency.items())
    ],
    hide_index=True,
)

st.subheader("Daily payment success rate")
figure = px.line(
    daily,
    x="day",
    y="success_rate",
    markers=True,
    labels={"day": "Day (UTC)", "success_rate": "Success rate"},
)
figure.update_yaxes(tickformat=".0%")
st.plotly_chart(figure, width="stretch")

if runs.empty:
    st.caption(f"Snapshot {snapshot_name}; no sync run recorded.")
else:
    last = runs.iloc[0]
    st.caption(
        f"Last sync: {last['finished_at'] or last['started_at']:%Y-%m-%d %H:%M:%S} UTC "
        f"({last['status']}, {int(last['reads'])} API reads) · snapshot {snapshot_name}"
    )

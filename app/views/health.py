"""Webhooks & sync: is Stripe reaching the endpoints, and is paylens reaching Stripe?

Delivery, pending events and endpoints are `metrics.webhooks`' and `metrics.health_views'`
figures (the headline ones are `webhook_summary`'s, which `paylens report` shows); the sync's
runs, reads and quarantine are what the warehouse recorded (`sync.status` for this month's reads
against Stripe's allowance). This page only formats them. Times are UTC on the account's clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from app import formats as fmt
from app import ui
from app.filters import sidebar
from metrics.health_views import (
    age_reference,
    delivery_daily,
    pending_by_type_and_age,
    pending_event_rows,
    quarantine_rows,
    reads_by_month,
    sync_run_rows,
    webhook_endpoint_rows,
)
from metrics.signals_health import sync_health
from metrics.webhooks import CRITICAL_BELOW, HEALTHY_AT, webhook_health, webhook_summary
from sync import account_now, last_heard, sync_status

PENDING_ROWS = 500  # the pending events listed (all of them are counted and downloadable)


def _counts(text: Any) -> str:
    """A run's JSON of counts per table (or of errors per resource) as one line."""
    if text is None or pd.isna(text):
        return ""
    value = json.loads(str(text))
    if not isinstance(value, dict):
        return str(value)
    return ", ".join(
        f"{key} {item:,}" if isinstance(item, int) else f"{key}: {item}"
        for key, item in value.items()
    )


st.title("Webhooks & sync")
with ui.snapshot() as (con, snapshot_name):
    fresh = ui.fresh(snapshot_name)  # the whole page follows every sync cycle
    settings = ui.settings()
    filters = sidebar(con, reporting_currency=settings.reporting_currency)
    since, as_of = filters.since, filters.as_of
    summary = ui.call(fresh, webhook_summary, con, since, as_of)
    daily = ui.call(fresh, delivery_daily, con, since, as_of)
    groups = ui.call(fresh, pending_by_type_and_age, con, as_of)
    pending = ui.call(fresh, pending_event_rows, con, as_of)
    endpoints = ui.call(fresh, webhook_endpoint_rows, con, as_of)
    runs = ui.call(fresh, sync_run_rows, con, since, as_of)
    monthly = ui.call(fresh, reads_by_month, con, as_of)
    quarantined = ui.call(fresh, quarantine_rows, con)
    # the sync's state now: its own summary, on the account's clock (not cached: it moves)
    machine = datetime.now(UTC)
    status = sync_status(con, machine)
    health = sync_health(con, end=account_now(con, machine))
    heard = last_heard(con)
    reference = ui.call(fresh, age_reference, con, as_of)

    band = webhook_health(summary.delivery_rate)
    first, second, third, fourth = st.columns(4)
    first.metric(
        "Webhook delivery",
        fmt.rate(summary.delivery_rate),
        help=f"Events of the range more than an hour old that every endpoint acknowledged: "
        f"{summary.delivered:,} of {summary.judged:,}. Healthy ≥ {HEALTHY_AT:.1%}, critical "
        f"< {CRITICAL_BELOW:.0%}.",
    )
    oldest = fmt.time(summary.oldest_pending)
    second.metric(
        "Events pending",
        f"{summary.pending_events:,}",
        help="Events an endpoint has not acknowledged yet, of any age"
        + (f"; the oldest from {oldest} UTC." if oldest else "."),
    )
    third.metric("Endpoints disabled", f"{summary.disabled_endpoints:,}")
    fourth.metric(
        "API reads this month",
        f"{status['reads_this_month']:,} of {status['monthly_read_floor']:,}",
        help="Reads of the calendar month (UTC) against Stripe's floor of read requests a month.",
    )
    first, second, third, fourth = st.columns(4)
    first.metric("Last sync", health.last_status or "none")
    second.metric(
        "Last good sync (UTC)",
        fmt.time(health.last_ok) or "never",
        help=None if health.age is None else f"{fmt.age(health.age.total_seconds())} ago.",
    )
    third.metric("Failed syncs since", f"{health.consecutive_failures:,}")
    fourth.metric("Quarantined objects", f"{len(quarantined):,}")
    if band == "critical":
        st.error(f"Webhook delivery is critical: below {CRITICAL_BELOW:.0%}.")
    elif band == "warning":
        st.warning(f"Webhook delivery is below {HEALTHY_AT:.1%}.")
    if health.consecutive_failures and health.last_error:
        st.error(f"The last sync failed: {ui.plain(health.last_error)}")

    st.subheader("Webhook delivery over time")
    if not daily["judged"].any():
        st.info("No events old enough to judge in this range (Stripe keeps events 30 days).")
    else:
        figure = px.line(
            daily,
            x="day",
            y="delivery_rate",
            markers=True,
            labels={"day": "Day the events were created (UTC)", "delivery_rate": "Delivered"},
            hover_data=["judged", "delivered", "pending"],
        )
        figure.add_hline(y=HEALTHY_AT, line_dash="dot", annotation_text="healthy")
        figure.add_hline(y=CRITICAL_BELOW, line_dash="dash", line_color="red",
                         annotation_text="critical")  # fmt: skip
        for run in runs[runs["status"].isin(["failed", "partial"])].to_dict("records"):
            figure.add_vline(x=run["started_at"], line_color="orange", line_dash="dot")
        figure.update_yaxes(tickformat=".1%")
        st.plotly_chart(figure, width="stretch")
        st.caption(
            "Delivered: the share of the day's events, more than an hour old, that no endpoint "
            "still awaits. Orange lines: sync runs that failed or were partial."
        )
        fmt.download(daily, "webhook_delivery_daily")

    st.subheader("Events still pending")
    if pending.empty:
        st.success("No event is waiting for an endpoint.")
    else:
        by_type = pd.DataFrame(
            {
                "Type": groups["type"],
                "Age": groups["age"],
                "Events": groups["events"],
                "Oldest (UTC)": groups["oldest"].map(fmt.time),
                "Deliveries awaited": groups["deliveries_awaited"],
            }
        )
        chart = px.bar(
            groups,
            x="events",
            y="type",
            color="age",
            orientation="h",
            category_orders={"age": list(dict.fromkeys(groups.sort_values("age_order")["age"]))},
            labels={"events": "Events pending", "type": "Event type", "age": "Age"},
        )
        st.plotly_chart(chart, width="stretch")
        fmt.show(by_type)
        fmt.download(by_type, "pending_by_type_and_age")
        listed = pd.DataFrame(
            {
                "Event": pending["event"],
                "Type": pending["type"],
                "Created (UTC)": pending["created"].map(fmt.time),
                "Age": pending["age_seconds"].map(fmt.age),
                "Endpoints still to acknowledge": pending["pending_webhooks"],
            }
        )
        with st.expander(f"The {len(listed):,} pending events, oldest first"):
            st.dataframe(listed.head(PENDING_ROWS), hide_index=True)
            fmt.download(listed, "pending_events")
        st.caption(
            f"Ages at {fmt.time(reference)} UTC: the last sync (pending counts are as of its "
            "refresh), or the end of the range when that is earlier. Stripe retries a delivery "
            "for up to three days."
        )

    st.subheader("Endpoints")
    if endpoints.empty:
        st.info("No webhook endpoint is configured on the account.")
    else:
        for row in endpoints[endpoints["status"] == "disabled"].to_dict("records"):
            st.warning(
                f"Endpoint {ui.plain(str(row['endpoint']))} ({ui.plain(str(row['url'] or ''))}) "
                "is disabled: Stripe sends it nothing."
            )
        wanted = st.query_params.get("endpoint")  # the endpoint alert's link names its endpoint
        if wanted and wanted not in set(endpoints["endpoint"]):
            st.warning(f"Endpoint {ui.plain(wanted)} is not among the account's endpoints.")
        elif wanted:
            row = endpoints[endpoints["endpoint"] == wanted].to_dict("records")[0]
            events = str(row["enabled_events"] or "none")
            st.info(
                f"From the link: {ui.plain(wanted)} · {ui.plain(str(row['url'] or ''))} · "
                f"{ui.plain(str(row['status']))} · events: {ui.plain(events)}"
            )
        table = pd.DataFrame(
            {
                "Endpoint": endpoints["endpoint"],
                "URL": endpoints["url"].fillna(""),
                "Status": endpoints["status"].fillna(""),
                "Enabled events": endpoints["enabled_events"].fillna(""),
                "API version": endpoints["endpoint_version"].fillna("account default"),
                "Created (UTC)": endpoints["created"].map(fmt.time),
            }
        )
        fmt.show(table)
        fmt.download(table, "webhook_endpoints")

    st.subheader("Sync runs")
    if runs.empty:
        st.info("No sync run started in this range.")
    else:
        table = pd.DataFrame(
            {
                "Started (UTC)": runs["started_at"].map(fmt.time),
                "Kind": runs["kind"],
                "Status": runs["status"],
                "Duration": runs["duration_seconds"].map(fmt.duration),
                "Reads": runs["reads"],
                "Objects written": runs["objects_total"],
                "Per table": runs["objects"].map(_counts),
                "Errors": runs["errors"].map(_counts),
                "Error": runs["error"].fillna(""),
            }
        )
        fmt.show(table)
        fmt.download(table, "sync_runs")

    st.subheader("API reads per month")
    if monthly.empty:
        st.info("No reads recorded yet.")
    else:
        figure = px.bar(
            monthly, x="month", y="reads", labels={"month": "Month (UTC)", "reads": "Reads"}
        )
        figure.add_hline(y=status["monthly_read_floor"], line_dash="dash",
                         annotation_text="Stripe's monthly floor")  # fmt: skip
        # one tick a month, named (a single month would otherwise be ticked in milliseconds)
        figure.update_xaxes(dtick="M1", tickformat="%b %Y")
        st.plotly_chart(figure, width="stretch")
        fmt.download(monthly, "reads_by_month")

    st.subheader("Quarantined objects")
    if quarantined.empty:
        st.success("Nothing is quarantined: every object the sync read was stored.")
    else:
        table = pd.DataFrame(
            {
                "Table": quarantined["table_name"],
                "Object": quarantined["object_key"],
                "Reason": quarantined["reason"],
                "First seen (UTC)": quarantined["first_seen"].map(fmt.time),
                "Last seen (UTC)": quarantined["last_seen"].map(fmt.time),
            }
        )
        fmt.show(table)
        fmt.download(table, "quarantine")

    st.subheader("Snapshot in use")
    windows = ", ".join(f"{name} {count:,}" for name, count in status["windows_left"].items())
    cursor = status["cursor_age_seconds"]
    heard_at = fmt.time(heard) or "no sync recorded"
    st.text(
        f"Snapshot: {snapshot_name}\n"
        f"Data as of: {heard_at} UTC (Stripe's clock at the last sync)\n"
        f"Backfill: {status['backfill']}"
        + (f" (windows left: {windows})" if windows else "")
        + f"\nEvents cursor age: {'never polled' if cursor is None else fmt.age(cursor)}"
    )

    ui.freshness(con, snapshot_name)
ui.watch(snapshot_name)

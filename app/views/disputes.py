"""Disputes: what is open and at risk, the deadlines (red inside 72 hours), what the range brought
and how often disputes come and are won.

The figures are `metrics.disputes_views`' (for every currency, the headline ones are the
summary's, so the page shows what `paylens report` shows); this page only formats them. The
countdown runs from the account's clock at the last sync, so it moves with the data, not with
the moment the page is opened; every time shown is UTC on the account's clock.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from app import formats as fmt
from app import ui
from app.filters import sidebar
from app.report import summary_for, warning_texts
from metrics.disputes_views import (
    dispute_currencies,
    dispute_figures,
    open_dispute_rows,
    range_dispute_rows,
)
from metrics.money import format_money
from metrics.summary import FX_NO_RATES, FX_RATE_MISSING, FX_RATES_UNREADABLE

FX_CODES = (FX_NO_RATES, FX_RATE_MISSING, FX_RATES_UNREADABLE)
RED = "background-color: #fde2e2; color: #9b1c1c; font-weight: 600"


def _evidence(row: pd.Series) -> str:
    if row["has_evidence"]:
        return "submitted"
    return "not submitted, deadline passed" if row["past_due"] else "not submitted"


def _due_soon(row: Mapping[Hashable, Any]) -> str:
    """A dispute due within 72 hours as one line: account text escaped for markdown."""
    parts = [
        str(row["dispute"]),
        fmt.minor(int(row["amount_minor"]), str(row["currency"])),
        str(row["reason"] or "no reason"),
        "no evidence yet",
        f"customer {row['customer'] or 'unknown'} ({row['customer_name'] or 'no name'})",
        f"charge {row['charge'] or 'unknown'}",
    ]
    due = f"**Due in {fmt.countdown(row['seconds_left'])}** (by {fmt.time(row['due_by'])} UTC)"
    return " · ".join([due, *(ui.plain(part) for part in parts)])


def _summary_line(row: Mapping[Hashable, Any]) -> str:
    """One dispute as a line: id, amount, reason, status, deadline, charge and customer."""
    parts = [
        str(row["dispute"]),
        fmt.minor(int(row["amount_minor"]), str(row["currency"])),
        str(row["reason"] or "no reason"),
        str(row["status"]),
        f"evidence due by {fmt.time(row['due_by']) or 'no deadline'} UTC",
        f"charge {row['charge'] or 'unknown'}",
        f"customer {row['customer'] or 'unknown'} ({row['customer_name'] or 'no name'})",
    ]
    return " · ".join(ui.plain(part) for part in parts)


def _open_table(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Dispute": rows["dispute"],
            "Amount": fmt.minor_column(rows, "amount_minor"),
            "Reason": rows["reason"].fillna(""),
            "Evidence": [_evidence(row) for _, row in rows.iterrows()],
            "Due by (UTC)": rows["due_by"].map(fmt.time),
            "Time left": rows["seconds_left"].map(fmt.countdown),
            "Respond by (7 days)": [
                f"{fmt.time(at)} (passed)" if late else fmt.time(at)
                for at, late in zip(rows["respond_by"], rows["respond_overdue"], strict=True)
            ],
            "Status (latest)": rows["status"],
            "Charge": rows["charge"].fillna(""),
            "Customer": rows["customer"].fillna(""),
            "Customer name": rows["customer_name"].fillna(""),
            "Opened (UTC)": rows["created"].map(fmt.time),
        }
    )


def _range_table(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Opened (UTC)": rows["created"].map(fmt.time),
            "Dispute": rows["dispute"],
            "Amount": fmt.minor_column(rows, "amount_minor"),
            "Reason": rows["reason"].fillna(""),
            "Status (latest)": rows["status"],
            "Open": rows["is_open"].map({True: "open", False: "closed"}),
            "Charge": rows["charge"].fillna(""),
            "Charge date (UTC)": rows["charge_created"].map(fmt.time),
            "Customer": rows["customer"].fillna(""),
            "Customer name": rows["customer_name"].fillna(""),
        }
    )


st.title("Disputes")
with ui.snapshot() as (con, snapshot_name):
    fresh = ui.fresh(snapshot_name)  # the whole page follows every sync cycle
    settings = ui.settings()
    currencies = ui.call(fresh, dispute_currencies, con)
    filters = sidebar(con, reporting_currency=settings.reporting_currency, currencies=currencies)
    window = (filters.since, filters.as_of, filters.currency)
    figures = ui.call(fresh, dispute_figures, con, *window)
    opened = ui.call(fresh, open_dispute_rows, con, *window)
    new_rows = ui.call(fresh, range_dispute_rows, con, *window)
    summary = (
        ui.call(fresh, summary_for, con, settings, filters.as_of, filters.since)
        if filters.currency is None
        else None
    )

    # Every currency: the report's figures (the summary); one currency: that currency's.
    headline = figures if summary is None else summary.payments.disputes
    if summary is None:
        code = str(filters.currency)
        at_risk = fmt.minor(figures.amount_at_risk_minor.get(code, 0), code)
        at_risk_help = f"Open disputes in {code.upper()}."
    else:
        converted = summary.payments.disputes_at_risk.converted
        currency = summary.reporting_currency
        at_risk = "n/a" if converted is None else format_money(converted, currency)
        at_risk_help = "Open disputes, converted to the reporting currency: " + (
            ", ".join(
                fmt.minor(amount, cur)
                for cur, amount in sorted(figures.amount_at_risk_minor.items())
            )
            or "none"
        )
    reference = f"{figures.at:%Y-%m-%d %H:%M} UTC"

    first, second, third, fourth = st.columns(4)
    first.metric("Open disputes", f"{headline.open:,}")
    second.metric("Amount at risk", at_risk, help=at_risk_help)
    third.metric(
        "Due within 72 h",
        f"{figures.due_within_72h:,}",
        help=f"Needing a response and due by {figures.due_soon_until:%Y-%m-%d %H:%M} UTC "
        f"(72 hours after {reference}).",
    )
    fourth.metric("New in range", f"{headline.new:,}")
    first, second, third, fourth = st.columns(4)
    first.metric(
        "Dispute rate (by dispute date)",
        fmt.rate(headline.dispute_rate),
        help=f"Disputes opened in the range ({headline.new:,}) ÷ succeeded charges made in it "
        f"({headline.succeeded_charges:,}).",
    )
    second.metric(
        "Dispute rate (by charge date)",
        fmt.rate(figures.charge_dispute_rate),
        help=f"Disputes so far on the charges made in the range ({figures.charge_disputes:,}) "
        f"÷ those charges ({figures.succeeded_charges:,}).",
    )
    third.metric(
        "Win rate",
        fmt.rate(headline.win_rate),
        help=f"Of the range's disputes closed by its end: {headline.won:,} won, "
        f"{headline.lost:,} lost.",
    )
    fourth.metric("Deadline passed", f"{figures.past_due:,}", help="Open, no response sent.")
    if summary is not None and summary.payments.disputes_at_risk.converted is None:
        for warning, text in zip(summary.warnings, warning_texts(summary, settings), strict=True):
            if warning.code in FX_CODES:
                st.warning(text)

    wanted = st.query_params.get("dispute")  # an alert's link names its dispute
    if wanted:
        found = [row for row in opened.to_dict("records") if row["dispute"] == wanted]
        found = found or [row for row in new_rows.to_dict("records") if row["dispute"] == wanted]
        if found:
            st.info("From the link: " + _summary_line(found[0]))
        else:
            st.warning(
                f"Dispute {ui.plain(wanted)} is neither open at {reference} nor opened in this "
                "range (with these filters): widen the range to find it."
            )

    st.subheader("Open disputes")
    where = "" if filters.currency is None else f" in {filters.currency.upper()}"
    if opened.empty:
        st.success(f"No open disputes{where} at {reference}.")
    else:
        for row in opened[opened["due_within_72h"]].to_dict("records"):
            st.error(_due_soon(row))
        table = _open_table(opened)
        soon = opened["due_within_72h"].tolist()
        styled = table.style.apply(
            lambda column: [RED if flag else "" for flag in soon], subset=["Time left"]
        )
        st.dataframe(styled, hide_index=True)
        st.caption(
            f"Time left is counted from {reference}: the last sync, or the end of the range when "
            "that is earlier. Red: due within 72 hours with no evidence submitted. Respond "
            "within 7 days of opening (paylens' target, well before the bank's deadline)."
        )
        fmt.download(table, "open_disputes")
        chart = table.assign(Deadline=opened["due_by"])
        figure = px.scatter(
            chart, x="Deadline", y="Dispute", color="Evidence", hover_data=["Amount", "Reason"]
        )
        figure.add_vline(x=figures.at, line_dash="dot")
        figure.add_vline(x=figures.due_soon_until, line_dash="dash", line_color="red")
        figure.update_layout(xaxis_title="Evidence due by (UTC)", yaxis_title=None)
        st.plotly_chart(figure, width="stretch")
        st.caption(f"Dotted line: {reference}; dashed red line: 72 hours later.")

    st.subheader("Disputes opened in this range")
    if new_rows.empty:
        st.info(f"No disputes{where} in this range.")
    else:
        table = _range_table(new_rows)
        fmt.show(table)
        fmt.download(table, "disputes_in_range")

    ui.freshness(con, snapshot_name)
ui.watch(snapshot_name)

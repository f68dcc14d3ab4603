"""Revenue (finance): MRR and ARR over time, the movements and who is behind them, MRR by plan,
product and currency, churn and retention, cohorts, trials and involuntary churn.

Every figure comes from `metrics.summary` (the `Summary` that `paylens report` prints) or from
`metrics.revenue_views`, through `ui.call` (cached per snapshot); the page only formats. The
sidebar's range, currency and grain are query parameters (`?range=90d&currency=eur&grain=week`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd
import plotly.express as px
import streamlit as st

from app import charts, ui
from app import formats as fmt
from app.filters import Filters, sidebar
from app.report import churn_settings, fx_rates, summary_for, warning_texts
from metrics import revenue_views as rv
from metrics.churn import ChurnSettings
from metrics.fx import FxError
from metrics.money import minor_to_major
from metrics.movements import KINDS
from metrics.summary import Summary

GRAINS = {"day": "Day", "week": "ISO week", "month": "Month"}
MOVES = [*KINDS, "fx"]
NONE = "—"
PERSON = {"customer": "Customer", "name": "Name"}
# a subscription change's columns, for both drill-downs
CHANGE = {"day": "Day", "subscription": "Subscription", **PERSON, "kind": "Movement"}
CHANGE |= {"currency": "Currency", "items_before": "Items before", "items_after": "Items after"}
CHANGE |= {"start_mrr_minor": "MRR before", "end_mrr_minor": "MRR after", "change_minor": "Change"}
CHANGE_MONEY = dict.fromkeys(["start_mrr_minor", "end_mrr_minor", "change_minor"])


@dataclass(frozen=True)
class View:
    """What every section reads: the snapshot, the filters and the definitions."""

    con: duckdb.DuckDBPyConnection
    snapshot: str
    filters: Filters
    grain: str
    reporting: str
    rates: pd.DataFrame | None
    definition: ChurnSettings
    warned: set[str] = field(default_factory=set)  # non-empty once `fetch` has said why

    @property
    def first(self) -> date:  # flows cover (since, as_of]: their first day
        return self.filters.since + timedelta(days=1)

    @property
    def shown_in(self) -> str:
        return self.filters.currency or self.reporting

    def fetch(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A metric through the cache; None (and why) when an exchange rate is missing."""
        try:
            return ui.call(self.snapshot, func, self.con, *args, **kwargs)
        except FxError as exc:
            if not self.warned:  # once: the first missing rate says what to add
                self.warned.add(str(exc))
                hint = "Pick one currency in the sidebar to see its figures unconverted."
                st.warning(f"Converted figures are left out: {exc}. {hint}")
            return None


def _label(first: date, end: date, grain: str) -> str:
    """A period's name on the page and in its selectbox."""
    if grain == "month":
        return f"{first:%Y-%m}"
    if grain == "week":
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{first}" if grain == "day" else f"{first} – {end}"


def _labels(frame: pd.DataFrame, grain: str) -> list[str]:
    ends = zip(frame["period_start"], frame["period_end"], strict=True)
    return [_label(first, end, grain) for first, end in ends]


def _keep(key: str, options: Sequence[Any]) -> None:
    """Forget a selectbox's choice that its options no longer hold (another range or grain)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def _picked(event: Any, applied: str) -> list[Any] | None:
    """The first point of a chart selection when it is new since the last run, else None."""
    points = event.selection.points if event else []
    if not points:
        return None
    first = points[0]
    point = list(first.get("customdata") or [first.get("y"), first.get("x")])
    if point == st.session_state.get(applied):
        return None
    st.session_state[applied] = point
    return point


def headline(view: View, summary: Summary, whole: pd.DataFrame | None) -> None:
    """MRR, ARR, net new MRR, customers, ARPU, LTV: the summary's, or one currency's."""
    currency, unit = view.filters.currency, view.shown_in
    mrr, arr, customers = summary.mrr.converted, summary.arr.converted, summary.active_customers
    arpu, ltv = summary.arpu, summary.ltv
    if currency:
        args = (view.filters.as_of, view.reporting, None, currency, view.definition)
        found = view.fetch(rv.currency_mrr, *args)
        row = None if found is None or found.empty else found.iloc[0]
        mrr = None if row is None else row["mrr"]
        arr = None if row is None else minor_to_major(row["arr_minor"], currency)
        customers = 0 if row is None else int(row["active_customers"])
        arpu = None if row is None else minor_to_major(row["arpu_minor"], currency)
        ltv = None  # the churn rate it divides by counts every currency
    net_new = None if whole is None else whole["net_new"].iloc[0]
    first, second, third = st.columns(3)
    first.metric("MRR", fmt.money(mrr, unit))
    second.metric("ARR", fmt.money(arr, unit))
    third.metric(
        "Net new MRR", fmt.money(net_new, unit, signed=True), help="Over the range, FX apart"
    )
    first, second, third = st.columns(3)
    first.metric("Active customers", f"{customers:,}")
    second.metric("ARPU", fmt.money(arpu, unit))
    help_ltv = "ARPU ÷ the month's customer churn rate (every currency; n/a for one)"
    third.metric("LTV", fmt.money(ltv, unit), help=help_ltv)


def mrr_over_time(view: View) -> None:
    st.subheader("MRR and ARR over time")
    args = (view.first, view.filters.as_of, view.grain, view.reporting, view.rates)
    series = view.fetch(rv.mrr_over_time, *args, view.filters.currency, view.definition)
    if series is None:
        return
    series = series.assign(period=_labels(series, view.grain))
    chart = px.line(series, x="period_end", y="mrr", markers=True, hover_data=["period", "arr"])
    unit = view.shown_in.upper()
    st.plotly_chart(chart.update_layout(xaxis_title="As of", yaxis_title=unit), width="stretch")
    columns = {"period": "Period", "period_end": "As of", "mrr": "MRR", "arr": "ARR"}
    columns["active_subscriptions"] = "Active subscriptions"
    money = {"mrr": view.shown_in, "arr": view.shown_in}
    fmt.table(series, "mrr_over_time", columns, money)


def movements(view: View, whole: pd.DataFrame | None) -> None:
    """The range's waterfall, the movements per period (selectable) and their table."""
    st.subheader("MRR movements")
    args = (view.first, view.filters.as_of, view.grain, view.reporting, view.rates)
    table = view.fetch(rv.movement_periods, *args, view.filters.currency, view.definition)
    if table is None or whole is None:
        return
    unit = view.shown_in.upper()
    title = f"{view.first} – {view.filters.as_of}"
    start = float(whole["start_mrr"].iloc[0])
    waterfall = charts.movements_waterfall(
        start, rv.signed_movements(whole), title=title, unit=unit
    )
    st.plotly_chart(waterfall)
    labels = _labels(table, view.grain)
    bars = rv.signed_movements(table).assign(period=labels * len(MOVES))
    chart = charts.movement_bars(bars, unit=unit)
    event = st.plotly_chart(chart, on_select="rerun", selection_mode="points", key="movement_chart")
    point = _picked(event, "movement_applied")
    if point is not None and point[1] in KINDS:  # fx is a revaluation: no customer behind it
        st.session_state["drill_period"], st.session_state["drill_kind"] = point
    if (table[MOVES] == 0).all().all():
        st.info("No MRR movements in this range.")
    columns = {"period": "Period", "start_mrr": "Start MRR"}
    columns |= {kind: kind.capitalize() for kind in MOVES}
    columns |= {"net_new": "Net new", "end_mrr": "End MRR"}
    money = dict.fromkeys(list(columns)[1:], view.shown_in)
    fmt.table(table.assign(period=labels), "mrr_movements", columns, money)
    movement_drilldown(view, table, labels)


def movement_drilldown(view: View, table: pd.DataFrame, labels: list[str]) -> None:
    """The customers and subscription changes behind one period's movement of one kind."""
    st.markdown("**Behind a movement**: select a bar, or choose a period and a movement")
    left, right = st.columns(2)
    _keep("drill_period", [NONE, *labels])
    period = left.selectbox("Period", [NONE, *labels], key="drill_period")
    kind = right.selectbox("Movement", KINDS, key="drill_kind", format_func=str.capitalize)
    if period == NONE:
        return
    start, end = table.iloc[labels.index(period)][["period_start", "period_end"]]
    currency = view.filters.currency
    who = view.fetch(rv.movement_rows, start, end, "range", currency, kind, view.definition)
    if who is None or who.empty:
        st.info(f"No {kind} MRR in {period}.")
        return
    columns = {**PERSON, "email": "Email", "currency": "Currency", "amount_minor": "Amount"}
    columns |= {"start_mrr_minor": "MRR before", "end_mrr_minor": "MRR after"}
    columns |= {"first_day": "First change", "changes": "Changes"}
    money = dict.fromkeys(["amount_minor", "start_mrr_minor", "end_mrr_minor"])
    fmt.table(who, "movement_customers", columns, money)
    subs = view.fetch(rv.movement_changes, start, end, kind, currency, None, view.definition)
    if subs is not None:
        blank = subs.fillna({"items_after": "", "items_before": ""})
        fmt.table(blank, "movement_subscriptions", CHANGE, CHANGE_MONEY)


def breakdowns(view: View) -> None:
    st.subheader("MRR by plan, product and currency")
    as_of, currency, unit = view.filters.as_of, view.filters.currency, view.shown_in
    args = (as_of, view.reporting, view.rates, currency)
    # one view at a time, bound to ?mrr_by= (the tab's label): only the open one is built
    tabs = st.tabs(["By plan", "By product", "By currency"], key="mrr_by", bind="query-params")
    for tab, by in zip(tabs[:2], ("plan", "product"), strict=True):
        with tab:
            if not tab.open:
                continue
            plans = view.fetch(rv.plan_mrr, *args, view.definition, by=by)
            if plans is not None and plans.empty:
                st.info(f"No subscription is in MRR at the end of {as_of}.")
            elif plans is not None:
                name = "price_nickname" if by == "plan" else "product_name"
                chart = charts.ranked_bars(
                    plans.assign(currency=plans["currency"].str.upper()),
                    label=name,
                    value="mrr",
                    colour="currency",
                    title=f"MRR by {by}",
                    unit=unit.upper(),
                )
                st.plotly_chart(chart)
                columns = {name: by.capitalize(), "currency": "Currency"}
                columns |= {"subscriptions": "Subscriptions", "customers": "Customers"}
                columns |= {"net_mrr_minor": "MRR", "list_mrr_minor": "List MRR"}
                columns |= {"mrr": f"MRR ({unit.upper()})", "share": "Share"}
                money = {"net_mrr_minor": None, "list_mrr_minor": None, "mrr": unit}
                fmt.table(plans, f"mrr_by_{by}", columns, money, ["share"])
    with tabs[2]:
        found = view.fetch(rv.currency_mrr, *args, view.definition) if tabs[2].open else None
        if found is not None:
            columns = {"currency": "Currency", "active_customers": "Active customers"}
            columns |= {"active_subscriptions": "Active subscriptions", "net_mrr_minor": "MRR"}
            columns |= {"arr_minor": "ARR", "arpu_minor": "ARPU"}
            columns |= {"mrr": f"MRR ({unit.upper()})", "share": "Share"}
            money = {**dict.fromkeys(["net_mrr_minor", "arr_minor", "arpu_minor"]), "mrr": unit}
            fmt.table(found, "mrr_by_currency", columns, money, ["share"])


def churn(view: View, summary: Summary) -> None:
    st.subheader("Churn and retention")
    if view.filters.currency:
        st.caption(f"Rates count every currency (in {view.reporting.upper()}), not one.")
    customers, stripe = summary.customer_churn, summary.subscriber_churn
    cols = st.columns(3)
    of = f"{customers.churned_customers} of the {customers.start_customers} paying at the start"
    cols[0].metric("Customer churn", fmt.rate(customers.rate), help=of)
    ours = "Churned ÷ (paying 30 days ago + all who started paying since)"
    cols[1].metric("Subscriber churn, 30 days (paylens)", fmt.rate(stripe.rate), help=ours)
    theirs = "Churns ÷ (paying 30 days ago + new subscribers), as Stripe states it"
    name = "Subscriber churn, 30 days (Stripe's formula)"
    cols[2].metric(name, fmt.rate(stripe.stripe_rate), help=theirs)
    rates = {"gross_mrr_churn_rate": "Gross MRR churn", "net_mrr_churn_rate": "Net MRR churn"}
    rates |= {"nrr": "NRR", "grr": "GRR"}
    for col, (attribute, name) in zip(st.columns(4), rates.items(), strict=True):
        revenue = summary.revenue_churn
        col.metric(name, fmt.rate(None if revenue is None else getattr(revenue, attribute)))
    args = (view.first, view.filters.as_of, view.reporting, view.rates, view.definition)
    monthly = view.fetch(rv.churn_by_month, *args)
    if monthly is not None:
        columns = {"period_start": "From", "period_end": "To"}
        columns |= {"start_customers": "Customers at start", "churned_customers": "Churned"}
        columns |= {"customer_churn_rate": "Customer churn", "new_customers": "New"}
        columns |= {"reactivated_customers": "Reactivated", **rates}
        shares = ["customer_churn_rate", *rates]
        fmt.table(monthly, "churn_by_month", columns, rates=shares)


def cohorts(view: View) -> None:
    """Customer and revenue retention heatmaps by signup month, and a cell's customers."""
    st.subheader("Cohorts by signup month")
    as_of, currency = view.filters.as_of, view.filters.currency
    grid = view.fetch(rv.cohort_grid, as_of, view.reporting, view.rates, currency, view.definition)
    if grid is None or grid.empty:
        if grid is not None:
            st.info(f"No customer has paid yet by {as_of}.")
        return
    grid = grid.assign(month=[f"{day:%Y-%m}" for day in grid["cohort"]])
    heatmaps = {"customer_retention": "Customers still paying", "revenue_retention": "Revenue"}
    tabs = st.tabs(list(heatmaps.values()), key="cohorts_by", bind="query-params")
    for tab, (column, title) in zip(tabs, heatmaps.items(), strict=True):
        if not tab.open:  # one heatmap at a time, bound to ?cohorts_by=
            continue
        pivot = grid.pivot(index="month", columns="months_since", values=column).astype(float)
        heat = charts.retention_heatmap(
            pivot, title=title, labels=("Months since signup", "Cohort")
        )
        event = tab.plotly_chart(
            heat, on_select="rerun", selection_mode="points", key=f"heat-{column}"
        )
        point = _picked(event, f"heat-{column}-applied")
        if point is not None:
            st.session_state["drill_cohort"], st.session_state["drill_months"] = point
    st.caption(f"MRR in {view.shown_in.upper()} at {as_of}'s rates (constant currency)")
    columns = {"month": "Cohort", "months_since": "Months since signup"}
    columns |= {"customers": "Customers", "retained_customers": "Still paying"}
    columns |= {"customer_retention": "Customer retention", "base_mrr": "Base MRR"}
    columns |= {"mrr": "MRR", "revenue_retention": "Revenue retention"}
    money = {"base_mrr": view.shown_in, "mrr": view.shown_in}
    fmt.table(grid, "cohorts", columns, money, ["customer_retention", "revenue_retention"])
    months = sorted({int(month) for month in grid["months_since"]})
    cohort_drilldown(view, list(dict.fromkeys(grid["month"])), months)


def cohort_drilldown(view: View, cohort_names: list[str], months: list[int]) -> None:
    """A cohort cell's customers, and their subscriptions' changes in that month."""
    st.markdown("**Behind a cell**: select one, or choose a cohort and a month")
    left, right = st.columns(2)
    _keep("drill_cohort", [NONE, *cohort_names])
    _keep("drill_months", months)
    cohort = left.selectbox("Cohort", [NONE, *cohort_names], key="drill_cohort")
    since_signup = right.selectbox("Months since signup", months, key="drill_months")
    if cohort == NONE:
        return
    first, currency = date.fromisoformat(f"{cohort}-01"), view.filters.currency
    args = (first, int(since_signup), view.filters.as_of, currency, view.definition)
    people = view.fetch(rv.cohort_customers, *args)
    if people is None or people.empty:
        if people is not None:
            st.info(f"The {cohort} cohort has no month {since_signup} yet.")
        return
    columns = {**PERSON, "email": "Email", "currency": "Currency", "signup_day": "Signed up"}
    columns |= {"base_mrr_minor": "MRR at signup", "mrr_minor": "MRR at month end"}
    columns |= {"month_end": "Month end", "retained": "Still paying"}
    money = dict.fromkeys(["base_mrr_minor", "mrr_minor"])
    fmt.table(people, "cohort_customers", columns, money)
    end = people["month_end"].iloc[0]
    start = end.replace(day=1) if int(since_signup) else first
    who = tuple(people["customer"])
    subs = view.fetch(rv.movement_changes, start, end, None, currency, who, view.definition)
    if subs is not None and not subs.empty:
        st.caption(f"Their subscriptions' changes in {start} – {end}")
        blank = subs.fillna({"items_after": "", "items_before": ""})
        fmt.table(blank, "cohort_subscriptions", CHANGE, CHANGE_MONEY)


def trials(view: View, summary: Summary) -> None:
    st.subheader("Trials")
    found = summary.trials
    cols = st.columns(3)
    cols[0].metric("Trials ended", f"{found.ended:,}")
    ours = f"{found.converted} of the {found.ended} trials that ended went on to pay"
    cols[1].metric("Trial conversion (paylens)", fmt.rate(found.rate), help=ours)
    theirs = f"{found.stripe_converted} converted in the range ÷ trials ended in it (can pass 1)"
    cols[2].metric("Trial conversion (Stripe's formula)", fmt.rate(found.stripe_rate), help=theirs)
    listed = view.fetch(rv.trial_list, view.filters.since, view.filters.as_of)
    if listed is not None and listed.empty:
        st.info("No trial ended or converted in this range.")
    elif listed is not None:
        columns = {"subscription": "Subscription", **PERSON, "day": "Trial ended"}
        columns |= {"next_status": "Status after", "converted": "Converted (paylens)"}
        columns |= {"stripe_converted": "Converted (Stripe)"}
        fmt.table(listed, "trials", columns)


def involuntary(view: View, summary: Summary) -> None:
    st.subheader("Involuntary churn")
    found, dunning = summary.involuntary, summary.payments.dunning
    failure = None if dunning is None else dunning.failure_rate
    recovery = None if dunning is None else dunning.recovery_rate
    cols = st.columns(5)
    of = f"{found.involuntary} of the {found.start_subscriptions} subscriptions paying at start"
    cols[0].metric("Involuntary churn", fmt.rate(found.involuntary_rate), help=of)
    cols[1].metric("Share of churn", fmt.rate(found.involuntary_share), help="Healthy below 30%")
    cols[2].metric("Disputed share of churn", fmt.rate(found.disputed_share))
    first_try = "Subscription volume failing its first attempt"
    cols[3].metric("Payment failure rate", fmt.rate(failure), help=first_try)
    cols[4].metric("Recovery rate", fmt.rate(recovery), help="Failed volume paid later")
    ended = view.fetch(rv.churn_list, view.filters.since, view.filters.as_of, view.definition)
    if ended is not None and ended.empty:
        st.info("No subscription stopped paying in this range.")
    elif ended is not None:
        columns = {"day": "Day", "subscription": "Subscription", **PERSON, "cause": "Cause"}
        columns |= {"kind": "Kind", "from_status": "From status", "currency": "Currency"}
        columns |= {"mrr_lost_minor": "MRR lost"}
        fmt.table(ended, "churn_events", columns, {"mrr_lost_minor": None})


def _grain(filters: Filters) -> str:
    """The grain radio, bound to `?grain=` (left out when it is the range's default: a day for
    up to a month, an ISO week up to a quarter, else a month). When the link or the range
    changed since the last run (a shared link, the back button, another range), the URL and
    the range decide, not the radio's last state."""
    default = "day" if filters.days <= 31 else "week" if filters.days <= 92 else "month"
    wanted = st.query_params.get("grain")
    if st.session_state.get("revenue_grain_seen") != [wanted, default]:
        st.session_state.pop("revenue_grain", None)
    options = list(GRAINS)
    index = options.index(wanted if wanted in GRAINS else default)
    label = GRAINS.__getitem__
    grain = str(
        st.sidebar.radio(
            "Grain", options, index=index, format_func=label, key="revenue_grain", horizontal=True
        )
    )
    written = None if grain == default else grain
    if written:
        st.query_params["grain"] = written
    elif "grain" in st.query_params:
        del st.query_params["grain"]
    st.session_state["revenue_grain_seen"] = [written, default]
    return grain


st.title("Revenue")
with ui.snapshot() as (con, snapshot_name):
    settings = ui.settings()
    currencies = ui.call(snapshot_name, rv.revenue_currencies, con)
    chosen = sidebar(con, reporting_currency=settings.reporting_currency, currencies=currencies)
    loaded = fx_rates(settings)
    rates = loaded if isinstance(loaded, pd.DataFrame) else None
    grain = _grain(chosen)
    definition = churn_settings(settings)
    view = View(con, snapshot_name, chosen, grain, settings.reporting_currency, rates, definition)
    summary = ui.call(snapshot_name, summary_for, con, settings, chosen.as_of, chosen.since)
    for text in warning_texts(summary, settings):
        st.warning(text)  # the undated-change caveat, and exchange rates missing
    scope = f"{chosen.currency.upper()} only" if chosen.currency else view.reporting.upper()
    st.caption(f"At the end of {chosen.as_of} (UTC); flows {view.first} – {chosen.as_of}; {scope}")
    args = (view.first, chosen.as_of, "range", view.reporting, rates, chosen.currency)
    whole = view.fetch(rv.movement_periods, *args, definition)
    headline(view, summary, whole)
    mrr_over_time(view)
    movements(view, whole)
    breakdowns(view)
    churn(view, summary)
    cohorts(view)
    trials(view, summary)
    involuntary(view, summary)
    ui.freshness(con, snapshot_name)
ui.watch(snapshot_name)

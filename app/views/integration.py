"""Integration health: the account scored against the production checklist (issue #20).

The score, each signal's status with its evidence and the one action that fixes it, observed
and declared ones marked, the common mistakes the data shows, and a form to record a declared
answer (idempotency keys, PCI SAQ-A) with a date and who, kept in the control store. Everything
shown is `metrics.integration.integration_report`'s, as `paylens health` prints it and the
`integration_health` alert reads it; this page only formats.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import streamlit as st

from app import ui
from app.alerting import integration_setup, silence_store
from app.filters import sidebar
from metrics.integration import DECLARED, PASSING, TITLES, Signal, integration_report
from sync import account_day

COLOURS = {"green": "green", "amber": "orange", "red": "red", "unknown": "gray"}


def _signal(signal: Signal) -> None:
    """One signal: title, status, observed or declared, evidence with sources, the action."""
    with st.container(border=True):
        colour = COLOURS[signal.status]
        st.markdown(f"**{signal.title}** · :{colour}[**{signal.status}**] · {signal.source}")
        st.markdown(
            "\n".join(f"- {ui.plain(e.text)} *({ui.plain(e.source)})*" for e in signal.evidence)
        )
        st.markdown(f"**Action:** {ui.plain(signal.action)}")


def _declare_form(today_default: date) -> None:
    """Record a declared answer in the control store, with the day it became so and who."""
    with st.form("declare"):
        st.markdown("**Record a declared answer** (what Stripe's API cannot show)")
        signal = st.selectbox("Signal", DECLARED, format_func=TITLES.__getitem__)
        answer = st.radio("Answer", ("Done", "Not done"), horizontal=True)
        on = st.date_input("Done on (or checked on)", value=today_default)
        by = st.text_input("Who declares it")
        note = st.text_input("Note (optional)")
        if st.form_submit_button("Record"):
            try:
                silence_store(ui.settings()).declare(
                    str(signal),
                    answer=answer == "Done",
                    on=on,
                    by=by,
                    note=note,
                    recorded=datetime.now(UTC),
                )
            except ValueError as exc:
                st.error(str(exc))
            else:
                st.success(f"Recorded: {TITLES[str(signal)]} {answer.lower()} on {on}.")


st.title("Integration health")
with ui.snapshot() as (con, snapshot_name):
    settings = ui.settings()
    chosen = sidebar(con, reporting_currency=settings.reporting_currency)
    as_of = chosen.as_of
    setup = integration_setup(settings)
    report = ui.call(ui.fresh(snapshot_name), integration_report, con, as_of, setup)

    first, second, third = st.columns(3)
    first.metric(
        "Integration score",
        f"{report.score}/{report.out_of}",
        help="Green signals of the production checklist, observed and declared.",
    )
    second.metric("Observed green", f"{report.observed_score}")
    third.metric("Declared green", f"{report.declared_score}")
    st.caption(f"As of the end of {as_of:%Y-%m-%d} (UTC).")
    if not report.passing:
        st.error(
            f"Integration score {report.score}/{report.out_of}: below {PASSING}, stop and fix "
            "these before adding features."
        )

    st.subheader("Signals")
    for signal in report.signals:
        _signal(signal)

    st.subheader("Common mistakes the data shows")
    for mistake in report.mistakes:
        count = "not readable" if mistake.count is None else f"{mistake.count:,}"
        with st.container(border=True):
            st.markdown(f"**{ui.plain(mistake.title)}**: {count}")
            st.markdown(
                "\n".join(
                    f"- {ui.plain(e.text)} *({ui.plain(e.source)})*" for e in mistake.evidence
                )
            )
            st.markdown(f"**Instead:** {ui.plain(mistake.action)}")

    st.subheader("Declared answers")
    _declare_form(account_day(con))

    ui.freshness(con, snapshot_name)
ui.watch(snapshot_name)

"""Alerts: what fires now, the messages and their delivery, the history, and silences.

Everything but silences comes from the published snapshot (the service records alert state,
transitions and the outbox in the master before publishing). Silences go to their own store,
which the service reads at its next cycle.
"""

from __future__ import annotations

import html
import json
import urllib.request
from datetime import UTC, datetime, timedelta

import streamlit as st

from alerts.evaluate import unit_of
from alerts.model import AlertState
from alerts.rules import format_duration, parse_duration
from alerts.slack import format_threshold, format_value
from alerts.store import HistoryRow, SilenceStoreError, history, load_states, outbox, outbox_counts
from app import ui
from app.alerting import alert_rules, silence_store
from sync import account_now

HISTORY_ROWS = 200
REFRESH = timedelta(seconds=30)  # the page re-reads the snapshot this often


def _message(row: HistoryRow) -> str:
    if row.muted_by:
        return f"muted: {row.muted_by}"
    if not row.notify:
        return ""
    return "in a message" if row.notification else "not sent (no Slack webhook then)"


def _describe(state: AlertState, last: HistoryRow | None) -> str:
    """One alert as the page shows it (markdown, account text made plain): level, rule, what it
    measures, the value now against the line it crossed, the driver, and since when."""
    rule = rules.get(state.rule)
    title = last.label if last is not None and last.label else state.rule
    text = f"**{(state.level or '').upper()}** · `{state.rule}` · {ui.plain(title)}"
    if rule is not None and not rule.is_condition and state.value is not None:
        unit = unit_of(rule)
        text += f" · now {format_value(state.value, unit)}"
        line = rule.threshold(state.level)
        if line is not None:
            side = "below" if rule.direction == "below" else "above"
            text += f" ({side} {format_threshold(line, unit)})"
    text += f" · since {state.since:%Y-%m-%d %H:%M} UTC"
    if last is not None and last.driver:
        text += f"\n\n{ui.plain(last.driver)}"
    return text


st.title("Alerts")
settings = ui.settings()
rules = {rule.name: rule for rule in alert_rules(settings)}


@st.fragment(run_every=REFRESH)
def live() -> None:
    """What the service decided, from the newest snapshot: re-read every REFRESH."""
    with ui.snapshot() as (con, snapshot_name):
        try:
            states = list(load_states(con).values())
            transitions = history(con, limit=HISTORY_ROWS)
            messages = outbox(con)
            counts = outbox_counts(con)
        except Exception:  # a snapshot from before the first alert cycle
            states, transitions, messages, counts = [], [], [], {}
        machine = datetime.now(UTC)
        shift = account_now(con, machine) - machine  # acknowledgements are on this machine's clock

    latest = {}
    for row in reversed(transitions):  # oldest first: the newest transition of each alert wins
        latest[(row.rule, row.segment)] = row
    firing = [state for state in states if state.status == "firing"]
    store = silence_store(settings)
    acks = {(ack.rule, ack.segment): ack for ack in store.acknowledgements()}
    critical = sum(state.level == "critical" for state in firing)
    first, second, third, fourth = st.columns(4)
    first.metric("Firing: critical", f"{critical}")
    second.metric("Firing: warning", f"{len(firing) - critical}")
    third.metric("Messages queued", f"{counts.get('queued', 0)}")
    fourth.metric("Messages Slack refused", f"{counts.get('failed', 0)}")

    st.subheader("Firing now")
    if not firing:
        st.success("Nothing is firing.")
    for state in sorted(firing, key=lambda s: (s.level != "critical", s.since)):
        text = _describe(state, latest.get((state.rule, state.segment)))
        ack = acks.get((state.rule, state.segment))
        seen = ack is not None and state.fired_at is not None and ack.at + shift >= state.fired_at
        if ack is not None and seen:
            text += f"\n\nAcknowledged by {ui.plain(ack.by)}: {ui.plain(ack.note or 'seen')}"
        box = st.error if state.level == "critical" else st.warning
        box(text)
        if not seen:
            key = f"ack-{state.rule}-{state.segment}"
            if st.button("Acknowledge (no repeats until it changes)", key=key):
                store.acknowledge(state.rule, state.segment, at=datetime.now(UTC), by="dashboard")
                st.rerun()

    pending = [state for state in states if state.status == "pending"]
    if pending:
        st.subheader("Pending (past a line, waiting out the rule's pending period)")
        for state in sorted(pending, key=lambda s: s.since):
            rule = rules.get(state.rule)
            wait = "" if rule is None else f" · fires after {format_duration(rule.pending)}"
            st.info(_describe(state, latest.get((state.rule, state.segment))) + wait)

    failed = [message for message in messages if message.status == "failed"]
    if failed:
        st.subheader("Messages Slack refused")
        for message in failed:
            st.error(
                f"{message.created:%Y-%m-%d %H:%M} · {ui.plain(message.summary)} — "
                f"{ui.plain(message.last_error or '')}"
            )

    st.subheader("History")
    if transitions:
        st.dataframe(
            [
                {
                    "At (UTC)": row.at.strftime("%Y-%m-%d %H:%M"),
                    "Rule": row.rule,
                    "Segment": row.segment,
                    "Change": row.kind,
                    "Level": row.level or "",
                    "What": row.label or "",
                    "Message": _message(row),
                    "Lasted": "" if row.duration is None else str(row.duration).split(".")[0],
                }
                for row in transitions
            ],
            hide_index=True,
        )
    else:
        st.caption("No alert has changed state yet.")

    if settings.slack_standin_url:
        st.subheader("Messages received by the local Slack stand-in")
        try:
            with urllib.request.urlopen(
                f"{settings.slack_standin_url}/messages", timeout=2
            ) as answer:
                received = json.loads(answer.read())
        except OSError as exc:
            st.caption(f"The stand-in did not answer ({exc}).")
            received = []
        for body in reversed(received[-20:]):
            st.code(html.unescape(body.get("text", json.dumps(body)))[:2000], language=None)

    st.caption(f"Snapshot {snapshot_name}; times are the account's clock (UTC).")


live()

st.subheader("Silences")
store = silence_store(settings)
now = datetime.now(UTC)
try:
    active = store.active(now)
except SilenceStoreError as exc:
    st.error(str(exc))
    active = ()
for silence in active:
    cols = st.columns([4, 1])
    cols[0].write(
        f"`{silence.rule}`{' · ' + silence.segment if silence.segment else ''} until "
        f"{silence.until:%Y-%m-%d %H:%M} UTC — {ui.plain(silence.reason)}"
    )
    if cols[1].button("End", key=f"end-{silence.id}"):
        store.expire(silence.id, now)
        st.rerun()
with st.form("silence"):
    st.write("Silence a rule (its state still moves; messages are held until the silence ends)")
    rule_name = st.selectbox("Rule", sorted(rules))
    duration = st.text_input("For", value="2h", help='"30m", "2h", "1d"')
    reason = st.text_input("Reason")
    if st.form_submit_button("Silence"):
        try:
            span = parse_duration(duration)
        except ValueError as exc:
            st.error(f"For: {exc}")
        else:
            if span <= timedelta(0) or not reason.strip():
                st.error("A silence needs a duration and a reason.")
            else:
                store.add(rule_name, until=now + span, reason=reason.strip(), created=now)
                st.rerun()

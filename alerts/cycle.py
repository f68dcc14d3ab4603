"""One alert cycle: read every rule, decide, record the state, transitions and outbox row.

The service runs it on the master connection after each sync, at the account's clock
(`Context.at`), before the snapshot is published, so the snapshot carries what was decided.
`check` does the same reading and deciding on any connection (a read-only snapshot) and records
nothing: `paylens alerts check`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from alerts.decide import CyclePlan, classify, plan
from alerts.evaluate import Context, evaluate
from alerts.model import AlertState, Reading, Rule, Silence
from alerts.slack import render
from alerts.store import ensure_schema, load_states, record_cycle


@dataclass(frozen=True)
class CycleOutcome:
    readings: tuple[Reading, ...]
    plan: CyclePlan
    queued: bool  # a message was recorded in the outbox


def run_cycle(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[Rule],
    context: Context,
    *,
    silences: Sequence[Silence],
    dashboard_url: str | None,
    recorded: datetime,
    deliver: bool,
    acknowledged: Mapping[tuple[str, str], datetime] | None = None,
) -> CycleOutcome:
    """Steps: read the rules at `context.at`; decide against the stored states; record the new
    states, the transitions and (when `deliver`: a Slack webhook is configured) the cycle's one
    message, rendered, in one transaction. `recorded` is the machine's time (the outbox's);
    `acknowledged`: (rule, segment) → when someone last acknowledged it, on the account's clock."""
    ensure_schema(con)
    readings = evaluate(con, rules, context)
    decided = plan(rules, load_states(con), readings, context.at, silences, acknowledged)
    notification = decided.notification if deliver else None
    payload = None
    if notification is not None:
        payload = render(notification, dashboard_url=dashboard_url, rules=_by_name(rules))
    queued = record_cycle(
        con,
        decided.states,
        decided.transitions,
        notification,
        payload,
        None if payload is None else str(payload.get("text", "")),
        recorded,
    )
    return CycleOutcome(readings, decided, queued and notification is not None)


@dataclass(frozen=True)
class Check:
    """What one rule × segment reads now and where that would put it (nothing is recorded)."""

    rule: Rule
    reading: Reading
    verdict: str  # what the reading says alone: no_data, critical, warning, clear, hold
    state: AlertState | None  # the state the cycle would leave it in


def check(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[Rule],
    context: Context,
    *,
    states: Mapping[tuple[str, str], AlertState],
    silences: Sequence[Silence] = (),
) -> list[Check]:
    """Every rule's readings at `context.at` and the state each would be in after a cycle."""
    readings = evaluate(con, rules, context)
    decided = plan(rules, states, readings, context.at, silences)
    after = {(state.rule, state.segment): state for state in decided.states}
    by_name = _by_name(rules)
    return [
        Check(
            rule=by_name[reading.rule],
            reading=reading,
            verdict=str(classify(by_name[reading.rule], reading)),
            state=after.get((reading.rule, reading.segment)),
        )
        for reading in readings
    ]


def _by_name(rules: Sequence[Rule]) -> dict[str, Rule]:
    return {rule.name: rule for rule in rules}

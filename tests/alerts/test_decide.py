"""alerts.decide as a table of cases: (rule, state before, reading, clock, silence, inhibition)
→ (state after, transition, whether it is sent), then whole cycles through `plan`."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import NamedTuple

import pytest

import alerts.decide
from alerts.decide import classify, decide, plan
from alerts.model import AlertState, Level, Reading, Rule, Silence, Status, TransitionKind

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)

SUCCESS = Rule(
    "payment_success",
    "payment_success",
    window=HOUR,
    warn=0.95,
    critical=0.90,
    resolve=0.96,
    min_sample=20,
)
WITH_PENDING = replace(SUCCESS, pending=10 * MIN)
BASELINE = replace(SUCCESS, baseline_weeks=4)
NO_REPEAT = replace(SUCCESS, repeat=None)
CHURN = Rule(
    "customer_churn", "customer_churn.rate", timedelta(days=30), "above", warn=0.05, critical=0.1
)
DISPUTE_NEW = Rule("dispute_new", "dispute_new", 24 * HOUR, kind="event", repeat=None)
DISPUTE_DUE = Rule("dispute_due", "dispute_due", 72 * HOUR, severity="critical")
SYNC_STALE = Rule(
    "sync_stale", "sync_stale", timedelta(0), "above", critical=3, inhibited_by_sync=False
)

# Wilson 95 % (two-sided) intervals, as metrics.signals computes them for a reading
WILSON_17_OF_20 = (0.6396, 0.9476)
WILSON_18_OF_20 = (0.6990, 0.9721)
WILSON_60_OF_200 = (0.2407, 0.3668)


def reading(
    value: float | None,
    *,
    rule: str = "payment_success",
    sample: int | None = 100,
    bounds: tuple[float, float] | None = None,
    baseline: float | None = None,
    segment: str = "",
) -> Reading:
    low, high = bounds if bounds is not None else (None, None)
    return Reading(rule, T0, value, segment, sample=sample, low=low, high=high, baseline=baseline)


def state(
    status: Status,
    level: Level | None = None,
    *,
    rule: str = "payment_success",
    segment: str = "",
    since: datetime = T0,
    notified: datetime | None = T0,
) -> AlertState:
    firing = status == "firing"
    return AlertState(
        rule,
        segment,
        status,
        since,
        level=level,
        fired_at=since if firing else None,
        notified_at=notified if firing else None,
    )


def silence(rule: str = "payment_success", *, until: datetime = T0 + 24 * HOUR) -> Silence:
    return Silence("s1", rule, until=until, reason="card network incident", created=T0 - HOUR)


class Case(NamedTuple):
    name: str
    rule: Rule
    before: AlertState | None
    reading: Reading | None  # None: the segment has no reading any more
    # expected: the state's status (None: dropped) and level, the transition and whether it
    # is sent
    then: tuple[Status | None, Level | None, TransitionKind | None, bool]
    now: datetime = T0 + 5 * MIN
    silence: Silence | None = None
    inhibited: str | None = None
    acknowledged: datetime | None = None


NOW = T0 + 5 * MIN
OK = state("ok")
WARNING = state("firing", "warning")
CRITICAL = state("firing", "critical")
PENDING = state("pending", "warning")
NO_DATA = state("no_data")
UNSENT = state("firing", "warning", notified=None)  # began under a silence
SYNC_CRITICAL = state("firing", "critical", rule="sync_stale")
SEEN_DP_1 = state("firing", "warning", rule="dispute_new", segment="dp_1")
FIRING_DP_2 = state("firing", "critical", rule="dispute_due", segment="dp_2")
NEW_DP_1 = reading(1.0, rule="dispute_new", sample=None, segment="dp_1")
DUE_DP_2 = reading(1.0, rule="dispute_due", sample=None, segment="dp_2")
OF_20 = {
    17: reading(0.85, sample=20, bounds=WILSON_17_OF_20),
    18: reading(0.90, sample=20, bounds=WILSON_18_OF_20),
}
SIXTY_OF_200 = reading(0.30, sample=200, bounds=WILSON_60_OF_200)
SIXTY_BELOW_95 = replace(SIXTY_OF_200, baseline=0.95)
SEVENTEEN_BELOW_95 = replace(OF_20[17], baseline=0.95)
SEVENTEEN_ON_93 = replace(OF_20[17], baseline=0.93)


def churn(value: float) -> Reading:
    return reading(value, rule="customer_churn", sample=None)


def stale(intervals: float) -> Reading:
    return reading(intervals, rule="sync_stale", sample=None)


CASES = [
    # transitions: ok → pending → firing, and cancelled
    Case("healthy stays ok", SUCCESS, OK, reading(0.99),
         ("ok", None, None, False)),
    Case("a first healthy reading is ok", SUCCESS, None, reading(0.99),
         ("ok", None, None, False)),
    Case("breach with pending goes pending", WITH_PENDING, OK, reading(0.94),
         ("pending", "warning", "pending", False)),
    Case("pending waits out its time", WITH_PENDING, PENDING, reading(0.94),
         ("pending", "warning", None, False), now=T0 + 9 * MIN),
    Case("pending fires after pending", WITH_PENDING, PENDING, reading(0.94),
         ("firing", "warning", "firing", True), now=T0 + 10 * MIN),
    Case("pending takes the worse level", WITH_PENDING, PENDING, reading(0.85),
         ("pending", "critical", None, False), now=T0 + 5 * MIN),
    Case("pending cancelled when clear", WITH_PENDING, PENDING, reading(0.97),
         ("ok", None, "cancelled", False)),
    Case("pending waits between the lines", WITH_PENDING, PENDING, reading(0.955),
         ("pending", "warning", None, False)),
    Case("no pending fires at once", SUCCESS, OK, reading(0.94),
         ("firing", "warning", "firing", True)),
    Case("no pending fires critical at once", SUCCESS, None, reading(0.85),
         ("firing", "critical", "firing", True)),
    # escalation
    Case("warning escalates to critical", SUCCESS, WARNING, reading(0.85),
         ("firing", "critical", "escalated", True)),
    Case("critical deescalates to warning", SUCCESS, CRITICAL, reading(0.93),
         ("firing", "warning", "deescalated", True)),
    Case("critical between the lines is a warning", SUCCESS, CRITICAL, reading(0.955),
         ("firing", "warning", "deescalated", True)),
    Case("critical-only holds critical", replace(SYNC_STALE, resolve=1), SYNC_CRITICAL, stale(2.0),
         ("firing", "critical", None, False)),
    # the resolve line apart from the firing one
    Case("at the firing line it holds", SUCCESS, WARNING, reading(0.95),
         ("firing", "warning", None, False)),
    Case("between the lines it holds", SUCCESS, WARNING, reading(0.959),
         ("firing", "warning", None, False)),
    Case("between the lines ok stays ok", SUCCESS, OK, reading(0.951),
         ("ok", None, None, False)),
    Case("at the resolve line it resolves", SUCCESS, WARNING, reading(0.96),
         ("ok", None, "resolved", True)),
    Case("critical resolves straight to ok", SUCCESS, CRITICAL, reading(0.99),
         ("ok", None, "resolved", True)),
    Case("above: churn past warn fires", CHURN, OK, churn(0.06),
         ("firing", "warning", "firing", True)),
    Case("above: churn past critical", CHURN, WARNING, churn(0.12),
         ("firing", "critical", "escalated", True)),
    Case("above: churn back at warn resolves", CHURN, WARNING, churn(0.05),
         ("ok", None, "resolved", True)),
    # minimum sample: "not enough data" is its own state, never "0 % success"
    Case("one failed charge is no data", SUCCESS, OK, reading(0.0, sample=1),
         ("no_data", None, "no_data", False)),
    Case("no charges is no data", SUCCESS, OK, reading(None, sample=0),
         ("no_data", None, "no_data", False)),
    Case("a sampled rule without a sample is no data", SUCCESS, None, reading(0.5, sample=None),
         ("no_data", None, "no_data", False)),
    Case("pending without data stops pending", WITH_PENDING, PENDING, reading(0.0, sample=3),
         ("no_data", None, "no_data", False)),
    Case("no data stays no data", SUCCESS, NO_DATA, reading(0.2, sample=5),
         ("no_data", None, None, False)),
    Case("no data fires when data returns", SUCCESS, NO_DATA, reading(0.85, sample=40),
         ("firing", "critical", "firing", True)),
    Case("no data to healthy is quietly ok", SUCCESS, NO_DATA, reading(0.99),
         ("ok", None, None, False)),
    Case("firing keeps firing without data", SUCCESS, WARNING, reading(0.0, sample=2),
         ("firing", "warning", None, False), now=T0 + 5 * HOUR),
    # repeat
    Case("repeats after 4 hours", SUCCESS, WARNING, reading(0.94),
         ("firing", "warning", "repeat", True), now=T0 + 4 * HOUR),
    Case("does not repeat before", SUCCESS, WARNING, reading(0.94),
         ("firing", "warning", None, False), now=T0 + 4 * HOUR - MIN),
    Case("repeats while it holds", SUCCESS, WARNING, reading(0.955),
         ("firing", "warning", "repeat", True), now=T0 + 5 * HOUR),
    # acknowledgements: someone has seen it, so it is not repeated; changes are still sent
    Case("acknowledged, it does not repeat", SUCCESS, WARNING, reading(0.94),
         ("firing", "warning", None, False), now=T0 + 4 * HOUR, acknowledged=T0 + HOUR),
    Case("acknowledged, it still escalates", SUCCESS, WARNING, reading(0.80),
         ("firing", "critical", "escalated", True), now=T0 + 4 * HOUR, acknowledged=T0 + HOUR),
    Case("acknowledged, it still resolves", SUCCESS, WARNING, reading(0.99),
         ("ok", None, "resolved", True), acknowledged=T0 + MIN),
    Case("an acknowledgement of an earlier firing does not hold", SUCCESS, WARNING, reading(0.94),
         ("firing", "warning", "repeat", True), now=T0 + 4 * HOUR, acknowledged=T0 - HOUR),
    Case("repeat never", NO_REPEAT, WARNING, reading(0.94),
         ("firing", "warning", None, False), now=T0 + 48 * HOUR),
    # silences
    Case("a silence mutes the firing", SUCCESS, OK, reading(0.94),
         ("firing", "warning", "firing", False), silence=silence()),
    Case("silenced, it does not repeat", SUCCESS, UNSENT, reading(0.94),
         ("firing", "warning", None, False), now=T0 + 5 * HOUR, silence=silence()),
    Case("after the silence it is sent", SUCCESS, UNSENT, reading(0.94),
         ("firing", "warning", "firing", True), now=T0 + 25 * HOUR, silence=silence()),
    Case("after the silence an escalation is a firing", SUCCESS, UNSENT, reading(0.85),
         ("firing", "critical", "firing", True), now=T0 + 25 * HOUR),
    Case("silenced escalation is muted", SUCCESS, WARNING, reading(0.85),
         ("firing", "critical", "escalated", False), silence=silence()),
    Case("resolved under a silence is muted", SUCCESS, WARNING, reading(0.99),
         ("ok", None, "resolved", False), silence=silence()),
    Case("resolved never sent says nothing", SUCCESS, UNSENT, reading(0.99),
         ("ok", None, "resolved", False), now=T0 + 25 * HOUR),
    Case("a silence of another rule does not mute", SUCCESS, OK, reading(0.94),
         ("firing", "warning", "firing", True), silence=silence("webhook_delivery")),
    # inhibition by a stale or failing sync: frozen
    Case("inhibited, a firing does not resolve", SUCCESS, WARNING, reading(0.99),
         ("firing", "warning", None, False), inhibited="sync_stale"),
    Case("inhibited, ok does not fire", SUCCESS, OK, reading(0.5),
         ("ok", None, None, False), inhibited="sync_failing"),
    Case("inhibited, a firing does not repeat", SUCCESS, WARNING, reading(0.94),
         ("firing", "warning", None, False), now=T0 + 5 * HOUR, inhibited="sync_stale"),
    # event rules: one message per segment
    Case("a new dispute is an event", DISPUTE_NEW, None, NEW_DP_1,
         ("firing", "warning", "event", True)),
    Case("a known dispute says nothing", DISPUTE_NEW, SEEN_DP_1, NEW_DP_1,
         ("firing", "warning", None, False), now=T0 + 5 * HOUR),
    Case("a dispute out of the window is dropped", DISPUTE_NEW, SEEN_DP_1, None,
         (None, None, None, False)),
    Case("a silenced new dispute is muted", DISPUTE_NEW, None, NEW_DP_1,
         ("firing", "warning", "event", False), silence=silence("dispute_new")),
    # conditions, and segments that are gone
    Case("a condition fires at its severity", DISPUTE_DUE, None, DUE_DP_2,
         ("firing", "critical", "firing", True)),
    Case("a gone segment resolves", DISPUTE_DUE, FIRING_DP_2, None,
         (None, None, "resolved", True)),
    Case("a gone pending segment is cancelled", WITH_PENDING, PENDING, None,
         (None, None, "cancelled", False)),
    Case("a gone ok segment is dropped", SUCCESS, OK, None,
         (None, None, None, False)),
    # significance: the bound on the unhealthy side must be past the line (and the baseline)
    Case("17/20 under a 95% baseline: warning, not critical", BASELINE, OK, SEVENTEEN_BELOW_95,
         ("firing", "warning", "firing", True)),
    Case("17/20 on its own 93% baseline is nothing", BASELINE, OK, SEVENTEEN_ON_93,
         ("ok", None, None, False)),
    Case("60/200 under a 95% baseline: critical", BASELINE, OK, SIXTY_BELOW_95,
         ("firing", "critical", "firing", True)),
    Case("a baseline that is not there: the lines alone", BASELINE, OK, SIXTY_OF_200,
         ("firing", "critical", "firing", True)),
    # back to its own normal resolves an account whose usual rate is under the resolve line:
    # the line is min(96%, baseline 93% - the 1-point gap between resolve and warn) = 92%
    Case("back to a 93% normal resolves", BASELINE, WARNING,
         reading(0.925, sample=200, bounds=(0.88, 0.955), baseline=0.93),
         ("ok", None, "resolved", True)),
    Case("under its normal's resolve line holds", BASELINE, WARNING,
         reading(0.915, sample=200, bounds=(0.87, 0.945), baseline=0.93),
         ("firing", "warning", None, False)),
    Case("a healthy 99% baseline keeps the 96% line", BASELINE, WARNING,
         reading(0.955, sample=200, bounds=(0.92, 0.975), baseline=0.99),
         ("firing", "warning", None, False)),
    Case("17/20 with a Wilson bound is not critical", SUCCESS, OK, OF_20[17],
         ("firing", "warning", "firing", True)),
    Case("17/20 against a fixed line is critical", SUCCESS, OK, reading(0.85, sample=20),
         ("firing", "critical", "firing", True)),
    Case("18/20 is not significantly below 95%", SUCCESS, OK, OF_20[18],
         ("ok", None, None, False)),
    Case("17/20 keeps a critical critical", SUCCESS, CRITICAL, OF_20[17],
         ("firing", "critical", None, False)),
    Case("17/20 does not resolve a warning", SUCCESS, WARNING, OF_20[17],
         ("firing", "warning", None, False)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_decision_table(case: Case) -> None:
    decision = decide(
        case.rule,
        case.before,
        case.reading,
        case.now,
        silence=case.silence,
        inhibited_by=case.inhibited,
        acknowledged=case.acknowledged,
    )

    after, transition = decision.state, decision.transition
    assert (
        after and after.status,
        after and after.level,
        transition and transition.kind,
        bool(transition and transition.notify),
    ) == case.then


def test_a_resolved_says_how_long_it_fired() -> None:
    end = T0 + 2 * HOUR + 15 * MIN

    decision = decide(SUCCESS, state("firing", "critical", since=T0), reading(0.99), end)

    assert decision.transition is not None
    assert decision.transition.duration == 2 * HOUR + 15 * MIN
    assert (decision.transition.level, decision.transition.threshold) == ("critical", 0.96)
    assert decision.state == AlertState("payment_success", "", "ok", end, None, None, end, 0.99)


def test_a_firing_records_its_line_value_and_when_it_was_sent() -> None:
    decision = decide(SUCCESS, OK, reading(0.87), NOW)

    assert decision.state == AlertState(
        "payment_success", "", "firing", NOW, "critical", fired_at=NOW, notified_at=NOW, value=0.87
    )
    transition = decision.transition
    assert transition is not None
    assert (transition.before, transition.after, transition.threshold, transition.value) == (
        "ok",
        "firing",
        0.90,
        0.87,
    )
    assert transition.muted_by is None and transition.reading == reading(0.87)


def test_a_silenced_firing_names_the_silence_and_is_not_marked_sent() -> None:
    decision = decide(SUCCESS, OK, reading(0.94), NOW, silence=silence())

    assert decision.transition is not None
    assert decision.transition.muted_by == "silence s1: card network incident"
    assert decision.state is not None and decision.state.notified_at is None


def test_a_silence_that_has_expired_does_not_mute() -> None:
    expired = silence(until=T0)

    decision = decide(SUCCESS, OK, reading(0.94), NOW, silence=expired)

    assert decision.transition is not None and decision.transition.notify


def test_a_repeat_restarts_the_repeat_interval() -> None:
    decision = decide(SUCCESS, WARNING, reading(0.94), T0 + 4 * HOUR)

    assert decision.state is not None and decision.state.notified_at == T0 + 4 * HOUR
    assert decision.state.fired_at == T0  # the firing itself began at T0


@pytest.mark.parametrize(
    ("value", "sample", "bounds", "verdict"),
    [
        (None, 0, None, "no_data"),
        (0.0, 19, None, "no_data"),
        (0.99, 20, None, "clear"),
        (0.96, 20, None, "clear"),
        (0.955, 20, None, "hold"),
        (0.95, 20, None, "hold"),
        (0.949, 20, None, "warning"),
        (0.899, 20, None, "critical"),
        (0.85, 20, WILSON_17_OF_20, "warning"),
        (0.90, 20, WILSON_18_OF_20, "hold"),
    ],
)
def test_classify_says_what_a_reading_says_alone(
    value: float | None, sample: int, bounds: tuple[float, float] | None, verdict: str
) -> None:
    assert classify(SUCCESS, reading(value, sample=sample, bounds=bounds)) == verdict


def _wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The oracle for the next test: the two-sided Wilson score interval."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p, denominator = successes / n, 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def test_the_pinned_intervals_are_wilsons() -> None:
    for (successes, n), pinned in [
        ((17, 20), WILSON_17_OF_20),
        ((18, 20), WILSON_18_OF_20),
        ((60, 200), WILSON_60_OF_200),
    ]:
        assert _wilson(successes, n) == pytest.approx(pinned, abs=5e-5)


def test_a_healthy_95_percent_account_rarely_fires_critical_on_20_attempts() -> None:
    """Every outcome of 20 attempts at a true 95 %, weighted by its binomial probability: a
    fixed 90 % line fires critical on 7.5 % of healthy windows, the Wilson bound on 0.26 %
    (it fires a warning at 16 or 17 of 20: a warn line at the account's own rate is a coin
    the sample tosses; the baseline rule needs the drop below the previous weeks too)."""

    def chance(verdict: str, bounded: bool) -> float:
        total = 0.0
        for successes in range(21):
            bounds = _wilson(successes, 20) if bounded else None
            said = classify(SUCCESS, reading(successes / 20, sample=20, bounds=bounds))
            if said == verdict:
                total += math.comb(20, successes) * 0.95**successes * 0.05 ** (20 - successes)
        return total

    assert round(chance("critical", bounded=False), 4) == 0.0755  # 17/20 or worse
    assert round(chance("critical", bounded=True), 4) == 0.0026  # 15/20 or worse
    assert round(chance("warning", bounded=True), 4) == 0.0729  # 16 or 17 of 20


# Whole cycles through `plan`

PLAN_RULES = (SUCCESS, DISPUTE_NEW, DISPUTE_DUE, SYNC_STALE)


def test_a_cycle_groups_its_messages_most_severe_first() -> None:
    states = [state("firing", "warning", rule="dispute_due", segment="dp_9")]
    readings = [
        reading(0.94),
        NEW_DP_1,
        DUE_DP_2,
        reading(0.5, rule="sync_stale", sample=None),
    ]

    cycle = plan(PLAN_RULES, states, readings, NOW, [])

    assert cycle.notification is not None
    said = [(t.rule, t.segment, t.kind, t.level) for t in cycle.notification.changes]
    assert said == [
        ("dispute_due", "dp_2", "firing", "critical"),
        ("payment_success", "", "firing", "warning"),
        ("dispute_new", "dp_1", "event", "warning"),
        ("dispute_due", "dp_9", "resolved", "warning"),  # dp_9 no longer due
    ]
    assert cycle.notification.created == NOW
    assert {(s.rule, s.segment, s.status) for s in cycle.states} == {
        ("sync_stale", "", "ok"),
        ("payment_success", "", "firing"),
        ("dispute_new", "dp_1", "firing"),
        ("dispute_due", "dp_2", "firing"),
    }


def test_the_notification_key_is_the_same_for_the_same_changes() -> None:
    readings = [reading(0.94)]

    first = plan(PLAN_RULES, [], readings, NOW, [])
    again = plan(PLAN_RULES, {}, readings, NOW, [])
    later = plan(PLAN_RULES, [], readings, NOW + MIN, [])

    assert first == again
    assert first.notification is not None and later.notification is not None
    assert re.fullmatch(r"[0-9a-f]{64}", first.notification.key)
    assert first.notification.key != later.notification.key


def test_a_quiet_cycle_has_no_notification() -> None:
    cycle = plan(PLAN_RULES, [], [reading(0.99), reading(0.2, rule="sync_stale")], NOW, [])

    assert cycle.notification is None
    assert cycle.transitions == ()


def test_a_stale_sync_inhibits_the_metric_alerts() -> None:
    before = [state("firing", "warning"), state("ok", rule="dispute_due", segment="dp_2")]
    readings = [
        reading(0.99),  # would resolve: stale data must not
        DUE_DP_2,  # would fire
        reading(3.4, rule="sync_stale", sample=None),
    ]

    cycle = plan(PLAN_RULES, before, readings, NOW, [])

    assert [(t.rule, t.kind, t.notify) for t in cycle.transitions] == [
        ("sync_stale", "firing", True)
    ]
    assert state("firing", "warning") in cycle.states
    assert state("ok", rule="dispute_due", segment="dp_2") in cycle.states


def test_a_silenced_sync_alert_still_inhibits() -> None:
    readings = [reading(0.5), reading(3.4, rule="sync_stale", sample=None)]

    cycle = plan(PLAN_RULES, [], readings, NOW, [silence("sync_stale")])

    assert [(t.rule, t.notify) for t in cycle.transitions] == [("sync_stale", False)]
    assert cycle.notification is None


def test_a_rule_not_inhibited_by_sync_is_decided_while_the_sync_is_stale() -> None:
    rules = (replace(SUCCESS, inhibited_by_sync=False), SYNC_STALE)
    readings = [reading(0.5), reading(3.4, rule="sync_stale", sample=None)]

    cycle = plan(rules, [], readings, NOW, [])

    assert [(t.rule, t.kind) for t in cycle.transitions] == [
        ("sync_stale", "firing"),
        ("payment_success", "firing"),
    ]


def test_each_new_dispute_is_one_message_once() -> None:
    first = [reading(1.0, rule="dispute_new", sample=None, segment=s) for s in ("dp_1", "dp_2")]
    second = [*first, reading(1.0, rule="dispute_new", sample=None, segment="dp_3")]

    one = plan((DISPUTE_NEW,), [], first, NOW, [])
    two = plan((DISPUTE_NEW,), one.states, second, NOW + 5 * MIN, [])
    three = plan((DISPUTE_NEW,), two.states, second, NOW + 10 * HOUR, [])

    assert one.notification is not None and two.notification is not None
    assert [t.segment for t in one.notification.changes] == ["dp_1", "dp_2"]
    assert [t.segment for t in two.notification.changes] == ["dp_3"]
    assert three.notification is None


def test_states_of_rules_not_decided_pass_through() -> None:
    """The service decides only the sync rules while a backfill is incomplete."""
    firing = state("firing", "warning")

    cycle = plan((SYNC_STALE,), [firing], [reading(0.2, rule="sync_stale")], NOW, [])

    assert firing in cycle.states
    assert cycle.transitions == ()


def test_values_hovering_around_the_lines_do_not_flap() -> None:
    """A 5-minute cycle over values crossing the lines: the messages are exactly these."""
    values = [0.97, 0.949, 0.951, 0.958, 0.949, 0.955, 0.89, 0.905, 0.93, 0.9501, 0.959]
    values += [0.96, 0.959, 0.951, 0.9501, 0.97]
    states: tuple[AlertState, ...] = ()
    messages = []
    for cycle, value in enumerate(values):
        now = T0 + cycle * 5 * MIN
        planned = plan((SUCCESS,), states, [reading(value)], now, [])
        states = planned.states
        if planned.notification is not None:
            for change in planned.notification.changes:
                duration = change.duration and change.duration // MIN
                messages.append((cycle, change.kind, change.level, change.value, duration))

    assert messages == [
        (1, "firing", "warning", 0.949, None),
        (6, "escalated", "critical", 0.89, None),
        (7, "deescalated", "warning", 0.905, None),
        (11, "resolved", "warning", 0.96, 50),
    ]


def test_a_sampled_rate_hovering_at_the_critical_line_changes_level_once() -> None:
    """200 attempts an hour: entering critical needs the Wilson bound below 90 %, leaving it
    needs the rate itself back at 90 %, so 89 % ↔ 90.5 % does not flap."""
    succeeded = [188, 178, 181, 178, 170, 178, 181, 178, 181, 178, 200]
    states: tuple[AlertState, ...] = ()
    messages = []
    for cycle, count in enumerate(succeeded):
        sampled = reading(count / 200, sample=200, bounds=_wilson(count, 200))
        planned = plan((SUCCESS,), states, [sampled], T0 + cycle * 5 * MIN, [])
        states = planned.states
        if planned.notification is not None:
            messages += [(cycle, t.kind, t.level) for t in planned.notification.changes]

    assert messages == [
        (1, "firing", "warning"),
        (4, "escalated", "critical"),
        (6, "deescalated", "warning"),
        (10, "resolved", "warning"),
    ]


def test_a_long_incident_repeats_every_four_hours_and_resolves_once() -> None:
    states: tuple[AlertState, ...] = ()
    kinds = []
    for cycle in range(12 * 9 + 1):  # 9 hours of 5-minute cycles
        now = T0 + cycle * 5 * MIN
        value = 0.80 if cycle < 12 * 9 else 0.99
        planned = plan((SUCCESS,), states, [reading(value)], now, [])
        states = planned.states
        kinds += [(t.kind, (t.at - T0) / HOUR) for t in planned.transitions if t.notify]

    assert kinds == [("firing", 0), ("repeat", 4), ("repeat", 8), ("resolved", 9)]


def test_deciding_never_reads_the_clock() -> None:
    source = Path(alerts.decide.__file__).read_text(encoding="utf-8")
    for call in ("datetime.now", "datetime.utcnow", "date.today", "time.time", "monotonic"):
        assert call not in source
    readings = [reading(0.94), reading(3.4, rule="sync_stale")]

    assert plan(PLAN_RULES, [], readings, NOW, []) == plan(PLAN_RULES, [], readings, NOW, [])


def test_the_worked_example_of_alerts_md() -> None:
    """docs/ALERTS.md "A worked example": the default rule, a 97 % baseline, 500 attempts."""
    rule = replace(BASELINE, max_window=24 * HOUR)
    succeeded = [480, 465, 430, 470, 476, 482]
    states: tuple[AlertState, ...] = ()
    said = []
    for cycle, count in enumerate(succeeded):
        bounds = _wilson(count, 500)
        now = T0 + cycle * 5 * MIN
        sampled = reading(count / 500, sample=500, bounds=bounds, baseline=0.97)
        planned = plan((rule,), states, [sampled], now, [])
        states = planned.states
        after = states[0]
        said.append(
            (
                f"{bounds[0]:.1%}–{bounds[1]:.1%}",
                classify(rule, sampled),
                after.status,
                after.level,
                [(t.kind, t.duration) for t in planned.transitions if t.notify],
            )
        )

    assert said == [
        ("93.9%–97.4%", "clear", "ok", None, []),
        ("90.4%–94.9%", "warning", "firing", "warning", [("firing", None)]),
        ("82.7%–88.8%", "critical", "firing", "critical", [("escalated", None)]),
        ("91.6%–95.8%", "hold", "firing", "warning", [("deescalated", None)]),
        ("93.0%–96.8%", "hold", "firing", "warning", []),
        ("94.4%–97.7%", "clear", "ok", None, [("resolved", 20 * MIN)]),
    ]

"""The weekly review's narrative: a few sentences, most important first, each naming a change
and its driver, computed from the review's numbers (never free text).

Each topic has a rule (`RULES`): the size of change that earns a sentence, the fewest
observations it needs, and a weight. A sentence's importance is `weight × size ÷ threshold`
(how many times over its bar the change is), so a success rate down 3 points (6 × its 0.5-point
bar) comes before MRR up 1 % (2 × its 0.5 % bar). At most MAX_SENTENCES are kept; when nothing
crosses a bar, one sentence says so with the two headline figures. docs/WEEKLY.md has the table.
Account-supplied names (customers, endpoint URLs) go in verbatim: consumers escape them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from metrics.money import format_money
from metrics.signals_driver import BRAND_NAMES, shift_share
from metrics.summary import Movements
from metrics.webhooks import HEALTHY_AT as WEBHOOKS_HEALTHY_AT
from metrics.weekly_model import CustomerChange, DisputeRow, EndpointRow, Figure

Counts = tuple[int, int]  # attempted, succeeded
SegmentCounts = Mapping[tuple[str, str, str], Counts]  # (brand, country, decline code) → counts


@dataclass(frozen=True)
class Rule:
    """When a topic earns a sentence: a change of at least `threshold` (in the topic's unit)
    with at least `min_sample` observations in each week; importance `weight` per threshold."""

    threshold: float
    min_sample: int
    weight: float


RULES: dict[str, Rule] = {
    # percentage points of success rate; attempts in each week
    "payments.success_rate": Rule(threshold=0.5, min_sample=50, weight=1.0),
    # percent of last week's MRR; customers moving this week (an FX-only change has none)
    "mrr": Rule(threshold=0.5, min_sample=0, weight=1.0),
    # disputes needing a response by a week after the week's end
    "disputes.due": Rule(threshold=1, min_sample=0, weight=2.0),
    # percentage points of delivery below the healthy 99.5 %; events judged this week
    "webhooks": Rule(threshold=0.25, min_sample=20, weight=1.0),
    # subscriptions churned after failed payments this week
    "churn.involuntary": Rule(threshold=2, min_sample=0, weight=0.5),
}
MAX_SENTENCES = 5
MOST_OF = 0.5  # a driver explaining at least this share of a change is "most of" it
NAMED_CUSTOMERS = 3  # customers a movement sentence names
DISPUTE_HORIZON = timedelta(days=7)  # deadlines this soon after the week's end are due
VERBS = {
    "new": "signed up",
    "reactivation": "came back",
    "expansion": "upgraded",
    "contraction": "downgraded",
    "churn": "churned",
}


@dataclass(frozen=True)
class Candidate:
    """A sentence and how important it is (`weight × size ÷ threshold`)."""

    importance: float
    text: str


def qualifies(rule: Rule, size: float, sample: int) -> bool:
    """Whether a change of `size` seen over `sample` observations earns a sentence."""
    return abs(size) >= rule.threshold and sample >= rule.min_sample


def importance(rule: Rule, size: float) -> float:
    return rule.weight * abs(size) / rule.threshold


def ordered(candidates: Sequence[Candidate | None]) -> tuple[str, ...]:
    """The sentences, most important first (ties: the order given), at most MAX_SENTENCES."""
    found = [(-c.importance, n, c.text) for n, c in enumerate(candidates) if c is not None]
    return tuple(text for _, _, text in sorted(found)[:MAX_SENTENCES])


def success_rate(figure: Figure, now: SegmentCounts, before: SegmentCounts) -> Candidate | None:
    """ "Success rate fell 2.1 points to 93.4%; most of the drop is Visa cards issued in BR
    declining with do_not_honor (41 of 52 failures)." The driver is the brand × country whose
    rate and mix effects (shift-share, metrics.signals_driver) moved the rate most the same way,
    and for a drop its commonest decline code this week."""
    rule = RULES["payments.success_rate"]
    attempts = min(_attempts(now), _attempts(before))
    if (
        figure.change is None
        or figure.this_week is None
        or not qualifies(rule, figure.change, attempts)
    ):
        return None
    fell = figure.change < 0
    head = (
        f"Success rate {'fell' if fell else 'rose'} {abs(figure.change):.1f} points "
        f"to {figure.this_week:.1%}"
    )
    driver = _success_driver(now, before, figure.change / 100)
    return Candidate(importance(rule, figure.change), f"{head}{driver}.")


def _success_driver(now: SegmentCounts, before: SegmentCounts, change: float) -> str:
    """ "; most of the drop is …" for the segment that moved the rate most in its direction."""
    effects = shift_share(_segments(before), _segments(now))
    sign = -1 if change < 0 else 1
    moved = {segment: sign * sum(parts) for segment, parts in effects.items()}
    segment = max(moved, key=lambda s: (moved[s], s))
    if moved[segment] <= 0:
        return ""
    share = min(1.0, moved[segment] / abs(change))
    noun = "drop" if change < 0 else "rise"
    which = f"the largest part ({share:.0%}) of the {noun} is"
    if share >= MOST_OF:
        which = f"most of the {noun} is"
    brand, country = segment
    cards = _cards(brand, country)
    failures = {key[2]: n - ok for key, (n, ok) in now.items() if key[:2] == segment and n > ok}
    total = sum(n - ok for n, ok in now.values())
    if change < 0 and failures:
        code = min(failures, key=lambda c: (-failures[c], c))
        why = f"declining with {code}" if code else "declining without a decline code"
        return f"; {which} {cards} {why} ({failures[code]} of {total} failures)"
    earlier = sum(n - ok for key, (n, ok) in before.items() if key[:2] == segment)
    return f"; {which} {cards} ({sum(failures.values())} failures, {earlier} last week)"


def mrr(
    figure: Figure,
    movements: Movements,
    movers: Sequence[CustomerChange],
    customers: Mapping[str, int],
    currency: str,
) -> Candidate | None:
    """ "MRR rose $1,240.00 (+3.2%), mostly expansion: Acme, Globex and Initech upgraded." The
    driver is this week's movement (new, reactivation, expansion, contraction, churn, FX) that
    moved MRR most the same way, and the customers behind it, largest first (`movers`, the
    largest of each kind; `customers`, how many customers each kind has in all)."""
    rule = RULES["mrr"]
    parts = _movement_parts(movements)
    if not figure.change or figure.last_week is None or not parts:
        return None
    change = figure.change
    percent = 100 * change / figure.last_week if figure.last_week else rule.threshold
    if not qualifies(rule, percent, sum(customers.values())):
        return None
    sign = 1 if change > 0 else -1
    kind = max(parts, key=lambda k: (sign * parts[k], k))
    text = f"MRR {'rose' if change > 0 else 'fell'} {format_money(abs(change), currency)}"
    if figure.last_week:
        text += f" ({percent:+.1f}%)"
    if sign * parts[kind] > 0:
        lead = "mostly" if sign * parts[kind] >= MOST_OF * abs(change) else "the largest part"
        text += f", {lead} {'FX revaluation' if kind == 'fx' else kind}"
        names = [m.name or m.customer for m in movers if m.kind == kind]
        if names:
            text += f": {_listed(names, customers.get(kind, len(names)))} {VERBS[kind]}"
    return Candidate(importance(rule, percent), f"{text}.")


def disputes_due(disputes: Sequence[DisputeRow], week_end: datetime) -> Candidate | None:
    """ "2 disputes need a response ($98.00); the first, Dana's $49.00 (fraudulent), is due
    2025-02-07 12:00 UTC." Due: open without evidence at the week's end, with a deadline
    (paylens' 7 days from opening, or Stripe's `due_by` when sooner) less than DISPUTE_HORIZON
    after the week's end, or already past ("was due")."""
    rule = RULES["disputes.due"]
    due = sorted(
        (
            (deadline, row)
            for row in disputes
            if row.needs_response
            and (deadline := _deadline(row)) is not None
            and deadline < week_end + DISPUTE_HORIZON
        ),
        key=lambda pair: (pair[0], pair[1].dispute),
    )
    if not qualifies(rule, len(due), 0):
        return None
    first_at, first = due[0]
    what = f"{format_money(first.amount, first.currency)} ({first.reason or 'no reason given'})"
    if first.customer:
        what = f"{first.customer}'s {what}"
    at = f"{first_at:%Y-%m-%d %H:%M} UTC"
    if len(due) == 1:
        late = "overdue since" if first_at < week_end else "due"
        text = f"1 dispute needs a response: {what}, {late} {at}"
    else:
        amounts: dict[str, float] = {}
        for _, row in due:
            amounts[row.currency] = amounts.get(row.currency, 0.0) + row.amount
        total = " + ".join(format_money(v, c) for c, v in sorted(amounts.items()))
        when = "was" if first_at < week_end else "is"
        text = f"{len(due)} disputes need a response ({total}); the first, {what}, {when} due {at}"
    return Candidate(importance(rule, len(due)), f"{text}.")


def webhooks(delivery: Figure, endpoints: Sequence[EndpointRow], judged: int) -> Candidate | None:
    """ "Webhook delivery was 97.2% (38 of 1,360 events undelivered); the most affected endpoint
    is https://… (38 events still awaited a day on)." Below the healthy 99.5 % by the rule's
    threshold, with enough events judged."""
    rule = RULES["webhooks"]
    if delivery.this_week is None:
        return None
    shortfall = 100 * (WEBHOOKS_HEALTHY_AT - delivery.this_week)
    if shortfall <= 0 or not qualifies(rule, shortfall, judged):
        return None
    missed = round(judged * (1 - delivery.this_week))
    text = f"Webhook delivery was {delivery.this_week:.1%} ({missed:,} of {judged:,} events"
    text += " undelivered)"
    worst = max(endpoints, key=lambda e: (e.failures, e.timeouts, e.endpoint), default=None)
    if worst is not None and worst.failures:
        text += f"; the most affected endpoint is {worst.url} ({worst.failures:,} events awaited"
        text += f", {worst.timeouts:,} of them for over a day)" if worst.timeouts else ")"
    disabled = sum(1 for endpoint in endpoints if endpoint.status == "disabled")
    if disabled:
        text += f"; {disabled} endpoint{'s are' if disabled != 1 else ' is'} disabled"
    return Candidate(importance(rule, shortfall), f"{text}.")


def involuntary(churned: Figure, recovered: Figure, currency: str) -> Candidate | None:
    """ "5 subscriptions churned after failed payments (2 last week); $120.00 of failed
    subscription payments was recovered." """
    rule = RULES["churn.involuntary"]
    count = int(churned.this_week or 0)
    if not qualifies(rule, count, 0):
        return None
    before = int(churned.last_week or 0)
    text = f"{count} subscriptions churned after failed payments ({before} last week)"
    if recovered.this_week:
        text += f"; {format_money(recovered.this_week, currency)} of failed subscription payments"
        text += " was recovered"
    return Candidate(importance(rule, count), f"{text}.")


def quiet(success: Figure, revenue: Figure, currency: str) -> str:
    """The sentence when nothing crosses a bar: the two headline figures and their changes."""
    parts = []
    if success.this_week is not None:
        points = f" ({success.change:+.1f} points)" if success.change is not None else ""
        parts.append(f"success rate {success.this_week:.1%}{points}")
    if revenue.this_week is not None:
        change = ""
        if revenue.change is not None and revenue.last_week:
            change = f" ({100 * revenue.change / revenue.last_week:+.1f}%)"
        parts.append(f"MRR {format_money(revenue.this_week, currency)}{change}")
    return "Nothing moved past the review's thresholds" + (
        f": {', '.join(parts)}." if parts else "."
    )


def _deadline(row: DisputeRow) -> datetime | None:
    dates = [moment for moment in (row.respond_by, row.due_by) if moment is not None]
    return min(dates) if dates else None


def _movement_parts(movements: Movements) -> dict[str, float]:
    """The signed movements of the week (contraction and churn negative); {} when FX stops them."""
    values = {
        "new": movements.new,
        "reactivation": movements.reactivation,
        "expansion": movements.expansion,
        "contraction": None if movements.contraction is None else -movements.contraction,
        "churn": None if movements.churn is None else -movements.churn,
        "fx": movements.fx,
    }
    if any(value is None for value in values.values()):
        return {}
    return {kind: float(value or 0.0) for kind, value in values.items()}


def _segments(counts: SegmentCounts) -> dict[tuple[str, str], Counts]:
    """Brand × country, every decline code added up."""
    result: dict[tuple[str, str], Counts] = {}
    for (brand, country, _), (attempted, succeeded) in counts.items():
        n, ok = result.get((brand, country), (0, 0))
        result[(brand, country)] = (n + attempted, ok + succeeded)
    return result


def _attempts(counts: SegmentCounts) -> int:
    return sum(n for n, _ in counts.values())


def _cards(brand: str, country: str) -> str:
    """ "Visa cards issued in BR" (unknown parts left out)."""
    name = BRAND_NAMES.get(brand, brand.replace("_", " ").title())
    noun = f"{name} cards" if name else "cards"
    return f"{noun} issued in {country}" if country else noun


def _listed(names: Sequence[str], total: int) -> str:
    """ "Acme", "Acme and Globex", "Acme, Globex and Initech", "Acme, Globex, Initech and 2
    others" (`total`: how many there are, `names` the largest of them)."""
    shown = list(names[:NAMED_CUSTOMERS])
    rest = max(total, len(names)) - len(shown)
    if rest > 0:
        return f"{', '.join(shown)} and {rest} other{'s' if rest != 1 else ''}"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"

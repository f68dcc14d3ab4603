"""What drives a drop in payment success: a shift-share decomposition over card segments.

The segments are card brand × card country × card funding, and within the one that explains
most of the drop, the decline code with most failures. Issuer and BIN would be finer, but
Stripe's API does not give them: `payment_method_details.card.issuer` and `.iin` are marked
"for internal use only and not typically available in standard API requests", so the driver
uses what every charge carries (brand, country, funding, decline code).

Shift-share (the standard decomposition of a change in a weighted average): with w_s the share
of attempts of segment s and r_s its success rate, in the baseline (w, r) and the window
(w', r'), the change in the overall rate R is

    Δ = R' − R = Σ_s (w'_s r'_s − w_s r_s) = Σ_s rate_effect_s + Σ_s mix_effect_s
    rate_effect_s = (r'_s − r_s) × (w_s + w'_s) ÷ 2          its own rate changed
    mix_effect_s  = (w'_s − w_s) × ((r_s + r'_s) ÷ 2 − R)    its share of attempts changed

Midpoint weights split the interaction term evenly, so the sum is exact. The mix effect is
measured against the baseline's overall rate R: a segment that grows hurts only if it converts
below the average (Σ_s (w'_s − w_s) = 0, so subtracting R changes no sum). A segment present in
one period only has no rate in the other; its rate is taken as unchanged there, so all of its
effect is mix.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

import duckdb

from metrics.signals_payments import RateWindow, Span
from metrics.signals_query import naive_utc, rows

K = TypeVar("K", bound=Hashable)
Segment = tuple[str, str, str]  # card_brand, card_country, card_funding ('' when unknown)
Counts = tuple[int, int]  # attempted, succeeded
SEGMENT_KEYS = ("card_brand", "card_country", "card_funding", "decline")
FUNDINGS = ("credit", "debit", "prepaid")  # Stripe's `card.funding` besides "unknown"
BRAND_NAMES = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos Australia",
    "interac": "Interac",
    "jcb": "JCB",
    "link": "Link",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
    "unknown": "",
}


@dataclass(frozen=True)
class Driver:
    """The segment that explains most of a drop in success, and its commonest decline code.

    `segment` has the keys card_brand, card_country, card_funding ('' when unknown) and
    decline (outcome.reason, else network_decline_code, else failure_code). `failures` are the
    window's failures of that segment with that code, `attempted` the attempts of the segment
    (brand × country × funding, any outcome). `rate_effect` and `mix_effect` are the segment's
    parts of the change in success rate (negative: they lowered it; 0.0 without a baseline),
    `share_of_drop` their sum over the whole change, clamped to 0..1 (one segment can explain
    more than all of a drop that others partly offset), or, when there is no baseline or no
    drop, `failures` ÷ `total_failures`.
    """

    segment: Mapping[str, str]
    failures: int
    total_failures: int
    attempted: int
    rate_effect: float
    mix_effect: float
    share_of_drop: float
    text: str
    segment_failures: int = 0  # every failure of the segment, whatever the code
    rate: float | None = None  # the segment's success rate in the window
    baseline_rate: float | None = None  # and in the baseline (None: absent, or no baseline)


def decline_driver(
    con: duckdb.DuckDBPyConnection, *, window: RateWindow, baseline: RateWindow | None
) -> Driver | None:
    """The driver of the window's failures; None when the window has none.

    Steps: count attempts per segment × decline code in the window (and the baseline's spans);
    decompose the change of rate (shift-share, see the module); pick the segment with failures
    whose rate + mix effect is the most negative, and in it the code with most failures. Without
    a baseline, or when the rate did not drop, pick the segment × code with most failures.
    """
    current = _counts(con, window.pooled())
    total_failures = sum(attempted - succeeded for attempted, succeeded in current.values())
    if total_failures == 0:
        return None
    now = _by_segment(current)
    before = _by_segment(_counts(con, baseline.pooled())) if baseline is not None else {}
    effects = shift_share(before, now) if before else {}
    change = _rate(_total(now)) - _rate(_total(before)) if before else 0.0
    segment, code, share = _pick(current, effects, change)
    failures = current[(*segment, code)][0] - current[(*segment, code)][1]
    rate_effect, mix_effect = effects.get(segment, (0.0, 0.0))
    return Driver(
        segment=MappingProxyType(dict(zip(SEGMENT_KEYS, (*segment, code), strict=True))),
        failures=failures,
        total_failures=total_failures,
        attempted=now[segment][0],
        rate_effect=rate_effect,
        mix_effect=mix_effect,
        share_of_drop=share if share is not None else failures / total_failures,
        text=describe(*segment, code, failures, total_failures),
        segment_failures=now[segment][0] - now[segment][1],
        rate=_rate(now[segment]),
        baseline_rate=_rate(before[segment]) if segment in before else None,
    )


def shift_share(
    baseline: Mapping[K, Counts], window: Mapping[K, Counts]
) -> dict[K, tuple[float, float]]:
    """{segment: (rate_effect, mix_effect)} of the change in success rate from `baseline` to
    `window`, each given as {segment: (attempted, succeeded)} (formulas in the module's
    docstring). Over all segments the effects add up to the change. Both periods need attempts.
    """
    base_total, window_total = _total(baseline), _total(window)
    if base_total[0] == 0 or window_total[0] == 0:
        raise ValueError("shift-share needs attempts in both periods")
    base_rate = _rate(base_total)
    effects: dict[K, tuple[float, float]] = {}
    for segment in sorted({*baseline, *window}, key=repr):
        n, ok = baseline.get(segment, (0, 0))
        n2, ok2 = window.get(segment, (0, 0))
        if not n and not n2:
            effects[segment] = (0.0, 0.0)
            continue
        share, share2 = n / base_total[0], n2 / window_total[0]
        rate = ok / n if n else ok2 / n2  # absent in one period: its rate unchanged there
        rate2 = ok2 / n2 if n2 else rate
        rate_effect = (rate2 - rate) * (share + share2) / 2
        mix_effect = (share2 - share) * ((rate + rate2) / 2 - base_rate)
        effects[segment] = (rate_effect, mix_effect)
    return effects


def describe(
    brand: str, country: str, funding: str, decline: str, failures: int, total: int
) -> str:
    """The driver in words: "Visa credit cards issued in BR declining with do_not_honor, 41 of
    52 failures" (brand by its display name; unknown parts left out)."""
    brand_name = BRAND_NAMES.get(brand, brand.replace("_", " ").title())
    kind = funding if funding in FUNDINGS else ""
    noun = " ".join(part for part in (brand_name, kind, "cards") if part)
    where = f" issued in {country}" if country else ""
    why = f" declining with {decline}" if decline else " declining without a decline code"
    plural = "failure" if total == 1 else "failures"
    return f"{noun[0].upper()}{noun[1:]}{where}{why}, {failures} of {total} {plural}"


def _counts(
    con: duckdb.DuckDBPyConnection, spans: tuple[Span, ...]
) -> dict[tuple[str, ...], Counts]:
    """{(brand, country, funding, decline): (attempted, succeeded)} over `spans`."""
    starts = [naive_utc(start, "start") for start, _ in spans]
    ends = [naive_utc(stop, "end") for _, stop in spans]
    params = {"since": min(starts), "as_of": max(ends), "starts": starts, "ends": ends}
    found = rows(con, ["signal_attempts.sql", "signal_decline_segments.sql"], params)
    return {tuple(row[:4]): (int(row[4]), int(row[5])) for row in found}


def _by_segment(counts: Mapping[tuple[str, ...], Counts]) -> dict[Segment, Counts]:
    """The counts per brand × country × funding, every decline code added up."""
    result: dict[Segment, Counts] = {}
    for key, (attempted, succeeded) in counts.items():
        before = result.get(_segment(key), (0, 0))
        result[_segment(key)] = (before[0] + attempted, before[1] + succeeded)
    return result


def _pick(
    current: Mapping[tuple[str, ...], Counts],
    effects: Mapping[Segment, tuple[float, float]],
    change: float,
) -> tuple[Segment, str, float | None]:
    """(segment, decline code, share of the drop): by shift-share when the rate dropped and a
    failing segment lowered it, else the segment × code with most failures (share None)."""
    failing = {key: n - ok for key, (n, ok) in current.items() if n > ok}
    if change < 0 and effects:
        per_segment: dict[Segment, int] = {}
        for key, n in failing.items():
            per_segment[_segment(key)] = per_segment.get(_segment(key), 0) + n
        worst = min(per_segment, key=lambda s: (sum(effects[s]), -per_segment[s], s))
        if sum(effects[worst]) < 0:
            codes = [(-n, key[3]) for key, n in failing.items() if _segment(key) == worst]
            return worst, min(codes)[1], min(1.0, max(0.0, sum(effects[worst]) / change))
    key = min(failing, key=lambda key: (-failing[key], key))
    return _segment(key), key[3], None


def _segment(key: tuple[str, ...]) -> Segment:
    return (key[0], key[1], key[2])


def _total(counts: Mapping[K, Counts]) -> Counts:
    return (sum(n for n, _ in counts.values()), sum(ok for _, ok in counts.values()))


def _rate(counts: Counts) -> float:
    return counts[1] / counts[0] if counts[0] else 0.0

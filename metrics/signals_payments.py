"""Payment success over windows of time, for the alert engine: the window, its baseline in
previous weeks, a trend inside it, and the Wilson interval a sampled rate is judged with.

Attempts are raw charges (one attempt per charge, as `metrics.payments` raw): a decline spike is
what card networks see, and every retry of it is one more decline. Windows are (start, end]
in aware UTC datetimes, at the account's clock; the queries (`sql/signal_attempts.sql`,
`sql/signal_success_buckets.sql`) take them as parameters and read no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from statistics import NormalDist

import duckdb

from metrics.signals_query import as_utc, microseconds, naive_utc, positive, rows

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class RateWindow:
    """Payment success over (start, end] (aware UTC): charges that succeeded or failed
    (pending not counted) created in the window; `rate` None without attempts.

    `spans` are the stretches of time pooled, each (start, end]: one for a window, one per
    week for a baseline (its `start` and `end` are then the earliest start and latest end, and
    the time between the spans is not counted). Empty means ((start, end),).
    """

    start: datetime
    end: datetime
    attempted: int
    succeeded: int
    rate: float | None
    widened: bool
    spans: tuple[Span, ...] = ()

    def pooled(self) -> tuple[Span, ...]:
        """The spans this window counts, each (start, end]."""
        return self.spans or ((self.start, self.end),)


@dataclass(frozen=True)
class TrendPoint:
    """Success over the sub-window ending at `end` (aware UTC); `rate` None without attempts."""

    end: datetime
    attempted: int
    rate: float | None


def success_window(
    con: duckdb.DuckDBPyConnection,
    *,
    end: datetime,
    window: timedelta,
    min_sample: int = 0,
    max_window: timedelta | None = None,
) -> RateWindow:
    """Payment success over (end − window, end].

    With `max_window`, a window holding fewer than `min_sample` attempts is widened hour by
    hour (window + 1 h, + 2 h, …, the last step capped at `max_window`) to the first width
    that holds `min_sample`, or to `max_window` when none does (then `attempted` is still below
    `min_sample`: the caller decides whether that is "no data"). Hour by hour rather than by
    doubling: the widened window stays as close to the asked one as the sample allows, so a
    quiet night is judged on the last few hours, not on half a day. One query counts every
    step (the attempts per hour of age beyond the window).
    """
    naive_utc(end, "end")
    positive(window, "window")
    if max_window is not None and max_window < window:
        raise ValueError(f"max_window ({max_window}) is shorter than window ({window})")
    if max_window is None or min_sample <= 0 or max_window == window:
        counts = _buckets(con, [(end - window, end)], origin=timedelta(0), parts=1, span=window)
        return _window(end - window, end, *counts.get(0, (0, 0)), widened=False)
    # bucket k: the attempts a window of `window + k hours` takes in and a shorter one does not
    counts = _buckets(con, [(end - max_window, end)], origin=window - HOUR, parts=1, span=HOUR)
    steps = math.ceil((max_window - window) / HOUR)
    attempted = succeeded = 0
    for k in range(steps + 1):
        more = counts.get(k, (0, 0))
        attempted, succeeded = attempted + more[0], succeeded + more[1]
        if attempted >= min_sample or k == steps:
            width = min(window + k * HOUR, max_window)
            return _window(end - width, end, attempted, succeeded, widened=k > 0)
    raise AssertionError("unreachable: the last step returns")


def success_baseline(
    con: duckdb.DuckDBPyConnection, *, window: RateWindow, weeks: int = 4
) -> RateWindow | None:
    """The same hours of the previous `weeks` weeks, pooled: (start − 7 d × k, end − 7 d × k]
    for k = 1 … weeks; None when they hold no attempts.

    Pooled (one rate over all the weeks' attempts), not averaged per week: a quiet week weighs
    what it holds. The result's `start`/`end` are the earliest start and the latest end, its
    `spans` the weeks (oldest first) and `widened` the window's (the baseline has its shape).
    A window longer than a week would overlap its own baseline: refused.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    length = window.end - window.start
    positive(length, "the window's length")
    if length > WEEK:
        raise ValueError(f"a window of {length} is longer than a week: its weeks would overlap")
    spans = [(window.start - WEEK * k, window.end - WEEK * k) for k in range(weeks, 0, -1)]
    counts = _buckets(con, spans, origin=timedelta(0), parts=1, span=length)
    attempted, succeeded = counts.get(0, (0, 0))
    if attempted == 0:
        return None
    pooled = _window(spans[0][0], spans[-1][1], attempted, succeeded, widened=window.widened)
    return replace(pooled, spans=tuple((as_utc(start), as_utc(stop)) for start, stop in spans))


def success_trend(
    con: duckdb.DuckDBPyConnection, *, end: datetime, window: timedelta, points: int = 12
) -> tuple[TrendPoint, ...]:
    """The success rate over `points` consecutive sub-windows of length window ÷ points that
    tile (end − window, end], oldest first; each point is dated by its sub-window's end.

    Sub-window edges are exact in microseconds (the bucket of an attempt is computed in
    integers); a point's `end` is rounded to the microsecond when window ÷ points is not whole.
    """
    naive_utc(end, "end")
    positive(window, "window")
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points}")
    counts = _buckets(con, [(end - window, end)], origin=timedelta(0), parts=points, span=window)
    trend = []
    for age in range(points - 1, -1, -1):  # bucket 0 is the newest
        attempted, succeeded = counts.get(age, (0, 0))
        rate = succeeded / attempted if attempted else None
        trend.append(TrendPoint(end=end - window * age / points, attempted=attempted, rate=rate))
    return tuple(trend)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion: (low, high), 0 ≤ low ≤ high ≤ 1.

    Wilson rather than the normal ("Wald") interval: it stays inside [0, 1] and is honest for
    small samples and rates near 100 %, which is where payment success lives (Wald gives 10/10
    an interval of zero width). z is the two-sided normal quantile of `confidence`.
    (0.0, 1.0) when n is 0: nothing is known.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def _window(
    start: datetime, end: datetime, attempted: int, succeeded: int, *, widened: bool
) -> RateWindow:
    rate = succeeded / attempted if attempted else None
    return RateWindow(
        start=as_utc(start), end=as_utc(end), attempted=attempted, succeeded=succeeded,
        rate=rate, widened=widened, spans=((as_utc(start), as_utc(end)),),
    )  # fmt: skip


def _buckets(
    con: duckdb.DuckDBPyConnection,
    spans: list[Span],
    *,
    origin: timedelta,
    parts: int,
    span: timedelta,
) -> dict[int, tuple[int, int]]:
    """{bucket: (attempted, succeeded)} over `spans` (see sql/signal_success_buckets.sql)."""
    starts = [naive_utc(start, "start") for start, _ in spans]
    ends = [naive_utc(stop, "end") for _, stop in spans]
    params = {
        "since": min(starts),
        "as_of": max(ends),
        "starts": starts,
        "ends": ends,
        "origin_us": microseconds(origin),
        "parts": parts,
        "span_us": microseconds(span),
    }
    found = rows(con, ["signal_attempts.sql", "signal_success_buckets.sql"], params)
    return {int(bucket): (int(attempted), int(succeeded)) for bucket, attempted, succeeded in found}

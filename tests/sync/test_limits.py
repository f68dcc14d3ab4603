"""The client-side token buckets, on a fake clock: how many requests they let through, and when."""

from __future__ import annotations

import itertools
import threading

from sync.limits import RateLimiter, default_rate, endpoint_of


class FakeTime:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def _admitted_times(limiter: RateLimiter, fake: FakeTime, paths: list[str]) -> list[float]:
    times = []
    for path in paths:
        limiter.acquire(path)
        times.append(fake.now)
    return times


def test_the_global_bucket_spaces_requests_at_its_rate() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 100, clock=fake.clock, sleep=fake.sleep)
    times = _admitted_times(limiter, fake, ["/v1/charges", "/v1/customers"] * 10)
    assert round(times[-1] - times[0], 6) == 1.9  # 20 requests at 10/s: 19 gaps of 0.1 s
    assert all(later - earlier >= 0.1 - 1e-9 for earlier, later in itertools.pairwise(times))


def test_one_endpoint_is_held_to_its_own_rate_while_the_global_one_has_room() -> None:
    fake = FakeTime()
    limiter = RateLimiter(100, 4, clock=fake.clock, sleep=fake.sleep)
    times = _admitted_times(
        limiter, fake, ["/v1/invoices/in_1/lines", "/v1/invoices/in_2/lines"] * 4
    )
    assert round(times[-1] - times[0], 6) == 1.75  # 8 requests to one endpoint at 4/s


def test_no_stretch_of_time_carries_more_than_rate_times_its_length_plus_two() -> None:
    fake = FakeTime()
    limiter = RateLimiter(25, 10, clock=fake.clock, sleep=fake.sleep)
    paths = [f"/v1/{name}" for name in ("charges", "invoices", "customers", "events")] * 30
    times = _admitted_times(limiter, fake, paths)
    for start in times:
        assert sum(1 for t in times if start <= t < start + 1.0) <= 25 + 2


def test_endpoints_are_grouped_as_stripe_counts_them() -> None:
    assert endpoint_of("/v1/charges?limit=3") == "/v1/charges"
    assert endpoint_of("/v1/invoices/in_1/lines") == "/v1/invoices/{id}/lines"
    assert endpoint_of("http://127.0.0.1:9/v1/subscription_items?subscription=s") == (
        "/v1/subscription_items"
    )


def test_test_keys_get_the_test_mode_rate_and_live_keys_the_live_one() -> None:
    assert [default_rate(k) for k in ("sk_test_1", "rk_test_1", "sk_live_1", "rk_live_1")] == [
        20.0,
        20.0,
        90.0,
        90.0,
    ]


def test_a_priority_endpoint_leaves_no_claim_behind() -> None:
    """Nested-list follow-ups claim the global bucket while they wait; once admitted, the other
    endpoints are spaced by the global rate alone again."""
    fake = FakeTime()
    limiter = RateLimiter(10, 100, clock=fake.clock, sleep=fake.sleep)
    paths = ["/v1/invoices/in_1/lines", "/v1/charges", "/v1/subscription_items", "/v1/events"]
    times = _admitted_times(limiter, fake, paths * 5)
    assert round(times[-1] - times[0], 6) == 1.9  # 20 requests at 10/s, whichever endpoint


def test_a_priority_endpoint_is_still_held_to_its_own_rate() -> None:
    fake = FakeTime()
    limiter = RateLimiter(100, 4, clock=fake.clock, sleep=fake.sleep)
    times = _admitted_times(limiter, fake, ["/v1/invoices/in_1/lines"] * 8)
    assert round(times[-1] - times[0], 6) == 1.75

"""The backfill's pacing: remaining work estimated from what the pages revealed, and the
endpoints that would be the tail ranked first."""

from __future__ import annotations

import pytest

from sync.pacing import (
    CRITICAL_RANK,
    UNKNOWN_RANK,
    nested_pages,
    ranks,
    remaining_pages,
    window_remaining,
)
from sync.windows import Window

NOW = 1_000_000
FLOOR = 100_000


def test_a_window_left_is_its_density_times_the_span_its_cursor_has_not_reached() -> None:
    # 500 objects between created 900,000 and 800,001 seen: 0.005 a second; 700,000 s to go
    window = Window("charges", 0, None, top=900_000, last=800_001, fetched=500)

    assert window_remaining(window, FLOOR, NOW) == pytest.approx(0.005 * 700_001)


def test_events_are_only_counted_back_30_days_and_finished_windows_not_at_all() -> None:
    events = Window("events", 0, None, fetched=1_000)
    done = Window("charges", 0, None, top=NOW, last=NOW - 10, fetched=100, finished=True)
    now = 10_000_000

    events.top, events.last = now, now - 1_000
    assert window_remaining(events, FLOOR, now) == pytest.approx(
        1_000 / 1_001 * (30 * 86_400 - 1_000)
    )
    assert window_remaining(done, FLOOR, NOW) == 0.0


def test_a_split_off_window_not_fetched_yet_uses_the_density_it_was_cut_with() -> None:
    older = Window("invoices", 200_000, 299_999, density=0.01)

    assert window_remaining(older, FLOOR, NOW) == pytest.approx(0.01 * 99_999)


def test_a_resource_with_a_window_never_seen_is_unknown() -> None:
    seen = Window("charges", 0, None, top=900_000, last=899_001, fetched=100)
    unseen = Window("charges", 0, 500_000)

    assert remaining_pages([seen], FLOOR, NOW)["charges"] == pytest.approx(0.1 * 799_001 / 100)
    assert remaining_pages([seen, unseen], FLOOR, NOW) == {"charges": None}
    assert remaining_pages([seen], None, NOW) == {"charges": None}


def test_a_nested_list_is_its_ratio_to_the_parents_pages_plus_what_is_queued() -> None:
    assert nested_pages(parent_left=40.0, parent_pages=10, child_pages=30, queued=5) == 125.0
    assert nested_pages(parent_left=None, parent_pages=10, child_pages=30, queued=5) is None
    assert nested_pages(parent_left=40.0, parent_pages=0, child_pages=0, queued=0) is None


def test_the_endpoints_that_would_be_the_tail_rank_first() -> None:
    # a large account: charges, invoices and lines each need ~450 s alone at 24/s; all pages
    # together need 478 s at 90/s; events and customers are far from critical
    left = {
        "/v1/charges": 11_400.0,
        "/v1/invoices": 11_000.0,
        "/v1/invoices/{id}/lines": 10_000.0,
        "/v1/events": 4_000.0,
        "/v1/customers": 1_000.0,
        "/v1/disputes": None,
    }

    assert ranks(left, 90, 24) == {
        "/v1/charges": CRITICAL_RANK,
        "/v1/invoices": CRITICAL_RANK,
        "/v1/invoices/{id}/lines": CRITICAL_RANK,
        "/v1/events": 0,
        "/v1/customers": 0,
        "/v1/disputes": UNKNOWN_RANK,
    }


def test_on_a_small_account_the_nested_lines_are_the_tail() -> None:
    left = {"/v1/invoices/{id}/lines": 194.0, "/v1/charges": 66.0, "/v1/invoices": 65.0}

    assert ranks(left, 90, 24)["/v1/invoices/{id}/lines"] == CRITICAL_RANK
    assert ranks(left, 90, 24)["/v1/charges"] == 0
    assert ranks({"/v1/charges": 0.0}, 90, 24) == {"/v1/charges": 0}

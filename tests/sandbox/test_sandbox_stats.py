"""`paylens sandbox stats`: the demo preset looks like a typical B2B SaaS."""

from __future__ import annotations

import datetime as dt
from statistics import mean
from typing import Any

import pytest

from sandbox.sim import simulate
from sandbox.truth.stats import format_stats, monthly_stats


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return monthly_stats(simulate(42, dt.date(2026, 11, 20), "demo"))


def test_there_is_one_row_per_calendar_month_touched(rows: list[dict[str, Any]]) -> None:
    assert [r["month"] for r in rows][:2] == ["2024-11", "2024-12"]
    assert rows[-1]["month"] == "2026-11" and len(rows) == 25
    assert rows[0]["customers_start"] == 0


def test_the_last_twelve_months_land_in_the_typical_b2b_ranges(
    rows: list[dict[str, Any]],
) -> None:
    year = rows[-13:-1]
    churn = mean(r["churn_rate"] for r in year)
    success = sum(r["succeeded"] for r in year) / sum(r["charges"] for r in year)
    involuntary = sum(r["involuntary"] for r in year) / sum(r["churn_events"] for r in year)
    disputes = sum(r["disputes"] for r in year) / sum(r["succeeded"] for r in year)
    assert 0.02 <= churn <= 0.08
    assert 0.90 <= success <= 0.97
    assert 0.20 <= involuntary <= 0.40
    assert 0.0005 <= disputes <= 0.005


def test_the_table_has_a_header_and_a_line_per_month(rows: list[dict[str, Any]]) -> None:
    text = format_stats(rows)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["month", "cust", "new"]
    assert "mrr jpy" in lines[0]
    assert len(lines) == len(rows) + 1 and lines[-1].split()[0] == "2026-11"

"""`paylens report` refuses rates in another currency than the reporting one (never a relabelled
total) and says when its date is after the data's last day (issue 17 item 4)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from app.report import build_report
from app.settings import Settings
from sync.status import last_heard
from tests.metrics.scenarios import simulate_named, synced_snapshot

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "fx_rates.csv"  # rates in USD ("2020-01-01,usd,1.0")


@pytest.fixture(scope="module")
def currencies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("currencies"), tmp_path_factory.mktemp("currencies"))
    yield con
    con.close()


def _settings(tmp_path: Path, currency: str) -> Settings:
    return dataclasses.replace(
        Settings(), data_dir=tmp_path, fx_rates_file=EXAMPLE, reporting_currency=currency
    )


def _last_day(con: duckdb.DuckDBPyConnection) -> date:
    heard = last_heard(con)
    assert heard is not None
    return heard.date()


def test_usd_rates_for_a_chf_report_give_no_chf_total_and_one_warning_naming_the_line(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report(currencies, _settings(tmp_path, "chf"), date(2025, 2, 28))

    assert (report["mrr"], report["arr"], report["arpu"]) == (None, None, None)
    assert (
        f"{EXAMPLE}:2: rates are against USD, the reporting currency is CHF" in (report["warnings"])
    )


def test_the_same_rates_give_a_usd_total(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report(currencies, _settings(tmp_path, "usd"), date(2025, 2, 28))

    # €90, £80, ¥55,000 and $120 at the example's 1.08, 1.27 and 0.0067
    assert report["mrr"] == pytest.approx(120 + 90 * 1.08 + 80 * 1.27 + 55_000 * 0.0067)


def test_a_report_date_after_the_last_sync_says_so(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    last = _last_day(currencies)
    later = last + timedelta(days=10)

    report = build_report(currencies, _settings(tmp_path, "usd"), later)

    assert report["warnings"][-1] == (
        f"the report date {later} is after the data's last day, {last} (the last sync): "
        f"figures after {last} are not known yet, not zero"
    )


def test_a_report_on_the_last_synced_day_has_no_such_warning(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    last = _last_day(currencies)

    report = build_report(currencies, _settings(tmp_path, "usd"), last)

    assert [text for text in report["warnings"] if "after the data's last day" in text] == []

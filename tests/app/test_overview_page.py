"""The Overview page, run headless with Streamlit's AppTest against a real published snapshot:
the same figures as `paylens report` for the same range, on the sidebar's filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app.filters import account_day
from app.report import build_report
from app.settings import load_settings
from metrics.money import format_money
from metrics.overview_views import success_against_baseline
from sync.snapshots import SnapshotReader

ROOT = Path(__file__).resolve().parents[2]
# Through the entry point, as a browser opens it: `/` is the Overview, and its links to the
# other pages resolve.
PAGE = str(ROOT / "app" / "dashboard.py")
FX = str(ROOT / "docs" / "examples" / "fx_rates.csv")


@pytest.fixture
def data(monkeypatch: pytest.MonkeyPatch, synced_dir: Path) -> Iterator[Path]:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(synced_dir))
    monkeypatch.setenv("PAYLENS_FX_RATES_FILE", FX)
    yield synced_dir


def _report(data_dir: Path, since: date | None, as_of: date | None = None) -> dict[str, Any]:
    """`paylens report`'s dict for (since, as_of]; as_of defaults to the account's day."""
    reader = SnapshotReader(data_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    try:
        day = as_of or account_day(con)
        report = build_report(con, load_settings(), day, since or day - timedelta(days=30))
        report["baseline"] = success_against_baseline(con, date.fromisoformat(report["since"]), day)
    finally:
        reader.close()
    return report


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _money(value: float, *, signed: bool = False) -> str:
    text = format_money(value, "usd")
    return f"+{text}" if signed and value > 0 else text


def test_the_overview_shows_the_reports_figures_for_its_default_30_days(data: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    report = _report(data, None)
    moves = report["movements"]
    metrics = _metrics(at)
    assert report["active_subscriptions"] > 0
    assert metrics["MRR"] == format_money(report["mrr"], "usd")
    assert metrics["Net new MRR"] == _money(
        moves["new"] + moves["reactivation"] + moves["expansion"]
        - moves["contraction"] - moves["churn"],
        signed=True,
    )  # fmt: skip
    delta = {metric.label: metric.delta for metric in at.metric}
    assert delta["MRR"] == f"{_money(moves['end_mrr'] - moves['start_mrr'], signed=True)} in range"
    assert metrics["Active subscriptions"] == f"{report['active_subscriptions']:,}"
    assert metrics["Payment success rate"] == f"{report['payment_success_rate']:.2%}"
    baseline = report["baseline"]
    change = report["payment_success_rate"] - baseline.baseline
    assert delta["Payment success rate"] == f"{change:+.2%}".replace("%", " pp") + " vs before"
    assert metrics["Disputes due within 72 h"] == str(report["disputes"]["due_within_72h"])
    assert metrics["Webhook delivery"] == f"{report['webhook_delivery_rate']:.2%}"
    assert metrics["Firing alerts"] == "0"
    assert any("paylens report --since" in caption.value for caption in at.caption)
    assert f"--since {report['since']} --as-of {report['as_of']}" in at.caption[0].value


def test_a_range_from_the_query_parameters_changes_the_figures_as_the_report_does(
    data: Path,
) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["range"] = "7d"
    at.run()
    assert not at.exception
    seven = _report(data, None)
    seven = _report(data, date.fromisoformat(seven["as_of"]) - timedelta(days=7))
    metrics = _metrics(at)
    assert metrics["Payment success rate"] == f"{seven['payment_success_rate']:.2%}"
    assert at.sidebar.selectbox[0].value == "Last 7 days"
    links = {link.proto.page: link.proto.query_string for link in at.get("page_link")}
    assert links["alerts"] == "range=7d"  # each figure links to its page, on the same range
    assert links["health"] == "range=7d"

    custom = AppTest.from_file(PAGE, default_timeout=30)
    custom.query_params["from"] = "2026-09-01"
    custom.query_params["to"] = "2026-09-30"
    custom.run()
    assert not custom.exception
    september = _report(data, date(2026, 8, 31), date(2026, 9, 30))
    metrics = _metrics(custom)
    assert metrics["MRR"] == format_money(september["mrr"], "usd")
    assert metrics["Payment success rate"] == f"{september['payment_success_rate']:.2%}"
    assert custom.query_params == {"from": "2026-09-01", "to": "2026-09-30"}


def test_a_missing_fx_rate_is_a_warning_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, data: Path
) -> None:
    monkeypatch.delenv("PAYLENS_FX_RATES_FILE", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert _metrics(at)["MRR"] == "n/a"
    assert "eur" in at.warning[0].value.lower()


def test_before_the_first_sync_the_page_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert "Nothing has been synced yet" in at.info[0].value

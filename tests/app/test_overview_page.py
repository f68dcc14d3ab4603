"""The Overview page, run headless with Streamlit's AppTest against a real published snapshot."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.report import SUCCESS_RATE_DAYS, build_report
from app.settings import load_settings
from metrics.money import format_money
from sync.snapshots import SnapshotReader
from tests.conftest import UNTIL

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app" / "views" / "overview.py")


def _page(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> AppTest:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(data_dir))
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    at.sidebar.date_input[0].set_value(UNTIL).run()
    return at


def test_the_overview_shows_the_same_numbers_as_the_report(
    monkeypatch: pytest.MonkeyPatch, synced_dir: Path
) -> None:
    monkeypatch.setenv("PAYLENS_FX_RATES_FILE", str(ROOT / "docs" / "examples" / "fx_rates.csv"))
    at = _page(monkeypatch, synced_dir)
    assert not at.exception
    reader = SnapshotReader(synced_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    report = build_report(con, load_settings(), UNTIL, UNTIL - timedelta(days=SUCCESS_RATE_DAYS))
    reader.close()
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["MRR"] == format_money(report["mrr"], "usd")
    assert metrics["Active subscriptions"] == f"{report['active_subscriptions']:,}"
    assert metrics["Payment success rate (7 days)"] == f"{report['payment_success_rate']:.2%}"
    assert report["active_subscriptions"] > 0
    assert "Last sync:" in at.caption[0].value


def test_a_missing_fx_rate_is_a_warning_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, synced_dir: Path
) -> None:
    monkeypatch.delenv("PAYLENS_FX_RATES_FILE", raising=False)
    at = _page(monkeypatch, synced_dir)
    assert not at.exception
    assert {metric.label: metric.value for metric in at.metric}["MRR"] == "n/a"
    assert "eur" in at.warning[0].value.lower()


def test_before_the_first_sync_the_page_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert "Nothing has been synced yet" in at.info[0].value


DASHBOARD = str(ROOT / "app" / "dashboard.py")


def _all_text(at: AppTest) -> str:
    parts = [str(getattr(element, "value", "")) for element in at.main]
    parts += [str(getattr(element, "label", "")) for element in at.main]
    return "\n".join(parts)


def test_a_password_gates_the_dashboard_and_no_secret_reaches_the_page(
    monkeypatch: pytest.MonkeyPatch, synced_dir: Path
) -> None:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(synced_dir))
    monkeypatch.setenv("PAYLENS_DASHBOARD_PASSWORD", "correct-horse-4711")
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_never_shown_0042")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/never-shown-hook")
    at = AppTest.from_file(DASHBOARD, default_timeout=30).run()
    assert not at.exception
    assert not at.metric  # nothing shown before the password
    at.text_input[0].input("wrong").run()
    assert "Wrong password." in at.error[0].value
    assert not at.metric
    at.text_input[0].input("correct-horse-4711").run()
    assert not at.exception
    assert at.metric[0].label == "MRR"
    text = _all_text(at)
    for secret in ("correct-horse-4711", "sk_test_never_shown_0042", "never-shown-hook"):
        assert secret not in text

"""The Disputes page, run headless with Streamlit's AppTest on published snapshots of two
hand-written accounts: tests/app/scenario_files/disputes_page.toml (open, due soon, under review,
won and lost disputes in USD and JPY, a customer named in markup) and the sandbox's
payment_health (won, lost, and one due soon on a past day). Figures are the scenarios' own."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import ui
from app.report import build_report
from app.settings import load_settings
from metrics.money import format_money
from sandbox.scenario import load_scenario, simulate_scenario
from sync.snapshots import SnapshotReader
from tests.metrics.scenarios import simulate_named, synced_snapshot

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app" / "views" / "disputes.py")
SCENARIO = Path(__file__).resolve().parent / "scenario_files" / "disputes_page.toml"
RATES = ROOT / "docs" / "examples" / "fx_rates.csv"  # 1 JPY = 0.0067 USD
AMY = "<script>alert(1)</script> **Amy** [click](https://evil.example)"


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("disputes_page")
    synced_snapshot(simulate_scenario(load_scenario(SCENARIO)), data_dir).close()
    return data_dir


@pytest.fixture(scope="module")
def health_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("payment_health")
    synced_snapshot(simulate_named("payment_health"), data_dir).close()
    return data_dir


def _run(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, rates: bool = True, **params: str
) -> AppTest:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(data_dir))
    if rates:
        monkeypatch.setenv("PAYLENS_FX_RATES_FILE", str(RATES))
    else:
        monkeypatch.delenv("PAYLENS_FX_RATES_FILE", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_the_last_30_days_show_the_open_disputes_at_risk_and_both_dispute_rates(
    monkeypatch: pytest.MonkeyPatch, page_dir: Path
) -> None:
    at = _run(monkeypatch, page_dir)

    assert _metrics(at) == {
        "Open disputes": "3",
        "Amount at risk": "$265.66",  # $200.00 + ¥9,800 at 0.0067
        "Due within 72 h": "1",
        "New in range": "3",
        "Dispute rate (by dispute date)": "60.00%",
        "Dispute rate (by charge date)": "40.00%",
        "Win rate": "n/a",
        "Deadline passed": "0",
    }
    table = at.dataframe[0].value
    assert table["Time left"].tolist() == ["1 d 12 h", "7 d 12 h", "8 d 12 h"]
    assert table["Amount"].tolist() == ["$100.00", "¥9,800", "$100.00"]
    assert table["Evidence"].tolist() == ["not submitted", "not submitted", "submitted"]
    assert table["Due by (UTC)"].tolist() == [
        "2025-03-22 12:00", "2025-03-28 12:00", "2025-03-29 12:00"
    ]  # fmt: skip
    assert table["Customer name"].tolist() == [AMY, "Cho", "Ben"]
    assert at.dataframe[1].value["Charge date (UTC)"].str[:10].tolist() == [
        "2025-03-05", "2025-02-05", "2025-03-05"
    ]  # fmt: skip
    assert [button.key for button in at.get("download_button")] == [
        "csv-open_disputes",
        "csv-disputes_in_range",
    ]


def test_only_the_dispute_due_within_72_hours_is_red(
    monkeypatch: pytest.MonkeyPatch, page_dir: Path
) -> None:
    at = _run(monkeypatch, page_dir)

    [line] = [error.value for error in at.error]
    assert line.startswith("**Due in 1 d 12 h** (by 2025-03-22 12:00 UTC) · ")
    styles = at.dataframe[0].proto.arrow_data.styler.styles
    time_left = list(at.dataframe[0].value.columns).index("Time left")
    assert f"_row0_col{time_left} {{ background-color: #fde2e2" in styles
    assert "_row1_" not in styles and "_row2_" not in styles


def test_the_figures_are_the_reports(monkeypatch: pytest.MonkeyPatch, page_dir: Path) -> None:
    monkeypatch.setenv("PAYLENS_FX_RATES_FILE", str(RATES))
    at = _run(monkeypatch, page_dir)
    reader = SnapshotReader(page_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    report = build_report(con, load_settings(), date(2025, 3, 20), date(2025, 2, 18))["disputes"]
    reader.close()

    shown = _metrics(at)
    assert shown["Open disputes"] == f"{report['open']}"
    assert shown["Amount at risk"] == format_money(report["amount_at_risk"], "usd")
    assert shown["Due within 72 h"] == f"{report['due_within_72h']}"
    assert shown["New in range"] == f"{report['new']}"
    assert shown["Dispute rate (by dispute date)"] == f"{report['dispute_rate']:.2%}"


def test_a_customer_named_in_markup_is_shown_as_typed(
    monkeypatch: pytest.MonkeyPatch, page_dir: Path
) -> None:
    at = _run(monkeypatch, page_dir)

    [line] = [error.value for error in at.error]
    assert ui.plain(AMY) in line
    assert "<script>" not in line and "](https" not in line
    for element in (*at.markdown, *at.caption, *at.success, *at.info, *at.warning):
        assert "<script>" not in element.value


def test_query_parameters_choose_the_range_and_one_currency(
    monkeypatch: pytest.MonkeyPatch, page_dir: Path
) -> None:
    at = _run(monkeypatch, page_dir, range="90d", currency="jpy")

    shown = _metrics(at)
    assert (shown["Open disputes"], shown["Amount at risk"], shown["Due within 72 h"]) == (
        "1",
        "¥9,800",
        "0",
    )
    assert (shown["New in range"], shown["Dispute rate (by dispute date)"]) == ("1", "33.33%")
    assert at.dataframe[0].value["Customer name"].tolist() == ["Cho"]
    assert not at.error
    assert dict(at.query_params) == {"range": "90d", "currency": "jpy"}


def test_ninety_days_show_the_win_rate_of_the_closed_disputes(
    monkeypatch: pytest.MonkeyPatch, page_dir: Path
) -> None:
    shown = _metrics(_run(monkeypatch, page_dir, range="90d"))

    assert (shown["New in range"], shown["Win rate"]) == ("5", "50.00%")
    assert shown["Dispute rate (by dispute date)"] == shown["Dispute rate (by charge date)"]
    assert shown["Dispute rate (by charge date)"] == "33.33%"


def test_a_week_without_charges_has_no_dispute_rate(
    monkeypatch: pytest.MonkeyPatch, page_dir: Path
) -> None:
    shown = _metrics(_run(monkeypatch, page_dir, range="7d"))

    assert shown["New in range"] == "2"
    assert shown["Dispute rate (by dispute date)"] == "n/a"
    assert shown["Dispute rate (by charge date)"] == "n/a"


def test_without_fx_rates_the_total_at_risk_is_not_guessed(
    monkeypatch: pytest.MonkeyPatch, page_dir: Path
) -> None:
    at = _run(monkeypatch, page_dir, rates=False)

    assert _metrics(at)["Amount at risk"] == "n/a"
    assert "JPY" in at.warning[0].value


def test_after_every_deadline_there_are_no_open_disputes(
    monkeypatch: pytest.MonkeyPatch, health_dir: Path
) -> None:
    at = _run(monkeypatch, health_dir)

    assert at.success[0].value == "No open disputes at 2025-03-31 23:59 UTC."
    shown = _metrics(at)
    # March: hal's dispute (lost 03-31) against March's 7 charges
    assert (shown["Open disputes"], shown["New in range"], shown["Win rate"]) == ("0", "1", "0.00%")
    assert shown["Dispute rate (by dispute date)"] == "14.29%"
    assert at.dataframe[0].value["Customer name"].tolist() == ["Hal"]


def test_on_a_past_day_the_countdown_runs_from_its_end(
    monkeypatch: pytest.MonkeyPatch, health_dir: Path
) -> None:
    at = _run(monkeypatch, health_dir, to="2025-03-29")

    # hal's, due 2025-03-31 12:00: 36 hours after the end of 03-29
    [line] = [error.value for error in at.error]
    assert line.startswith("**Due in 1 d 12 h** (by 2025-03-31 12:00 UTC) · ")
    assert _metrics(at)["Amount at risk"] == "$100.00"


def test_a_range_without_disputes_says_so(
    monkeypatch: pytest.MonkeyPatch, health_dir: Path
) -> None:
    at = _run(monkeypatch, health_dir, range="7d")

    assert at.info[0].value == "No disputes in this range."
    assert not at.dataframe
    assert _metrics(at)["New in range"] == "0"


def test_an_alerts_link_to_one_dispute_shows_it_first(
    monkeypatch: pytest.MonkeyPatch, page_dir: Path
) -> None:
    """The dispute alerts link `?dispute=<id>`: the page opens on that dispute's line."""
    first = _run(monkeypatch, page_dir)
    due_first = str(first.dataframe[0].value["Dispute"].iloc[0])
    at = _run(monkeypatch, page_dir, dispute=due_first)

    [line] = [box.value for box in at.info]
    plain = re.sub(r"\\(.)", r"\1", line)
    assert plain.startswith(f"From the link: {due_first} · $100.00 · ")
    assert "evidence due by 2025-03-22 12:00 UTC" in plain
    missing = _run(monkeypatch, page_dir, dispute="dp_nope")
    [warning] = [box.value for box in missing.warning]
    assert "dp\\_nope is neither open" in warning and "widen the range" in warning

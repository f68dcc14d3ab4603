"""The Weekly review page, run headless with Streamlit's AppTest on published snapshots of two
accounts: tests/metrics/scenario_files/weekly.toml (a decline spike in 2025-W10 — 30 Visa cards
issued in BR declining with do_not_honor — and an upgrade wave in 2025-W11; synced on
2025-03-18, so the last complete week is W11) and tests/app/scenario_files/hostile.toml (account
text full of markup). Figures are the scenario's own, as the page renders them."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import ui
from app.weekly_charts import charts
from app.weekly_export import find_chromium
from app.weekly_tables import change_text, value_text
from metrics.weekly_model import IsoWeek, WeeklyReview
from sandbox.scenario import load_scenario, simulate_scenario
from tests.app.pages import metrics, rows, run_page, table
from tests.app.weekly_fixtures import published_review, synced_weekly
from tests.metrics.scenarios import synced_snapshot

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app" / "views" / "weekly.py")
HOSTILE = Path(__file__).resolve().parent / "scenario_files" / "hostile.toml"
MIXED = "<script>alert(1)</script> **bold** [link](http://x) <!channel>"


@pytest.fixture(scope="module")
def weekly_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_weekly(tmp_path_factory, "weekly_page")


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("weekly_hostile")
    synced_snapshot(simulate_scenario(load_scenario(HOSTILE)), data_dir).close()
    return data_dir


def _run(monkeypatch: pytest.MonkeyPatch, data_dir: Path, **params: str) -> AppTest:
    return run_page(PAGE, monkeypatch, data_dir, params, None)


def _review(monkeypatch: pytest.MonkeyPatch, data_dir: Path, week: IsoWeek) -> WeeklyReview:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("PAYLENS_FX_RATES_FILE", raising=False)
    return published_review(week)


def _deltas(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.proto.delta for metric in at.metric}


def _narrative(at: AppTest) -> str:
    [narrative] = [block.value for block in at.markdown if block.value.startswith("1. ")]
    return narrative


def test_the_last_complete_week_shows_the_upgrade_wave_against_the_decline_spike(
    monkeypatch: pytest.MonkeyPatch, weekly_dir: Path
) -> None:
    at = _run(monkeypatch, weekly_dir)

    assert at.caption[0].value.startswith("2025-W11 (2025-03-10 – 2025-03-16, UTC days) against ")
    shown, deltas = metrics(at), _deltas(at)
    assert (shown["MRR (end of week)"], deltas["MRR (end of week)"]) == ("$8,249.00", "+$2,156.67")
    assert (shown["Expansion MRR"], deltas["Expansion MRR"]) == ("$2,000.00", "+$2,000.00")
    assert (shown["New MRR"], shown["Churned MRR"]) == ("$200.00", "$43.33")
    assert (shown["Net new MRR"], shown["Contraction MRR"]) == ("$2,156.67", "$0.00")
    assert (shown["Subscriptions upgraded"], deltas["Subscriptions upgraded"]) == ("4", "+4")
    assert (shown["Subscriptions new"], shown["Subscriptions churned"]) == ("1", "1")
    assert (shown["Payment success rate"], deltas["Payment success rate"]) == (
        "100.00%",
        "+21.29 pp",
    )
    assert (shown["Failed payments"], deltas["Failed payments"]) == ("0", "-33")
    assert (shown["Contraction MRR"], deltas["Contraction MRR"]) == ("$0.00", "no change")
    movers = table(at, "Movement", "Name", "MRR change")
    assert rows(movers, "Movement", "Name", "MRR change") == [
        ["new", "Eve Labs", "$200.00"],
        ["expansion", "Acme", "$800.00"],
        ["expansion", "Globex", "$600.00"],
        ["expansion", "Initech <R&D>", "$400.00"],
        ["expansion", "Umbrella", "$200.00"],
        ["churn", "Dora", "$43.33"],
    ]
    first = _narrative(at).splitlines()[0]
    assert first.startswith(f"1. {ui.plain('MRR rose $2,156.67')}")
    assert ui.plain("Acme, Globex, Initech <R&D>") in first
    assert dict(at.query_params) == {}  # the default week needs no parameter


def test_a_week_in_the_query_shows_the_decline_spike_and_its_driver(
    monkeypatch: pytest.MonkeyPatch, weekly_dir: Path
) -> None:
    at = _run(monkeypatch, weekly_dir, week="2025-W10")

    assert at.caption[0].value.startswith("2025-W10 (2025-03-03 – 2025-03-09, UTC days) against ")
    shown, deltas = metrics(at), _deltas(at)
    assert (shown["Payment success rate"], deltas["Payment success rate"]) == (
        "78.71%",
        "-19.72 pp",
    )
    assert (shown["Failed payments"], shown["Failed volume"]) == ("33", "$330.00")
    assert (shown["New disputes"], shown["Amount at risk in disputes"]) == ("1", "$49.00")
    assert (shown["Recovered revenue"], shown["Recovery rate"]) == ("$330.00", "100.00%")
    first = _narrative(at).splitlines()[0]
    assert first.startswith(f"1. {ui.plain('Success rate fell 19.7 points to 78.7%')}")
    for driver in ("Visa", "BR", "do_not_honor"):
        assert ui.plain(driver) in first
    failures = table(at, "Dimension", "Value")
    assert rows(failures, "Dimension", "Value", "Failed 2025-W10", "Failed 2025-W09")[:3] == [
        ["Card brand", "visa", "33 of 125", "0 of 95"],
        ["Card brand", "mastercard", "0 of 30", "2 of 32"],
        ["Card country", "BR", "30 of 60", "0 of 30"],
    ]
    decline = failures[failures["Dimension"] == "Decline code"]
    assert rows(decline, "Value", "Failed 2025-W10", "Lost 2025-W10") == [
        ["do_not_honor", "30 of 30", "$300.00"],
        ["insufficient_funds", "3 of 3", "$30.00"],
    ]
    disputes = table(at, "Dispute", "Respond by (7 days)")
    assert rows(disputes, "Amount", "Reason", "Evidence due by (UTC)", "Respond by (7 days)") == [
        ["$49.00", "fraudulent", "2025-03-20 12:00", "2025-03-13 09:00"]
    ]
    assert rows(disputes, "Customer", "Needs a response") == [["Gus Grant", "yes"]]
    assert dict(at.query_params) == {"week": "2025-W10"}


def test_every_figure_is_the_reviews_as_formatted(
    monkeypatch: pytest.MonkeyPatch, weekly_dir: Path
) -> None:
    at = _run(monkeypatch, weekly_dir, week="2025-W10")
    review = _review(monkeypatch, weekly_dir, IsoWeek(2025, 10))

    assert len(review.figures) == len(at.metric)
    assert metrics(at) == {f.label: value_text(f, f.this_week) for f in review.figures}
    assert _deltas(at) == {f.label: change_text(f) for f in review.figures}
    helps = {metric.label: metric.proto.help for metric in at.metric}
    success = review.figure("payments.success_rate")
    assert helps[success.label] == f"2025-W09: {value_text(success, success.last_week)}"
    assert len(at.get("plotly_chart")) == len(charts(review)) == 4


def test_picking_a_week_in_the_sidebar_writes_it_to_the_url(
    monkeypatch: pytest.MonkeyPatch, weekly_dir: Path
) -> None:
    at = _run(monkeypatch, weekly_dir)
    picker = at.sidebar.selectbox(key="weekly_week")
    assert picker.value == IsoWeek(2025, 11)
    assert picker.options[:2] == [
        "2025-W12 (17 Mar – 23 Mar 2025, in progress)",
        "2025-W11 (10 Mar – 16 Mar 2025)",
    ]

    picker.select(IsoWeek(2025, 10)).run()

    assert not at.exception
    assert dict(at.query_params) == {"week": "2025-W10"}
    assert metrics(at)["Payment success rate"] == "78.71%"
    at.sidebar.selectbox(key="weekly_week").select(IsoWeek(2025, 11)).run()
    assert dict(at.query_params) == {}


def test_the_week_in_progress_says_its_figures_are_so_far(
    monkeypatch: pytest.MonkeyPatch, weekly_dir: Path
) -> None:
    at = _run(monkeypatch, weekly_dir, week="2025-W12")

    assert at.warning[0].value.startswith(ui.plain("2025-W12 is not over on the account's clock"))
    assert metrics(at)["Payment attempts"] == "0"  # the Wednesday renewals are still to come


@pytest.mark.parametrize(
    ("week", "warning"),
    [
        ("garbage", "week 'garbage': expected an ISO week like 2026-W23; showing 2025-W11"),
        ("2025-W60", "week '2025-W60': 2025 has no week 60; showing 2025-W11"),
        ("2025-W30", "2025-W30 has not started yet; showing 2025-W11"),
        ("**W1** [x](http://e)", "week '**W1** [x](http://e)': expected an ISO week like"),
    ],
)
def test_a_bad_or_future_week_warns_and_shows_the_last_complete_one(
    monkeypatch: pytest.MonkeyPatch, weekly_dir: Path, week: str, warning: str
) -> None:
    at = _run(monkeypatch, weekly_dir, week=week)

    assert at.warning[0].value.startswith(ui.plain(warning))  # the URL's text as typed
    assert at.caption[0].value.startswith("2025-W11 ")
    assert dict(at.query_params) == {}


def test_the_review_downloads_as_html_and_pdf(
    monkeypatch: pytest.MonkeyPatch, weekly_dir: Path
) -> None:
    at = _run(monkeypatch, weekly_dir, week="2025-W10")

    buttons = {button.key: button.proto for button in at.get("download_button")}
    assert list(buttons) == ["weekly_html", "weekly_pdf"]
    assert buttons["weekly_html"].deferred_file_id  # made when pressed, not on every run
    assert buttons["weekly_pdf"].disabled == (find_chromium() is None)


def test_markup_in_account_text_shows_as_typed(
    monkeypatch: pytest.MonkeyPatch, hostile_dir: Path
) -> None:
    at = _run(monkeypatch, hostile_dir)

    narrative = _narrative(at)
    assert ui.plain(MIXED) in narrative  # the dispute's customer, escaped for markdown
    for element in (*at.markdown, *at.caption, *at.info, *at.warning, *at.subheader):
        assert "<script>" not in element.value and "](http" not in element.value
    disputes = table(at, "Dispute", "Customer")
    assert disputes["Customer"].tolist() == [MIXED]  # a table cell is plain text as typed

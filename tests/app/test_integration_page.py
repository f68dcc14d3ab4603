"""The Integration health page, headless (AppTest), on a published snapshot of the `small`
sandbox business: the score and every signal with its status, evidence and action as
`metrics.integration` computes them, and a declared answer recorded through the form."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import ui
from app.alerting import integration_setup
from app.settings import load_settings
from metrics.integration import SIGNALS, TITLES, IntegrationReport, integration_report
from sync import account_day
from sync.snapshots import SnapshotReader

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app" / "views" / "integration.py")
OVERVIEW = str(ROOT / "app" / "views" / "overview.py")


@pytest.fixture
def data_dir(synced_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shared snapshot, so that declarations stay in this test's own store."""
    copy = tmp_path / "data"
    shutil.copytree(synced_dir, copy)
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(copy))
    for name in ("SLACK_WEBHOOK_URL", "PAYLENS_ALERTS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return copy


def expected(data_dir: Path) -> IntegrationReport:
    reader = SnapshotReader(data_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    try:
        return integration_report(con, account_day(con), integration_setup(load_settings()))
    finally:
        reader.close()


def shown(at: AppTest) -> str:
    """Every markdown element as it reads (account text comes markdown-escaped, with word
    joiners where an autolink would start: `ui.plain`)."""
    text = "\n".join(re.sub(r"\\(.)", r"\1", element.value) for element in at.markdown)
    return text.replace(ui.WORD_JOINER, "")


def run(page: str) -> AppTest:
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception
    return at


def test_the_page_shows_the_score_and_every_signal_with_evidence_and_action(
    data_dir: Path,
) -> None:
    report = expected(data_dir)

    at = run(PAGE)

    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Integration score"] == f"{report.score}/8"
    assert metrics["Observed green"] == str(report.observed_score)
    assert metrics["Declared green"] == str(report.declared_score)
    text = shown(at)
    for signal in report.signals:
        assert f"**{signal.title}**" in text
        assert f"**{signal.status}**] · {signal.source}" in text
        assert all(item.text in text and item.source in text for item in signal.evidence)
        assert f"**Action:** {signal.action}" in text
    assert [s.key for s in report.signals] == list(SIGNALS)
    assert all(mistake.title in text for mistake in report.mistakes)
    # a test key (red), no Slack (red), nothing declared (unknown): at most 3 of 8
    assert not report.passing
    assert at.error[0].value.startswith(f"Integration score {report.score}/8: below 5")


def test_a_declared_answer_recorded_on_the_page_turns_its_signal_green(data_dir: Path) -> None:
    before = expected(data_dir)
    assert before.signal("pci").status == "unknown"

    at = run(PAGE)
    at.selectbox[0].set_value("pci")
    at.radio[0].set_value("Done")
    at.text_input[0].input("ana")
    at.text_input[1].input("SAQ-A v4")
    at.button[0].click().run()
    assert not at.exception

    after = expected(data_dir)
    assert after.signal("pci").status == "green"
    assert after.signal("pci").evidence[0].text.endswith("by ana (SAQ-A v4)")
    assert after.score == before.score + 1
    assert at.success[0].value.startswith(f"Recorded: {TITLES['pci']} done on ")
    rerun = run(PAGE)
    assert {m.label: m.value for m in rerun.metric}["Integration score"] == f"{after.score}/8"


def test_a_declaration_without_who_is_refused_and_nothing_is_stored(data_dir: Path) -> None:
    at = run(PAGE)
    at.button[0].click().run()

    assert at.error[-1].value == "a declaration needs who makes it"
    assert expected(data_dir).signal("idempotency").status == "unknown"


def test_the_overview_shows_a_banner_below_five(data_dir: Path) -> None:
    report = expected(data_dir)

    at = run(OVERVIEW)

    banner = f"Integration health {report.score}/8: below 5"
    assert not report.passing
    assert any(w.value.startswith(banner) for w in at.warning)

"""`paylens weekly` as a user runs it (the real command line, in process), on the published
snapshot of tests/metrics/scenario_files/weekly.toml: a decline spike in 2025-W10 (30 Visa
cards issued in BR declining with do_not_honor), an upgrade wave in 2025-W11 (Acme, Globex,
Initech <R&D>, Umbrella), synced on 2025-03-18, so the last complete week is W11. `--post`
goes to a real local HTTP server standing in for Slack, through the outbox of the master."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from alerts.digest import digest_blocks
from alerts.store import outbox
from app import cli
from app.scheduler import InstanceLock
from app.weekly_tables import change_text, value_text
from metrics.weekly import review_json
from metrics.weekly_model import IsoWeek, WeeklyReview
from sandbox.slack_standin import SlackStandin, start_slack_standin
from tests.app.weekly_fixtures import published_review, synced_weekly

W10, W11 = IsoWeek(2025, 10), IsoWeek(2025, 11)
DASHBOARD = "https://paylens.example.com"


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_weekly(tmp_path_factory, "weekly_cli")


@pytest.fixture
def data_dir(synced: Path, tmp_path: Path) -> Path:
    """A copy of the synced directory (master and snapshots) that this test may write."""
    return Path(shutil.copytree(synced, tmp_path / "data"))


@pytest.fixture
def env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process environment of a user of `data_dir`, with nothing else of paylens set."""
    for name in list(os.environ):
        if name.startswith(("PAYLENS_", "STRIPE_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PAYLENS_DASHBOARD_URL", DASHBOARD)
    return data_dir


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch, env: Path) -> Iterator[SlackStandin]:
    with start_slack_standin() as server:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", server.url)
        yield server


def paylens(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["weekly", *args])
    out, err = capsys.readouterr()
    return code, out, err


def expected(week: IsoWeek | None) -> WeeklyReview:
    """The review as `metrics` computes it on the published snapshot."""
    return published_review(week)


def digest_rows(data_dir: Path) -> list[tuple[str, str, int]]:
    con = duckdb.connect(str(data_dir / "master.duckdb"), read_only=True)
    try:
        rows = outbox(con)
    finally:
        con.close()
    return [(row.key, row.status, row.attempts) for row in rows if row.key.startswith("weekly:")]


def test_the_text_is_the_narrative_then_every_figure_with_its_change(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = paylens(capsys, "--week", "2025-W10")

    assert code == 0, err
    review = expected(W10)
    lines = out.splitlines()
    assert lines[0].startswith("Weekly review 2025-W10 (2025-03-03 – 2025-03-09, UTC days)")
    assert lines[2:5] == [
        "What changed",
        "  1. Success rate fell 19.7 points to 78.7%; most of the drop is Visa cards issued in "
        "BR declining with do_not_honor (30 of 33 failures).",
        "  2. 1 dispute needs a response: Gus Grant's $49.00 (fraudulent), due 2025-03-13 "
        "09:00 UTC.",
    ]
    rows = {line.split("  ")[1].strip(): line.split() for line in lines if line.startswith("  ")}
    for figure in review.figures:
        shown = " ".join(rows[figure.label])
        parts = (value_text(figure, figure.this_week), value_text(figure, figure.last_week))
        assert shown.endswith(" ".join((*parts, change_text(figure)))), figure.key
    assert " ".join(rows["Payment success rate"][-4:]) == "78.71% 98.43% -19.72 pp"
    assert " ".join(rows["Failed volume"][-3:]) == "$330.00 $20.00 +$310.00"


def test_json_is_the_whole_review_and_the_default_is_the_last_complete_week(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = paylens(capsys, "--json")

    assert code == 0, err
    data = json.loads(out)
    assert data["week"] == "2025-W11" and data["previous"] == "2025-W10"
    assert data == json.loads(json.dumps(review_json(expected(W11))))
    figures = {figure["key"]: figure for figure in data["figures"]}
    assert figures["mrr"]["this_week"] == pytest.approx(8249.0)
    assert figures["mrr"]["change"] == pytest.approx(2156.67, abs=0.005)
    assert figures["mrr.expansion"]["this_week"] == pytest.approx(2000.0)
    assert data["sentences"][0].startswith("MRR rose $2,156.67 (+35.4%), mostly expansion: Acme")


def test_post_sends_the_digest_through_the_outbox_once(
    env: Path, standin: SlackStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = paylens(capsys, "--week", "2025-W10", "--post")

    assert code == 0, err
    assert out == "posted the weekly digest 2025-W10 to Slack\n"
    text, blocks = digest_blocks(expected(W10), base_url=DASHBOARD)
    assert standin.messages == [{"text": text, "blocks": blocks}]
    assert "Visa cards issued in BR declining with do_not_honor" in text
    assert digest_rows(env) == [("weekly:2025-W10", "sent", 1)]

    code, out, err = paylens(capsys, "--week", "2025-W10", "--post")
    assert code == 0, err
    assert "was posted to Slack already" in out and "it is sent once" in out
    assert len(standin.messages) == 1
    assert standin.url not in out + err  # the webhook URL is a secret


def test_the_digest_escapes_the_accounts_names(
    env: Path, standin: SlackStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = paylens(capsys, "--post")  # the default week: W11, the upgrade wave

    assert code == 0, err
    (message,) = standin.messages
    shown = json.dumps(message, ensure_ascii=False)
    assert "Initech &lt;R&amp;D&gt;" in message["text"]
    assert "Initech &lt;R&amp;D&gt;" in message["blocks"][2]["text"]["text"]
    assert "<R&D>" not in shown
    fields = [field["text"] for block in message["blocks"] for field in block.get("fields", [])]
    assert "*MRR (end of week)*\n$8,249.00 (+$2,156.67)" in fields
    assert "*Expansion MRR*\n$2,000.00 (+$2,000.00)" in fields
    assert message["blocks"][-1]["elements"][0]["url"] == f"{DASHBOARD}/weekly?week=2025-W11"


def test_a_slack_outage_leaves_the_digest_queued_and_the_next_post_sends_it_once(
    env: Path, standin: SlackStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    standin.script([(429, "rate_limited", {"Retry-After": "0"})])
    code, _, err = paylens(capsys, "--week", "2025-W10", "--post")

    assert code == 1
    assert "queued, not delivered yet (Slack answered 429 rate_limited)" in err
    assert digest_rows(env) == [("weekly:2025-W10", "queued", 1)]
    assert standin.messages == []

    code, out, err = paylens(capsys, "--week", "2025-W10", "--post")
    assert code == 0, err
    assert out == "posted the weekly digest 2025-W10 to Slack\n"
    assert len(standin.messages) == 1 and "2025-W10" in standin.messages[0]["text"]
    assert digest_rows(env) == [("weekly:2025-W10", "sent", 2)]
    assert [r.status for r in standin.requests if r.method == "POST"] == [429, 200]


def test_a_refused_digest_is_one_error_with_slacks_reason_and_is_not_sent_again(
    env: Path, standin: SlackStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    standin.script([(404, "no_service")])
    code, _, err = paylens(capsys, "--week", "2025-W10", "--post")

    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("paylens: Slack refused the weekly digest 2025-W10: 404 no_service")
    assert digest_rows(env) == [("weekly:2025-W10", "failed", 1)]

    code, _, err = paylens(capsys, "--week", "2025-W10", "--post")
    assert code == 1 and "refused the weekly digest 2025-W10 earlier" in err
    assert len([r for r in standin.requests if r.method == "POST"]) == 1


def test_post_while_the_service_runs_says_the_service_posts_it(
    env: Path, standin: SlackStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = InstanceLock(env)
    lock.acquire()  # what `paylens run` holds for its lifetime
    try:
        code, _, err = paylens(capsys, "--post")
    finally:
        lock.release()

    assert code == 2
    assert "already running" in err and "posts the weekly digest itself" in err
    assert "PAYLENS_WEEKLY_DIGEST: mon 09:00, in UTC" in err
    assert standin.requests == [] and digest_rows(env) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--week", "2025-W60"), "--week: week '2025-W60': 2025 has no week 60"),
        (("--week", "last"), "expected an ISO week like 2026-W23"),
        (("--week", "2025-W13"), "--week 2025-W13 has not begun on the account's clock"),
        (("--post",), "SLACK_WEBHOOK_URL is not set: there is nowhere to post"),
        (("--html", "no/such/folder/review.html"), "the directory no/such/folder does not"),
    ],
)
def test_bad_input_is_one_clear_error(
    env: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    code, out, err = paylens(capsys, *args)

    assert code == 2
    assert out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("paylens: ") and says in line


def test_weekly_before_any_sync_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(tmp_path))
    code, _, err = paylens(capsys)
    assert code == 2 and "nothing has been synced" in err


def test_a_bad_digest_schedule_stops_the_command_naming_the_variable(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAYLENS_WEEKLY_DIGEST", "mondays at 9")
    code, _, err = paylens(capsys)
    assert code == 2
    assert 'PAYLENS_WEEKLY_DIGEST: expected a weekday and a 24-hour time such as "mon 09:00"' in err


def test_html_writes_the_file_and_json_keeps_stdout_for_the_review(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "review.html"
    code, out, err = paylens(capsys, "--week", "2025-W10", "--html", str(target), "--json")

    assert code == 0, err
    assert json.loads(out)["week"] == "2025-W10"
    assert err.strip().endswith(f"wrote the weekly review 2025-W10 to {target}")
    page = target.read_text(encoding="utf-8")
    assert "<h1>Weekly review 2025-W10</h1>" in page
    assert "declining with do_not_honor" in page
    assert f'href="{DASHBOARD}/weekly?week=2025-W10"' in page


@pytest.mark.slow
def test_pdf_prints_the_review_with_chromium(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "review.pdf"
    code, out, err = paylens(capsys, "--pdf", str(target))

    assert code == 0, err
    assert out == f"wrote the weekly review 2025-W11 to {target}\n"
    assert target.read_bytes().startswith(b"%PDF")

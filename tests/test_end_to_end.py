"""End to end through the real command: sandbox → `paylens sync` → `paylens report` vs the truth."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.service import sync_and_publish
from sandbox.api.server import SandboxServer
from tests.conftest import PRESET, SEED, UNTIL, run_paylens, settings_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _env(server: SandboxServer, data_dir: Path, key: str | None = None) -> dict[str, str]:
    return {
        "STRIPE_API_KEY": key or server.api_key,
        "PAYLENS_STRIPE_API_BASE": server.url,
        "PAYLENS_DATA_DIR": str(data_dir),
        "PAYLENS_FX_RATES_FILE": str(ROOT / "docs" / "examples" / "fx_rates.csv"),
    }


def test_report_mrr_equals_the_sandbox_truth_to_the_cent(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = _env(sandbox, tmp_path)
    synced = run_paylens("sync", env=env)
    assert synced.returncode == 0, synced.stderr
    report = run_paylens("report", "--as-of", UNTIL.isoformat(), "--json", env=env)
    assert report.returncode == 0, report.stderr
    truth = run_paylens(
        "sandbox",
        "truth",
        "--seed",
        str(SEED),
        "--until",
        UNTIL.isoformat(),
        "--preset",
        PRESET,
        "--as-of",
        UNTIL.isoformat(),
        "--json",
        env={},
    )
    assert truth.returncode == 0, truth.stderr
    ours, theirs = json.loads(report.stdout), json.loads(truth.stdout)
    assert set(ours["mrr_by_currency"]) == set(theirs["mrr_by_currency"])
    for currency, value in theirs["mrr_by_currency"].items():
        assert round(ours["mrr_by_currency"][currency], 2) == round(value, 2), currency
    assert ours["active_subscriptions"] == theirs["active_subscriptions"]
    assert 0.5 < ours["payment_success_rate"] <= 1.0
    assert ours["warnings"] == []


def test_without_as_of_the_report_is_of_the_accounts_day_like_the_dashboard(
    sandbox: SandboxServer, synced_dir: Path
) -> None:
    """The sandbox's clock stands at UNTIL (months before this machine's date): the report's
    default day is the account's, as the dashboard's is, so both show the same figures."""
    env = _env(sandbox, synced_dir)
    default = json.loads(run_paylens("report", "--json", env=env).stdout)
    dated = json.loads(
        run_paylens("report", "--json", "--as-of", UNTIL.isoformat(), env=env).stdout
    )
    assert default["as_of"] == UNTIL.isoformat()
    assert default == dated


def test_the_text_report_reads_like_a_report(sandbox: SandboxServer, synced_dir: Path) -> None:
    report = run_paylens("report", "--as-of", UNTIL.isoformat(), env=_env(sandbox, synced_dir))
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith(f"paylens report as of {UNTIL.isoformat()}")
    labels = [line.split()[0] for line in report.stdout.splitlines()[1:] if line[2:3] != " "]
    assert labels == [
        "MRR", "ARR", "Customers", "Subscriptions", "Movements", "Churn", "Retention",
        "Involuntary", "Payments", "Disputes", "Refunds", "Webhooks",
    ]  # fmt: skip
    assert "n/a" not in report.stdout.split("Movements")[0]  # MRR, ARR, ARPU converted


def test_a_since_after_as_of_is_one_line_and_exit_code_2(
    sandbox: SandboxServer, synced_dir: Path
) -> None:
    report = run_paylens(
        "report", "--as-of", "2026-11-01", "--since", "2026-11-02", env=_env(sandbox, synced_dir)
    )
    assert report.returncode == 2
    assert report.stderr.strip() == (
        "paylens: --since (2026-11-02) must be before --as-of (2026-11-01)"
    )


def test_a_wrong_key_ends_sync_with_one_line_and_exit_code_2(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    wrong_key = "sk_test_wrong_key_0123456789"
    result = run_paylens("sync", env=_env(sandbox, tmp_path, key=wrong_key))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "paylens: Stripe refused the API key (401): it is wrong or has been revoked; "
        "check STRIPE_API_KEY"
    )
    assert "Traceback" not in result.stderr
    assert wrong_key not in result.stdout + result.stderr


def test_report_before_any_sync_says_what_to_do(tmp_path: Path) -> None:
    result = run_paylens("report", "--json", env={"PAYLENS_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"paylens: nothing has been synced into {tmp_path} yet: run `paylens sync` first"
    )


def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = run_paylens("sync", env={"PAYLENS_SYNC_INTERVAL_SECONDS": "soon"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "paylens: PAYLENS_SYNC_INTERVAL_SECONDS must be a whole number, got 'soon'"
    )


def test_no_secret_reaches_logs_database_or_snapshots(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = _env(sandbox, tmp_path)
    env["PAYLENS_DASHBOARD_PASSWORD"] = "dashboard-password-4711"
    env["SLACK_WEBHOOK_URL"] = "http://127.0.0.1:9/services/slack-secret-path"
    outputs = [run_paylens("sync", env=env), run_paylens("report", "--json", env=env)]
    assert all(result.returncode == 0 for result in outputs)
    secrets = [sandbox.api_key, "dashboard-password-4711", "slack-secret-path"]
    texts = [result.stdout + result.stderr for result in outputs]
    files = [path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) >= 3  # master, one snapshot, CURRENT
    for secret in secrets:
        assert not [text for text in texts if secret in text]
        assert not [blob for blob in files if secret.encode() in blob]


READER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from sync.snapshots import SnapshotReader
    reader, stop = SnapshotReader(Path(sys.argv[1])), Path(sys.argv[2])
    queries = errors = 0
    print("ready", flush=True)
    while not stop.exists():
        try:
            con = reader.connection()
            if con is not None:
                con.execute("SELECT count(*) FROM subscriptions JOIN subscription_items "
                            "ON subscription_items.subscription = subscriptions.id").fetchone()
                queries += 1
        except Exception as exc:
            errors += 1
            print(repr(exc), file=sys.stderr)
    print(queries, errors)
    """
)


def test_a_reader_sees_no_error_while_the_writer_syncs_and_publishes_20_times(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    settings, stop = settings_for(sandbox, tmp_path), tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.snapshot_dir), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline() == "ready\n"
    for _ in range(20):
        assert sync_and_publish(settings).status == "ok"
    stop.touch()
    out, err = reader.communicate(timeout=60)
    queries, errors = (int(x) for x in out.split())
    assert (errors, err) == (0, "")
    assert queries > 20


def test_serve_refuses_a_public_address_without_a_password() -> None:
    result = run_paylens("serve", env={"PAYLENS_DASHBOARD_ADDRESS": "0.0.0.0"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "paylens: refusing to serve the dashboard on 0.0.0.0 without a password or OIDC login: "
        "set PAYLENS_DASHBOARD_PASSWORD (or _FILE), or PAYLENS_OIDC_ISSUER, "
        "PAYLENS_OIDC_CLIENT_ID and PAYLENS_OIDC_CLIENT_SECRET (or _FILE), or bind to 127.0.0.1"
    )

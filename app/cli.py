"""The `paylens` command: parses arguments, builds settings, and wires the packages together.

Every expected failure (a bad setting, a refused key, nothing synced yet) ends with one line on
stderr and a non-zero exit code, never a traceback: exit 2 for a problem the user must fix first
(configuration, key), 1 for a run that failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime

from app import alert_commands, commands, health_commands, weekly_commands
from app.errors import CommandError
from app.settings import SettingsError, load_settings
from sandbox import cli as sandbox_cli
from sync import scrub, scrub_handlers

log = logging.getLogger("paylens")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    today = datetime.now(UTC).date()
    parser = argparse.ArgumentParser(prog="paylens", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sync = sub.add_parser(
        "sync", help="pull the Stripe account into the warehouse and publish a snapshot"
    )
    sync.add_argument(
        "action", nargs="?", choices=["status"], help="`status`: cursor age, runs, reads"
    )
    sync.add_argument("--json", action="store_true", help="machine-readable status")
    sub.add_parser("run", help="the scheduled service: sync and publish every interval")

    report = sub.add_parser("report", help="the key numbers as of a date")
    report.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="end of this UTC day; default: the account's day (of Stripe's last answer to a sync)",
    )
    report.add_argument(
        "--since",
        type=_date,
        default=None,
        help="flows (movements, churn, payments) over (since, as-of]; default: 30 days before",
    )
    report.add_argument("--json", action="store_true", help="machine-readable output")

    alerts = sub.add_parser("alerts", help="alert rules, their state, silences, a Slack test")
    alert_commands.configure_parser(alerts)

    weekly = sub.add_parser(
        "weekly", help="the weekly review: text, JSON, HTML or PDF, or the Slack digest now"
    )
    weekly_commands.configure_parser(weekly)

    health = sub.add_parser("health", help="the integration health score (issue #20's checklist)")
    health.add_argument(
        "--as-of", type=_date, default=None, help="end of this UTC day; default: the account's day"
    )
    health.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("serve", help="the dashboard alone (reads published snapshots)")
    demo = sub.add_parser("demo", help="sandbox + sync + dashboard in one command")
    demo.add_argument("--seed", type=int, default=42)
    sandbox_cli.add_preset_argument(demo)

    sandbox = sub.add_parser("sandbox", help="run the local Stripe sandbox")
    sandbox_cli.configure_parser(sandbox, today)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    scrub_handlers(logging.getLogger().handlers)  # no key or webhook URL reaches the log
    logging.getLogger("stripe").setLevel(logging.WARNING)  # it logs every request at INFO
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # and it, every job run
    args = build_parser().parse_args(argv)
    try:
        if args.command == "weekly":
            return weekly_commands.run(load_settings(), args)
        if args.command == "health":
            return health_commands.run(load_settings(), args)
        return commands.dispatch(args)
    except (SettingsError, CommandError) as exc:
        print(f"paylens: {scrub(str(exc))}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

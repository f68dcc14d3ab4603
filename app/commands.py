"""What each `paylens` subcommand does, given parsed arguments and settings."""

from __future__ import annotations

import argparse
import json
import sys

from app import alert_commands, dashboard_process, demo
from app.alerting import AlertJob
from app.errors import CommandError
from app.progress import backfill_progress
from app.report import build_report, format_report
from app.scheduler import Service, run_to_exit
from app.service import sync_and_publish, utc_now
from app.settings import Settings, load_settings
from sandbox import cli as sandbox_cli
from sync import SnapshotReader, account_day, format_status, sync_status


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "sandbox":
        return run_sandbox_command(args)
    settings = load_settings()
    if args.command == "sync":
        if args.action == "status":
            return status(settings, as_json=args.json)
        return sync_once(settings)
    if args.command == "run":
        return run_to_exit(Service(settings))
    if args.command == "report":
        return report(settings, args)
    if args.command == "alerts":
        return alert_commands.run(settings, args)
    if args.command == "serve":
        return dashboard_process.serve(settings)
    if args.command == "demo":
        return demo.run(settings, seed=args.seed, preset=args.preset)
    raise AssertionError(f"unknown command {args.command}")


def sync_once(settings: Settings) -> int:
    """One sync while no service runs (under the writer lock, which `paylens run` holds for its
    life), with the alert cycle after it, as the service runs them."""
    alerts = AlertJob(settings)
    with backfill_progress() as progress:
        result = sync_and_publish(settings, progress=progress, before_publish=[alerts])
    return 0 if result.status == "ok" else 1


def status(settings: Settings, *, as_json: bool) -> int:
    """The sync's state as the newest snapshot has it. Never the master: opening it, even
    read-only, would lock the writer out of it (DuckDB locks the whole file)."""
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    if con is None:
        raise CommandError(
            f"nothing has been published in {settings.data_dir} yet: the first sync publishes "
            "once its backfill is complete (run `paylens sync`, or wait for `paylens run`)"
        )
    source = f"snapshot {reader.name}"
    try:
        data = sync_status(con, utc_now())
    finally:
        reader.close()
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        print(f"paylens sync status ({source})\n{format_status(data)}")
    return 0


def report(settings: Settings, args: argparse.Namespace) -> int:
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    if con is None:
        raise CommandError(
            f"nothing has been synced into {settings.data_dir} yet: run `paylens sync` first"
        )
    as_of = args.as_of or account_day(con)
    if args.since is not None and args.since >= as_of:
        reader.close()
        raise CommandError(f"--since ({args.since}) must be before --as-of ({as_of})")
    try:
        data = build_report(con, settings, as_of, args.since)
    finally:
        reader.close()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(format_report(data))
    return 0


def run_sandbox_command(args: argparse.Namespace) -> int:
    return sandbox_cli.main(args, sys.stdout)

"""What each `paylens` subcommand does, given parsed arguments and settings."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from app import dashboard_process, demo
from app.errors import CommandError
from app.report import build_report, format_report
from app.service import sync_and_publish
from app.settings import Settings, load_settings
from sandbox import cli as sandbox_cli
from sync.snapshots import SnapshotReader

log = logging.getLogger("paylens")


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "sandbox":
        return run_sandbox_command(args)
    settings = load_settings()
    if args.command == "sync":
        return sync_once(settings)
    if args.command == "report":
        return report(settings, args)
    if args.command == "serve":
        return dashboard_process.serve(settings)
    if args.command == "demo":
        return demo.run(settings, seed=args.seed, preset=args.preset)
    raise AssertionError(f"unknown command {args.command}")


def sync_once(settings: Settings) -> int:
    return 0 if sync_and_publish(settings).status == "ok" else 1


def report(settings: Settings, args: argparse.Namespace) -> int:
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    if con is None:
        raise CommandError(
            f"nothing has been synced into {settings.data_dir} yet: run `paylens sync` first"
        )
    try:
        data = build_report(con, settings, args.as_of)
    finally:
        reader.close()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(format_report(data))
    return 0


def run_sandbox_command(args: argparse.Namespace) -> int:
    return sandbox_cli.main(args, sys.stdout)

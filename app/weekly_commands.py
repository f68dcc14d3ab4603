"""`paylens weekly`: the weekly review as text or JSON, as an HTML or PDF file, or posted now.

The review is read from the published snapshot, like `paylens report`, so printing it and
writing the files work while the service runs. `--post` goes through the alerts outbox with
the service's key (`weekly:<week>`): recorded first, then sent with the delivery's answers and
retries, and never twice for one week, whether the service or this command queued it. The
outbox is in the master file, which only one process may open, so `--post` takes the
service's instance lock and asks for the service to be stopped when it runs (it posts the
digest on its own schedule).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import duckdb

from alerts.delivery import SlackTransport, deliver_due
from alerts.digest import digest_key
from alerts.store import OutboxRow, outbox
from app import dashboard_process
from app.alerting import queue_digest
from app.errors import CommandError
from app.published import published_snapshot
from app.scheduler import InstanceLock
from app.service import open_master
from app.settings import Settings
from app.weekly import account_moment, review_for
from app.weekly_export import write_html, write_pdf
from app.weekly_tables import TOPICS, change_text, value_text, week_caption
from metrics.weekly import review_json
from metrics.weekly_model import IsoWeek, WeeklyReview


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--week",
        default=None,
        help="an ISO week such as 2026-W23; default: the last complete week in PAYLENS_TIMEZONE",
    )
    parser.add_argument("--json", action="store_true", help="the whole review, machine-readable")
    parser.add_argument(
        "--post", action="store_true", help="post the Slack digest now (through the outbox)"
    )
    parser.add_argument("--html", metavar="FILE", default=None, help="write a self-contained HTML")
    parser.add_argument("--pdf", metavar="FILE", default=None, help="write a PDF (needs Chromium)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Steps: check the arguments; read the review from the snapshot; print it (JSON, or text
    when nothing else was asked); write the files; post. Messages about what was done go to
    stderr under --json, so that stdout stays one JSON document."""
    week = _week(args.week)
    html, pdf = (None if text is None else _path(text) for text in (args.html, args.pdf))
    if args.post and settings.slack_webhook_url is None:
        raise CommandError(
            "SLACK_WEBHOOK_URL is not set: there is nowhere to post the weekly digest"
        )
    review = _read_review(settings, week)
    said = sys.stderr if args.json else sys.stdout
    if args.json:
        print(json.dumps(review_json(review), indent=2))
    elif not (args.post or args.html or args.pdf):
        print(format_review(review))
    base_url = settings.dashboard_url or dashboard_process.url(settings)
    if html is not None:
        write_html(review, html, base_url=base_url)
        print(f"wrote the weekly review {review.week} to {html}", file=said)
    if pdf is not None:
        write_pdf(review, pdf, base_url=base_url)
        print(f"wrote the weekly review {review.week} to {pdf}", file=said)
    if args.post:
        return post(settings, review, said)
    return 0


def format_review(review: WeeklyReview) -> str:
    """The review as text: what it covers, its warnings, the narrative, then the figures by
    topic with both weeks and the change."""
    lines = [f"Weekly review {week_caption(review)}"]
    lines += [f"warning: {warning}" for warning in review.warnings]
    lines += ["", "What changed"]
    lines += [f"  {i}. {sentence}" for i, sentence in enumerate(review.sentences, 1)]
    width = max((len(figure.label) for figure in review.figures), default=0)
    for topic, heading in TOPICS.items():
        figures = [figure for figure in review.figures if figure.topic == topic]
        if not figures:
            continue
        lines += [
            "",
            f"{heading:<{width + 2}}  {review.week!s:>14}  {review.previous!s:>14}  change",
        ]
        lines += [
            f"  {figure.label:<{width}}  {value_text(figure, figure.this_week):>14}  "
            f"{value_text(figure, figure.last_week):>14}  {change_text(figure)}"
            for figure in figures
        ]
    return "\n".join(lines)


def post(settings: Settings, review: WeeklyReview, said: TextIO) -> int:
    """Queue `review`'s digest in the outbox and send what is due; 0 when Slack took it.

    Steps: take the instance lock (the service's: one writer of the master); queue unless the
    week's key is there already; one delivery round, oldest row first, as the service sends;
    say what became of the row. A row queued before (by a service stopped since) is sent now.
    """
    if settings.slack_webhook_url is None:
        raise CommandError("SLACK_WEBHOOK_URL is not set: there is nowhere to post the digest")
    lock = InstanceLock(settings.data_dir)
    try:
        lock.acquire()
    except CommandError as exc:
        schedule = settings.weekly_digest or "off"
        raise CommandError(
            f"{exc}; it posts the weekly digest itself (PAYLENS_WEEKLY_DIGEST: {schedule}, "
            f"in {settings.timezone})"
        ) from None
    try:
        con = open_master(settings)
        try:
            now = datetime.now(UTC)
            account = account_moment(settings, con).astimezone(UTC)
            queue_digest(con, settings, review, created=account, recorded=now)
            before, _ = _row(con, digest_key(review.week))
            if before.status == "queued":
                transport = SlackTransport(settings.slack_webhook_url.reveal())
                deliver_due(con, transport, now=lambda: datetime.now(UTC), sleep=time.sleep)
            row, ahead = _row(con, digest_key(review.week))
        finally:
            con.close()
    finally:
        lock.release()
    return _outcome(review.week, row, ahead, before.status, said)


def _outcome(week: IsoWeek, row: OutboxRow, ahead: int, before: str, said: TextIO) -> int:
    """Say where the digest went, or why not (`before`: its status before this command
    sent the outbox); 0 when it is in the channel."""
    if row.status == "sent":
        if before == "queued":
            print(f"posted the weekly digest {week} to Slack", file=said)
        else:
            sent = f" at {row.sent_at:%Y-%m-%d %H:%M} UTC" if row.sent_at else ""
            print(
                f"the weekly digest {week} was posted to Slack already{sent}; it is sent once",
                file=said,
            )
        return 0
    if row.status == "failed":
        when = "" if before == "queued" else " earlier"
        raise CommandError(
            f"Slack refused the weekly digest {week}{when}: {row.last_error}; it is not sent "
            "again (fix the webhook: `paylens alerts test` checks it)",
            exit_code=1,
        )
    if row.attempts == 0:
        why = f"{ahead} earlier message(s) wait for Slack before it" if ahead else "not sent yet"
    else:
        why = f"Slack answered {row.last_error}"
    raise CommandError(
        f"the weekly digest {week} is queued, not delivered yet ({why}): `paylens run` or the "
        "next `paylens sync` sends it",
        exit_code=1,
    )


def _row(con: duckdb.DuckDBPyConnection, key: str) -> tuple[OutboxRow, int]:
    """The outbox row of `key` and how many queued rows go out before it."""
    rows = outbox(con)
    row = next(item for item in rows if item.key == key)
    ahead = sum(item.status == "queued" and item.seq < row.seq for item in rows)
    return row, ahead


def _week(text: str | None) -> IsoWeek | None:
    if text is None:
        return None
    try:
        return IsoWeek.parse(text)
    except ValueError as exc:
        raise CommandError(f"--week: {exc}") from None


def _read_review(settings: Settings, week: IsoWeek | None) -> WeeklyReview:
    """The review of `week` (default: the last complete one) from the published snapshot; a
    week that has not begun on the account's clock is an error, not a page of zeros."""
    with published_snapshot(settings) as con:
        today = account_moment(settings, con).date()
        if week is not None and week.start > today:
            raise CommandError(
                f"--week {week} has not begun on the account's clock (its day is "
                f"{today.isoformat()}, in {settings.timezone})"
            )
        return review_for(settings, con, week)


def _path(text: str) -> Path:
    path = Path(text)
    if not path.parent.is_dir():
        raise CommandError(f"cannot write {text}: the directory {path.parent} does not exist")
    return path

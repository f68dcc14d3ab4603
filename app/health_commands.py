"""`paylens health`: the integration health score, as the Integration page shows it.

Read from the published snapshot, like `paylens report`, so it works while the service runs;
the declarations and paylens' alerting come from the control store and the settings
(`app.alerting.integration_setup`), as the page and the `integration_health` rule take them.
Exit 0 whatever the score: a score is an answer, not a failure of the command.
"""

from __future__ import annotations

import argparse
import json

from app.alerting import integration_setup
from app.published import published_snapshot
from app.settings import Settings
from metrics.integration import PASSING, IntegrationReport, integration_report, report_json
from sync import account_day

MARKS = {"green": "[green]", "amber": "[amber]", "red": "[red]", "unknown": "[unknown]"}


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Steps: read the setup (declarations, alerting); score on the published snapshot as of
    the account's day (or --as-of); print it as text or JSON."""
    setup = integration_setup(settings)
    with published_snapshot(settings) as con:
        as_of = args.as_of or account_day(con)
        report = integration_report(con, as_of, setup)
    print(json.dumps(report_json(report), indent=2) if args.json else format_health(report))
    return 0


def format_health(report: IntegrationReport) -> str:
    """The report as text: the score, then each signal with its evidence and action, then the
    mistakes the data shows."""
    lines = [
        f"Integration health {report.score}/{report.out_of} as of {report.as_of} "
        f"({report.observed_score} observed, {report.declared_score} declared green)"
    ]
    if not report.passing:
        lines.append(f"below {PASSING}: stop and fix before adding features")
    for signal in report.signals:
        lines += ["", f"{MARKS[signal.status]} {signal.title} ({signal.source})"]
        lines += [f"  - {item.text} ({item.source})" for item in signal.evidence]
        lines.append(f"  action: {signal.action}")
    lines += ["", "Common mistakes the data shows"]
    for mistake in report.mistakes:
        count = "not readable" if mistake.count is None else f"{mistake.count:,}"
        lines.append(f"  {mistake.title}: {count}")
        lines += [f"    - {item.text} ({item.source})" for item in mistake.evidence]
        lines.append(f"    instead: {mistake.action}")
    return "\n".join(lines)

"""Resources the sync cannot read: recorded, shown, and tried again once a day.

A list endpoint that answers 403 (the key may not read it) or 404 (the API does not serve it)
will answer the same on the next page and the next run: retrying it every cycle only spends
reads, and waiting for it would keep the backfill from ever completing. So the backfill closes
its windows (`sync.backfill`), completes for the other resources and is published, and the
resource is recorded here, under the `sync_state` key UNAVAILABLE:
`{resource: {"status": 403, "reason": "...", "since": unix, "checked": unix}}` (`metrics.degraded`
reads it for the warnings). Once a day on the account's clock an incremental run asks for one
object of each (`retry`, one read each; a single object such as the tax settings: itself);
when one answers, its windows open again and the run backfills it. The integration setup's
refresh (`sync.account_setup`) closes and records a refused resource the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from sync.client import StripeReader, StripeSyncError
from sync.fetch import RESOURCES
from sync.incremental import unix
from sync.scrub import scrub
from sync.store import BACKFILL, UNAVAILABLE, get_state, set_state, transaction
from sync.windows import Window, load, save

RETRY_SECONDS = 86_400  # how often an unavailable resource is asked again


def unavailable(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The resources recorded as unavailable, by name."""
    return dict(get_state(con, UNAVAILABLE) or {})


def record(
    con: duckdb.DuckDBPyConnection, refused: dict[str, tuple[int, str]], now: datetime
) -> None:
    """After a backfill run: add the resources it found `refused` (keeping when each was first
    refused), and drop those whose windows are no longer closed as unavailable (backfilled
    since). Inside the caller's transaction."""
    found = unavailable(con)
    for resource, (status, reason) in refused.items():
        since = found.get(resource, {}).get("since", unix(now))
        entry = {"status": status, "reason": scrub(reason), "since": since, "checked": unix(now)}
        found[resource] = entry
    closed = {w.resource for w in load(con) if w.state == "unavailable"}
    kept = {name: entry for name, entry in found.items() if name in closed}
    set_state(con, UNAVAILABLE, kept, now)


def retry(reader: StripeReader, con: duckdb.DuckDBPyConnection, now: datetime) -> bool:
    """Ask each unavailable resource not asked for RETRY_SECONDS for one object. One that
    answers is backfilled: its windows open again and the backfill is marked running (True is
    returned: the run is a backfill). One still refused is dated as checked; any other
    failure leaves it for the next run."""
    reopened: list[str] = []
    found = unavailable(con)
    due = [r for r, e in found.items() if unix(now) - int(e.get("checked", 0)) >= RETRY_SECONDS]
    if not due:
        return False
    for resource in sorted(due):
        entry = found[resource]
        try:
            spec = RESOURCES[resource]
            reader.page(spec.path, {} if spec.single else {"limit": 1})
        except StripeSyncError as exc:
            if exc.status in (403, 404):
                entry["checked"] = unix(now)
            continue
        reopened.append(resource)
    with transaction(con):
        if reopened:
            windows = [w for w in load(con) if w.resource not in reopened]
            save(con, windows + [Window(name, 0, None) for name in reopened])
            set_state(con, BACKFILL, {"status": "running", "started": unix(now)}, now)
        set_state(con, UNAVAILABLE, {k: v for k, v in found.items() if k not in reopened}, now)
    return bool(reopened)


def describe(found: dict[str, dict[str, Any]]) -> list[str]:
    """One phrase per unavailable resource, for a run's record ("refunds unavailable: ...")."""
    return [f"{name} unavailable: {entry['reason']}" for name, entry in sorted(found.items())]

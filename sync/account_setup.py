"""The account's integration setup (issue 20): listed again every few days; and the key's kind.

The customer portal's configurations, the tax settings and the tax registrations say how the
account is set up, not what its business did: no event reports their changes that paylens
reads, they are few, and they change rarely. A backfill lists them with everything else
(`sync.fetch.RESOURCES`); afterwards an incremental run lists them whole again once
`Options.setup_refresh_seconds` (three days) have passed on Stripe's clock since the last time —
three reads, 30 in a 30-day month, which keeps an idle account under Stripe's floor of 10,000
reads a month (docs/SYNC.md, Incremental). A row no longer listed is removed: each table is the
setup as last seen. A warehouse that has never listed them (created before they were synced)
lists them on its next run.

A key that may not read one of them (403) or an API that does not serve it (404) makes that
resource unavailable exactly as a backfill does (`sync.availability`: its window closed, the
reason recorded, asked again once a day); the others are refreshed. Any other failure is the
run's error for that resource, and the refresh is tried again on the next run.

The key's kind — test or live, restricted or not, from its prefix — is recorded at each run in
`sync_state` under KEY_KIND (`StripeReader.key_kind`); the key itself never is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from sync.availability import record, unavailable
from sync.client import API_VERSION, AuthError, StripeReader, StripeSyncError
from sync.fetch import RESOURCES, Resource, single_page
from sync.incremental import list_all, unix
from sync.ingest import Staging, flush, stage_pages
from sync.scrub import scrub
from sync.store import get_state, set_state, transaction
from sync.windows import Window, load, save

SETUP_RESOURCES = ("billing_portal_configurations", "tax_settings", "tax_registrations")
REFRESHED = "setup_refreshed_at"  # sync_state: when the setup was last listed whole
KEY_KIND = "key_kind"  # sync_state: {"mode": "test" | "live", "restricted": bool}


@dataclass
class SetupRefresh:
    """What a refresh wrote (rows per table) and the resources that failed (their errors)."""

    objects: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def note_key_kind(con: duckdb.DuckDBPyConnection, reader: StripeReader, now: datetime) -> None:
    """Record the kind of key this run reads with (never the key)."""
    set_state(con, KEY_KIND, reader.key_kind, now)


def mark_listed(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """A completed backfill listed the setup: the next refresh is due from `now` (inside the
    caller's transaction)."""
    set_state(con, REFRESHED, {"at": unix(now)}, now)


def refresh_setup(
    reader: StripeReader, con: duckdb.DuckDBPyConnection, refresh_seconds: int
) -> SetupRefresh:
    """When due, list each available setup resource whole and store it; nothing when not due
    (no read). Raises AuthError (nothing works without the key).

    Steps: 1. due: never listed on this warehouse, or `refresh_seconds` since, by Stripe's clock;
    2. list each resource not recorded as unavailable; a 403/404 makes it unavailable, another
    failure is its error; 3. in one transaction: store what was listed, remove the rows no longer
    listed, record the refused resources, date the refresh (unless a resource failed: then
    the next run tries again).
    """
    clock = reader.clock
    last = get_state(con, REFRESHED)
    done = SetupRefresh()
    if last is not None and unix(clock()) - int(last["at"]) < refresh_seconds:
        return done
    skipped = set(unavailable(con))
    staging, listed, refused = Staging(), dict[str, list[str]](), dict[str, tuple[int, str]]()
    for name in SETUP_RESOURCES:
        if name in skipped:
            continue
        try:
            pages = _pages(reader, RESOURCES[name])
        except AuthError:
            raise
        except StripeSyncError as exc:
            if exc.status in (403, 404):
                refused[name] = (exc.status, str(exc))
            else:
                done.errors[name] = scrub(str(exc))
            continue
        stage_pages(con, staging, name, [body for _, body in pages])
        listed[name] = [o["id"] for data, _ in pages for o in data if _has_id(o)]
    with transaction(con):
        done.objects = flush(con, staging, API_VERSION, clock())
        for name, ids in listed.items():
            con.execute(
                f"DELETE FROM {name} WHERE id NOT IN (SELECT unnest(?::VARCHAR[]))", [ids]
            ).fetchall()
        if refused:
            _close(con, refused)
            record(con, refused, clock())
        if not done.errors:
            set_state(con, REFRESHED, {"at": unix(clock())}, clock())
    return done


def _pages(reader: StripeReader, resource: Resource) -> list[tuple[list[Any], str]]:
    """Every page of a setup resource: (decoded objects, body); a single object as one page."""
    if resource.single:
        page = single_page(reader, resource)
        return [(list(page.data["data"]), page.body)]
    return list_all(reader, resource.path, dict(resource.params))


def _has_id(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("id"), str)


def _close(con: duckdb.DuckDBPyConnection, refused: dict[str, tuple[int, str]]) -> None:
    """Close the windows of the refused resources as unavailable, as a backfill does (one is
    added for a resource this warehouse never had a window of), so `sync.availability` keeps
    their record and asks them again once a day."""
    windows = load(con)
    for window in windows:
        if window.resource in refused:
            window.state = "unavailable"
    known = {w.resource for w in windows}
    windows += [Window(name, 0, None, "unavailable") for name in refused if name not in known]
    save(con, windows)

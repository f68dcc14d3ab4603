"""Backfill windows: `created` ranges of one resource, how they split, and how they are saved.

A backfill starts with one open window per resource, [0, ∞). Stripe lists newest first and
cannot count, so windows are cut as the pages reveal the density: after a full page, if the
resource has room for another parallel window and the rest of this one is estimated at more
than twice `window_pages` pages, the older part is split off as a new window. Windows are thus
sized so their pages are nearly all full (a window wastes at most its last, partial page)
while one resource can be fetched by several workers at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

PAGE = 100


@dataclass
class Window:
    resource: str
    lo: int  # inclusive
    hi: int | None  # inclusive; None: no upper bound
    state: str = "pending"  # pending | done | unavailable (403/404: sync.availability)
    cursor: str | None = None  # last id fetched (in memory only: a restart refetches)
    top: int | None = None  # created of the newest object seen in the window
    fetched: int = 0
    finished: bool = False  # every page fetched; done once flushed
    waiting: int = 0  # pages fetched but held until their nested follow-ups are fetched
    last: int | None = None  # created of the oldest object seen so far (where the cursor is)
    density: float | None = None  # objects per second of `created`, when split off unseen

    def params(self) -> dict[str, int | str | None]:
        return {"lo": self.lo, "hi": self.hi, "cursor": self.cursor}


def split(window: Window, last_created: int, window_pages: int) -> Window | None:
    """The older part of `window` as a new window when the rest looks big, else None.

    Density is estimated from what the window has served so far (objects per second of
    `created`); the window keeps about `window_pages` pages' worth below `last_created`.
    """
    if window.top is None or window.fetched < PAGE:
        return None
    span = max(1, window.top - last_created + 1)
    density = window.fetched / span
    remaining = density * max(0, last_created - window.lo)
    target = window_pages * PAGE
    if remaining <= 2 * target:
        return None
    cut = last_created - int(target / density)
    if cut <= window.lo + 1:
        return None
    older = Window(window.resource, window.lo, cut - 1, density=density)
    window.lo = cut
    return older


def initial(resources: list[str]) -> list[Window]:
    return [Window(name, 0, None) for name in resources]


def load(con: duckdb.DuckDBPyConnection) -> list[Window]:
    rows = con.execute(
        "SELECT resource, lo, hi, state FROM sync_windows ORDER BY resource, lo DESC"
    ).fetchall()
    return [Window(resource, lo, hi, state) for resource, lo, hi, state in rows]


def save(con: duckdb.DuckDBPyConnection, windows: list[Window]) -> None:
    """Replace the saved windows (inside the caller's transaction, with the data they cover).

    A window counts as done only if it was finished before this flush: its pages are in it.
    """
    # bound as list parameters: no Arrow table (pyarrow's first string array imports pandas)
    con.execute("DELETE FROM sync_windows").fetchall()
    con.execute(
        "INSERT INTO sync_windows SELECT unnest(?::VARCHAR[]), unnest(?::BIGINT[]), "
        "unnest(?::BIGINT[]), unnest(?::VARCHAR[])",
        [
            [w.resource for w in windows],
            [w.lo for w in windows],
            [w.hi for w in windows],
            [w.state for w in windows],
        ],
    ).fetchall()

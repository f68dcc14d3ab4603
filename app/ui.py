"""What every dashboard page shares: settings, the password gate, and snapshot access.

Pages stay thin: they call these helpers and the metrics functions, and format.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import duckdb
import streamlit as st

from app.settings import Settings, load_settings
from sync.runs import latest_runs
from sync.snapshots import SnapshotReader


def settings() -> Settings:
    """Read on every run (it is cheap), so a changed environment never meets a stale cache."""
    return load_settings()


def password_ok(current: Settings) -> bool:
    """True when no password is configured, or this session typed the right one."""
    if current.dashboard_password is None or st.session_state.get("paylens_authenticated"):
        return True
    typed = st.text_input("Password", type="password")
    if typed:
        if hmac.compare_digest(typed.encode(), current.dashboard_password.reveal().encode()):
            st.session_state["paylens_authenticated"] = True
            st.rerun()
        st.error("Wrong password.")
    return False


@contextmanager
def snapshot() -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """A read-only connection to the current snapshot and its name (the cache key).

    Each page run opens its own connection and closes it after: opening is cheap, and no
    connection is shared between Streamlit's session threads.
    """
    reader = SnapshotReader(settings().snapshot_dir)
    con = reader.connection()
    if con is None or reader.name is None:
        st.info("Nothing has been synced yet. Run `paylens sync` (or `make demo`) first.")
        st.stop()
        raise AssertionError("unreachable")  # st.stop() raises; this satisfies the type checker
    try:
        yield con, reader.name
    finally:
        reader.close()


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def plain(text: str) -> str:
    """`text` (from the account: names, descriptions, reasons) escaped for a markdown element, so
    it shows as typed and never renders as markup, a link or HTML."""
    return _MARKDOWN.sub(r"\\\1", text)


def data_date(con: duckdb.DuckDBPyConnection) -> date:
    """The day the data describes: that of the last finished sync, else today (UTC)."""
    runs = latest_runs(con, limit=5)
    finished = runs["finished_at"].dropna()
    if finished.empty:
        return datetime.now(UTC).date()
    return date.fromisoformat(str(finished.max())[:10])

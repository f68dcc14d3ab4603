"""What every dashboard page shares: settings, the pages, the login gate, snapshot access.

Pages stay thin: they call these helpers and the metrics functions, and format.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import streamlit as st
from streamlit.errors import StreamlitAuthError, StreamlitPageNotFoundError

from app import warm
from app.settings import Settings, load_settings
from metrics.degraded import degradations
from sync import SnapshotReader, account_now, freshness_key, last_heard, latest_runs

T = TypeVar("T")
VIEWS = Path(__file__).with_name("views")


@dataclass(frozen=True)
class PageSpec:
    """A dashboard page: its script under app/views, title, stable URL path and icon."""

    file: str
    title: str
    url_path: str
    icon: str


# In the sidebar's order; the first is the default page, served at "/".
PAGES = (
    PageSpec("overview.py", "Overview", "overview", ":material/dashboard:"),
    PageSpec("revenue.py", "Revenue", "revenue", ":material/trending_up:"),
    PageSpec("payments.py", "Payments", "payments", ":material/credit_card:"),
    PageSpec("disputes.py", "Disputes", "disputes", ":material/gavel:"),
    PageSpec("health.py", "Webhooks & sync", "health", ":material/sync:"),
    PageSpec("integration.py", "Integration health", "integration", ":material/fact_check:"),
    PageSpec("alerts_page.py", "Alerts", "alerts", ":material/notifications:"),
    PageSpec("weekly.py", "Weekly review", "weekly", ":material/event_note:"),
)


def has_charts(url_path: str) -> bool:
    """Whether the page at `url_path` draws Plotly charts (all but Alerts and Integration)."""
    return url_path not in ("alerts", "integration")


def available_pages() -> list[PageSpec]:
    """The pages whose script exists (a page not written yet is not listed)."""
    return [page for page in PAGES if (VIEWS / page.file).is_file()]


def page_link(file: str, label: str, query: Mapping[str, str] | None = None) -> None:
    """A link to the page of `file` (under app/views) opening on `query`; nothing when that
    page is not in the navigation (not written yet, or a page run on its own, as in a test)."""
    with suppress(StreamlitPageNotFoundError):
        st.page_link(str(VIEWS / file), label=label, query_params=dict(query or {}) or None)


def settings() -> Settings:
    """Read on every run (it is cheap), so a changed environment never meets a stale cache."""
    return load_settings()


# The password gate: at most MAX_FAILURES wrong passwords in any WINDOW, per session and per
# client address, and a delay after each that doubles (1 s, 2 s, 4 s, …, at most WINDOW).
MAX_FAILURES = 5
WINDOW = 60.0
FIRST_DELAY = 1.0
_AUTHENTICATED = "paylens_authenticated"
_FAILURES = "paylens_login_failures"
_MESSAGE = "paylens_login_message"
_PASSWORD_KEY = "paylens_password"
_LOGIN_KEY, _LOGOUT_KEY = "paylens_oidc_login", "paylens_oidc_logout"
_BY_ADDRESS: dict[str, list[float]] = {}  # failures per client address, for every session
_BY_ADDRESS_LOCK = threading.Lock()


def login_wait(failures: Sequence[float], now: float) -> float:
    """Seconds until the next attempt may be checked (0: now), given the times of the failed
    attempts so far (oldest first, the clock's seconds) and the clock now.

    Two rules: a delay after the latest failure that doubles with each failure (the n-th waits
    FIRST_DELAY × 2^(n−1), capped at WINDOW), and no more than MAX_FAILURES in any WINDOW."""
    if not failures:
        return 0.0
    delay = min(FIRST_DELAY * 2 ** (len(failures) - 1), WINDOW)
    wait = failures[-1] + delay - now
    recent = [moment for moment in failures if now - moment < WINDOW]
    if len(recent) >= MAX_FAILURES:
        wait = max(wait, recent[-MAX_FAILURES] + WINDOW - now)
    return max(0.0, wait)


def _clock() -> float:
    return time.monotonic()


def _client_address() -> str | None:
    """The browser's address as Streamlit saw it (behind a proxy: the proxy's); None in tests."""
    return st.context.ip_address


def access_ok(current: Settings) -> bool:
    """True when this session may see the pages: no login is configured, the visitor logged in
    with OIDC (`st.login`), or typed the password; with both configured, either admits.
    Otherwise it shows the ways in: a "Log in" button, the password field, or both."""
    if current.oidc_enabled and st.user.get("is_logged_in") is True:
        _logged_in_as()
        return True
    if current.dashboard_password is None and not current.oidc_enabled:
        return True
    if st.session_state.get(_AUTHENTICATED):
        return True
    if current.oidc_enabled:
        _login_button()
    if current.dashboard_password is not None:
        password_field(current.dashboard_password.reveal())
    return False


def _logged_in_as() -> None:
    """The sidebar names the user (as the provider has it, in plain text: no markdown, no
    link) and offers "Log out"."""
    who = " · ".join(str(st.user[claim]) for claim in ("name", "email") if st.user.get(claim))
    st.sidebar.text(f"Logged in as {who or st.user.get('sub', '')}")
    if st.sidebar.button("Log out", key=_LOGOUT_KEY):
        st.logout()  # the browser follows it to the provider's logout and back
        st.stop()  # nothing more of this run is shown


def _login_button() -> None:
    if st.button("Log in", type="primary", key=_LOGIN_KEY):
        try:
            st.login()
        except StreamlitAuthError:  # Streamlit has no [auth]: not started by `paylens serve`
            st.error("OIDC login needs the dashboard started by `paylens serve`.")


def password_field(secret: str) -> None:
    """The password field and the latest attempt's message.

    Each submitted password is one attempt (the field empties after it); the comparison is
    constant-time, and while `login_wait` says wait, an attempt is refused without being
    checked, with how long to wait."""
    st.text_input(
        "Password", type="password", key=_PASSWORD_KEY, on_change=_attempt, args=(secret,)
    )
    message = st.session_state.get(_MESSAGE)
    if message:
        st.error(message)


def _attempt(secret: str) -> None:
    """The password field's callback: check what was typed, unless it must wait."""
    typed = str(st.session_state.get(_PASSWORD_KEY) or "")
    st.session_state[_PASSWORD_KEY] = ""
    if not typed:
        return
    now, address = _clock(), _client_address()
    session: list[float] = st.session_state.setdefault(_FAILURES, [])
    with _BY_ADDRESS_LOCK:
        shared = list(_BY_ADDRESS.get(address, [])) if address else []
    wait = max(login_wait(session, now), login_wait(shared, now))
    if wait > 0:
        st.session_state[_MESSAGE] = (
            f"Too many wrong passwords: wait {_seconds(wait)} before trying again."
        )
        return
    if hmac.compare_digest(typed.encode(), secret.encode()):
        st.session_state[_AUTHENTICATED] = True
        st.session_state.pop(_MESSAGE, None)
        return
    session.append(now)
    if address:
        with _BY_ADDRESS_LOCK:
            kept = [m for m in _BY_ADDRESS.get(address, []) if now - m < 2 * WINDOW]
            shared = _BY_ADDRESS[address] = [*kept, now]
    next_wait = max(login_wait(session, now), login_wait(shared, now))
    st.session_state[_MESSAGE] = f"Wrong password. Wait {_seconds(next_wait)} before the next try."


def _seconds(wait: float) -> str:
    whole = max(1, int(-(-wait // 1)))  # rounded up: never "wait 0 s"
    return f"{whole} s"


@contextmanager
def snapshot() -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """A read-only connection to the current snapshot and its name (the cache key).

    Each page run opens its own connection and closes it after: opening is cheap, and no
    connection is shared between Streamlit's session threads. Every page opens the snapshot
    here, so this is where the banner of what the data is missing is shown (`degraded_banner`).
    """
    reader = SnapshotReader(settings().snapshot_dir)
    con = reader.connection()
    if con is None or reader.name is None:
        st.info("Nothing has been synced yet. Run `paylens sync` (or `make demo`) first.")
        st.stop()
        raise AssertionError("unreachable")  # st.stop() raises; this satisfies the type checker
    # kept after the block: `watch`, called after it, compares against it
    _FRESHNESS.set(reader.freshness)
    try:
        degraded_banner(con, reader.name)
        yield con, reader.name
    finally:
        reader.close()


# The freshness key of the snapshot this page run reads (`sync.freshness_key`): its name and
# the stamp of the status file applied to it.
_FRESHNESS: ContextVar[str | None] = ContextVar("paylens_freshness", default=None)


def fresh(snapshot_name: str) -> str:
    """The cache key for a call that reads what every sync cycle restates without publishing
    a snapshot (the runs, the sync's state, the alert states: `sync.freshness`), or that is
    reckoned from the last sync's time (dispute deadlines, pending webhooks' ages): the
    snapshot's name and the status file's stamp, so its value follows each cycle. Other calls
    key by the snapshot's name alone and stay cached until data changes."""
    key = _FRESHNESS.get()
    return key if key is not None and key.split("@")[0] == snapshot_name else snapshot_name


def degraded_banner(con: duckdb.DuckDBPyConnection, snapshot_name: str) -> None:
    """One warning at the top of the page while the warehouse is missing something
    (`metrics.degraded`): each gap with its count and what it affects, as plain text."""
    found = call(fresh(snapshot_name), degradations, con)
    if not found:
        return
    lines = "\n".join(f"- {plain(item.text)}" for item in found)
    st.warning(
        f"Some of the account's data is not in paylens; figures that use it are short:\n{lines}"
    )


# CommonMark's punctuation that starts markup, plus ":" and "@".
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:@])")
# GitHub-style autolinks ("http://…", "www.…", "a@b.c") are read from the text escapes and all,
# so a word joiner (U+2060, invisible) goes where they start: before "://" and "@", after "www".
_AUTOLINK = re.compile(r"(?=://)|(?=@)|(?<=www)(?=\.)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(text: str) -> str:
    """`text` (from the account: names, descriptions, reasons) escaped for a markdown element, so
    it shows as typed and never renders as markup, a link or HTML."""
    return _MARKDOWN.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, text))


@st.cache_data(show_spinner=False, max_entries=512, ttl=3600)
def _cached_call(
    snapshot_name: str, name: str, _func: Callable[..., Any], _con: Any, args: tuple[Any, ...],
    kwargs: tuple[tuple[str, Any], ...],
) -> Any:  # fmt: skip
    return _func(_con, *args, **dict(kwargs))


def call(
    snapshot_name: str, func: Callable[..., T], con: duckdb.DuckDBPyConnection, *args: Any,
    **kwargs: Any,
) -> T:  # fmt: skip
    """`func(con, *args, **kwargs)`, computed once per snapshot and arguments (pages call the
    metrics functions through this; arguments must be hashable or plain data). `snapshot_name`
    is the snapshot's name, or `fresh(name)` for a call that follows every sync cycle."""
    key = f"{func.__module__}.{func.__qualname__}"
    pairs = tuple(sorted(kwargs.items()))
    _RECORDER.record(warm.Call(key, func, args, pairs, fresh="@" in snapshot_name))
    result: T = _cached_call(snapshot_name, key, func, con, args, pairs)
    return result


_RECORDER = warm.Recorder()  # what this process's pages asked for, replayed by the warmer


@st.cache_resource(show_spinner=False)
def _warmer(snapshot_dir: str) -> warm.Warmer:
    return warm.Warmer(Path(snapshot_dir), _RECORDER, _cached_call)


def keep_warm() -> None:
    """Start this server's warmer (once): each newly published snapshot gets the recent
    pages' computations in the background (`app.warm`). Called by the dashboard's entry
    point, not by the pages, so a page run on its own (a test) starts no thread."""
    _warmer(str(settings().snapshot_dir)).start()


def watch(snapshot_name: str, every: timedelta = timedelta(seconds=30)) -> None:
    """Rerun the page when a newer snapshot is published or a sync cycle has written the status
    file since (checked every `every`), so an open page follows the service without a reload
    (the data's caches stay warm across a cycle that published nothing)."""
    seen = fresh(snapshot_name)

    @st.fragment(run_every=every)
    def check() -> None:
        key = freshness_key(settings().snapshot_dir)
        if key is not None and key != seen:
            st.rerun(scope="app")

    check()


def freshness(con: duckdb.DuckDBPyConnection, snapshot_name: str) -> None:
    """A caption: how old the data is (the last sync on the account's clock) and its snapshot."""
    heard = last_heard(con)
    if heard is None:
        st.caption(f"Snapshot {snapshot_name}; no sync run recorded.")
        return
    st.caption(
        f"Data as of {heard:%Y-%m-%d %H:%M} UTC (the account's clock), synced {data_age(con)} · "
        f"snapshot {snapshot_name}"
    )


def data_age(con: duckdb.DuckDBPyConnection) -> str:
    """How long ago the last sync heard Stripe, on the account's clock ("just now", "12 min
    ago", "3 h ago"); "never" before the first sync."""
    heard = last_heard(con)
    if heard is None:
        return "never"
    age = account_now(con, datetime.now(UTC)) - heard
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 1:
        return "just now"
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


def data_date(con: duckdb.DuckDBPyConnection) -> date:
    """The day the data describes: that of the last finished sync, else today (UTC)."""
    runs = latest_runs(con, limit=5)
    finished = runs["finished_at"].dropna()
    if finished.empty:
        return datetime.now(UTC).date()
    return date.fromisoformat(str(finished.max())[:10])

"""Where alerts are kept: state, transitions and the outbox in the master file; silences and
acknowledgements in a small SQLite file of their own.

The master DuckDB file has one writer, the service (SPEC §2), so what the engine decides lives
there and every snapshot publishes it. The dashboard and the CLI cannot open the master file
while the service runs, so what they write (silences, acks) goes to `SilenceStore`, which the
service reads each cycle. Times: aware UTC in Python, naive UTC in both databases.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from alerts.model import AlertState, Notification, Silence, Transition
from metrics.integration_model import Declaration

CHANNEL = "slack"
OUTBOX_STATUSES = ("queued", "sent", "failed")


@dataclass(frozen=True)
class OutboxRow:
    """One message of the outbox; machine times except `created` (the account's)."""

    key: str
    seq: int
    created: datetime
    recorded: datetime
    channel: str
    payload: dict[str, Any]
    summary: str
    status: str
    attempts: int
    next_attempt: datetime
    last_attempt: datetime | None
    last_error: str | None
    sent_at: datetime | None
    answer_status: int | None


@dataclass(frozen=True)
class HistoryRow:
    """One stored transition (the reading reduced to its texts), newest first in `history`."""

    id: int
    rule: str
    segment: str
    kind: str
    at: datetime
    before: str
    after: str
    level: str | None
    value: float | None
    threshold: float | None
    notify: bool
    muted_by: str | None
    duration: timedelta | None
    notification: str | None
    label: str | None
    driver: str | None
    detail: str | None


def to_db(value: datetime | None) -> datetime | None:
    """Naive UTC for a TIMESTAMP column; a naive input is a bug (every paylens time is aware)."""
    return None if value is None else _naive_utc(value)


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()}: alert times must be aware UTC")
    return value.astimezone(UTC).replace(tzinfo=None)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    sql = resources.files("alerts").joinpath("schema.sql").read_text(encoding="utf-8")
    con.execute(sql).fetchall()


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK").fetchall()
        raise
    con.execute("COMMIT").fetchall()


def _select(
    con: duckdb.DuckDBPyConnection, table: str, sql: str, args: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """Rows by column name, TIMESTAMPs made aware UTC. A snapshot published before alerts
    existed has none of their tables: it reads as empty."""
    exists = con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [table])
    if not exists.fetchall():
        return []
    cursor = con.execute(sql, list(args))
    names = [d[0] for d in cursor.description or ()]
    return [
        {
            n: v.replace(tzinfo=UTC) if isinstance(v, datetime) else v
            for n, v in zip(names, row, strict=True)
        }
        for row in cursor.fetchall()
    ]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows given by column name, datetimes as naive UTC."""
    if not rows:
        return
    columns = list(rows[0])
    marks = ", ".join("?" for _ in columns)
    con.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        [[to_db(v) if isinstance(v, datetime) else v for v in row.values()] for row in rows],
    )


def load_states(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], AlertState]:
    rows = _select(
        con, "alert_state", "SELECT * EXCLUDE (updated) FROM alert_state ORDER BY rule, segment"
    )
    return {(r["rule"], r["segment"]): AlertState(**r) for r in rows}


def record_cycle(
    con: duckdb.DuckDBPyConnection,
    states: Mapping[tuple[str, str], AlertState] | Iterable[AlertState],
    transitions: Sequence[Transition],
    notification: Notification | None,
    payload: Mapping[str, Any] | None,
    summary: str | None,
    recorded: datetime,
) -> bool:
    """Store one evaluation cycle all-or-nothing; True when it queued a new message.

    Steps: replace `alert_state` with `states` (the complete set, keyed as `load_states` gives
    it or not: a rule × segment absent from it is deleted); queue the notification unless its
    key is already in the outbox; append the transitions, the notifying ones carrying the key.
    When the key was already queued (the same transitions recorded before), its transitions are
    not appended again and False is returned: a notification is recorded, and so sent, once.
    """
    if notification is not None and payload is None:
        raise ValueError(f"notification {notification.key} has no payload to send")
    key = notification.key if notification is not None else None
    with _transaction(con):
        con.execute("DELETE FROM alert_state").fetchall()
        rows = states.values() if isinstance(states, Mapping) else states
        _insert(con, "alert_state", [{**vars(s), "updated": recorded} for s in rows])
        queued = False
        if notification is not None and payload is not None:
            text = summary if summary is not None else str(payload.get("text", ""))
            queued = enqueue(
                con,
                key=notification.key,
                created=notification.created,
                recorded=recorded,
                payload=payload,
                summary=text,
            )
        keep = [t for t in transitions if queued or key is None or not t.notify]
        _insert(con, "alert_transitions", [_transition_row(t, key) for t in keep])
    return queued


def enqueue(
    con: duckdb.DuckDBPyConnection,
    *,
    key: str,
    created: datetime,
    recorded: datetime,
    payload: Mapping[str, Any],
    summary: str,
    channel: str = CHANNEL,
) -> bool:
    """Queue one message, due at once, unless `key` is already in the outbox; True if queued.
    Also for messages that are no cycle's (the weekly digest, `paylens alerts test`)."""
    due = to_db(recorded)
    inserted = con.execute(
        "INSERT INTO alert_outbox (key, created, recorded, channel, payload, summary, status, "
        "next_attempt) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?) ON CONFLICT DO NOTHING RETURNING key",
        [key, to_db(created), to_db(recorded), channel, json.dumps(payload), summary, due],
    ).fetchall()
    return bool(inserted)


def _transition_row(t: Transition, key: str | None) -> dict[str, Any]:
    reading = t.reading
    return {
        **{f: getattr(t, f) for f in _TRANSITION_FIELDS},
        "occurred_at": t.at,
        "duration_seconds": None if t.duration is None else t.duration.total_seconds(),
        "notification": key if t.notify else None,
        "label": reading.label if reading else None,
        "driver": reading.driver if reading else None,
        "detail": reading.detail if reading else None,
    }


_TRANSITION_FIELDS = (
    *("rule", "segment", "kind", "before", "after"),
    *("level", "value", "threshold", "notify", "muted_by"),
)


def history(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[HistoryRow]:
    """The newest `limit` transitions, newest first."""
    rows = _select(
        con,
        "alert_transitions",
        "SELECT * EXCLUDE (occurred_at, duration_seconds), occurred_at AS at, "
        "to_seconds(duration_seconds) AS duration FROM alert_transitions "
        "ORDER BY occurred_at DESC, id DESC LIMIT ?",
        [limit],
    )
    return [HistoryRow(**r) for r in rows]


def outbox(
    con: duckdb.DuckDBPyConnection, status: str | None = None, limit: int | None = None
) -> list[OutboxRow]:
    """Outbox rows in delivery order (oldest first), optionally of one status."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise ValueError(f"outbox status {status!r} is not one of {', '.join(OUTBOX_STATUSES)}")
    where = "" if status is None else "WHERE status = ?"
    rows = _select(
        con,
        "alert_outbox",
        f"SELECT * FROM alert_outbox {where} ORDER BY seq LIMIT ?",
        [*([] if status is None else [status]), limit if limit is not None else 2**62],
    )
    return [OutboxRow(**{**r, "payload": json.loads(r["payload"])}) for r in rows]


def outbox_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per status; every status is present (0 when none)."""
    rows = _select(
        con, "alert_outbox", "SELECT status, count(*) AS n FROM alert_outbox GROUP BY status"
    )
    return {**dict.fromkeys(OUTBOX_STATUSES, 0), **{r["status"]: int(r["n"]) for r in rows}}


class SilenceStoreError(Exception):
    """The silences file cannot be used (unreadable, not a database, locked); names the file."""


@dataclass(frozen=True)
class Acknowledgement:
    """Someone has seen an alert ("ack" on the dashboard); it mutes nothing."""

    id: str
    rule: str
    segment: str
    at: datetime
    by: str
    note: str


_SILENCE_SCHEMA = """
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, segment TEXT, until TEXT NOT NULL,
    reason TEXT NOT NULL, created TEXT NOT NULL, created_by TEXT NOT NULL, expired TEXT
);
CREATE TABLE IF NOT EXISTS acknowledgements (
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, segment TEXT NOT NULL, at TEXT NOT NULL,
    by TEXT NOT NULL, note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS declarations (
    id TEXT PRIMARY KEY, signal TEXT NOT NULL, answer INTEGER NOT NULL, on_day TEXT NOT NULL,
    by TEXT NOT NULL, note TEXT NOT NULL, recorded TEXT NOT NULL
);
"""


def _text(value: datetime) -> str:
    """A fixed-width UTC ISO text, so that text order is time order in SQL."""
    return _naive_utc(value).isoformat(timespec="microseconds")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class SilenceStore:
    """Silences, acknowledgements and integration-health declarations in a small SQLite file
    of the data directory.

    Written by the CLI and the dashboard, read by the service, each through its own short
    connection (WAL: readers never wait for a writer; `busy_timeout`: writers wait for each
    other). The master DuckDB file is never touched from here.
    """

    BUSY_TIMEOUT_MS = 5000

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"SilenceStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT_MS / 1000)) as db:
                db.execute(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(_SILENCE_SCHEMA)
                with db:  # one transaction: committed on success, rolled back on error
                    yield db
        except (sqlite3.Error, OSError) as exc:
            raise SilenceStoreError(f"{self.path}: cannot use the silences file: {exc}") from exc

    def add(
        self,
        rule: str,
        *,
        until: datetime,
        reason: str,
        created: datetime,
        segment: str | None = None,
        created_by: str = "",
    ) -> Silence:
        if not rule.strip():
            raise ValueError("a silence needs the rule it mutes")
        if not reason.strip():
            raise ValueError("a silence needs a reason (who is handling what)")
        if until <= created:
            raise ValueError(f"a silence must end after it starts ({until} <= {created})")
        silence = Silence(
            f"sil_{secrets.token_hex(4)}",
            rule,
            until,
            reason.strip(),
            created,
            segment,
            created_by,
        )
        with self._connect() as db:
            db.execute(
                "INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    silence.id,
                    rule,
                    segment,
                    _text(until),
                    silence.reason,
                    _text(created),
                    created_by,
                ),
            )
        return silence

    def active(self, at: datetime) -> tuple[Silence, ...]:
        """The silences in force at `at` (created at or before it, ending after it)."""
        moment = _text(at)
        return self._silences("WHERE created <= ? AND until > ?", (moment, moment))

    def all(self) -> tuple[Silence, ...]:
        return self._silences("", ())

    def expire(self, silence_id: str, at: datetime) -> Silence:
        """End a silence at `at` (its `until` becomes `at` if that is sooner)."""
        with self._connect() as db:
            found = db.execute(
                "UPDATE silences SET until = min(until, ?), expired = ? WHERE id = ?",
                (_text(at), _text(at), silence_id),
            ).rowcount
        if not found:
            raise SilenceStoreError(f"{self.path}: no silence {silence_id!r}")
        return next(s for s in self.all() if s.id == silence_id)

    def _silences(self, where: str, args: tuple[str, ...]) -> tuple[Silence, ...]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, rule, until, reason, created, segment, created_by FROM silences "
                f"{where} ORDER BY created, id",
                args,
            ).fetchall()
        return tuple(Silence(r[0], r[1], _time(r[2]), r[3], _time(r[4]), r[5], r[6]) for r in rows)

    def acknowledge(
        self, rule: str, segment: str = "", *, at: datetime, by: str, note: str = ""
    ) -> Acknowledgement:
        ack = Acknowledgement(f"ack_{secrets.token_hex(4)}", rule, segment, at, by, note)
        with self._connect() as db:
            db.execute(
                "INSERT INTO acknowledgements VALUES (?, ?, ?, ?, ?, ?)",
                (ack.id, rule, segment, _text(at), by, note),
            )
        return ack

    def acknowledgements(self) -> tuple[Acknowledgement, ...]:
        """Every acknowledgement, oldest first (the service reads the newest per alert)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, rule, segment, at, by, note FROM acknowledgements ORDER BY at, id"
            ).fetchall()
        return tuple(Acknowledgement(r[0], r[1], r[2], _time(r[3]), r[4], r[5]) for r in rows)

    def declare(
        self, signal: str, *, answer: bool, on: date, by: str, recorded: datetime, note: str = ""
    ) -> Declaration:
        """Record a person's answer for a signal the API cannot show (integration health):
        yes or no, the day it became so, and who says so. Answers are kept, never replaced:
        the newest dated by a day is the one in force (`metrics.integration.declared`)."""
        if not by.strip():
            raise ValueError("a declaration needs who makes it")
        declaration = Declaration(signal, answer, on, by.strip(), note.strip())
        with self._connect() as db:
            db.execute(
                "INSERT INTO declarations VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    f"dec_{secrets.token_hex(4)}",
                    signal,
                    int(answer),
                    on.isoformat(),
                    declaration.by,
                    declaration.note,
                    _text(recorded),
                ),
            )
        return declaration

    def declarations(self) -> tuple[Declaration, ...]:
        """Every declaration, oldest recorded first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT signal, answer, on_day, by, note FROM declarations ORDER BY recorded, id"
            ).fetchall()
        return tuple(
            Declaration(r[0], bool(r[1]), date.fromisoformat(r[2]), r[3], r[4]) for r in rows
        )

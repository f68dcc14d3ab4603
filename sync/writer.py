"""The backfill's writer: page bodies spooled as they come, staged and written in bulk, pipelined.

The coordinator (`sync.backfill`) buffers each complete page here, spooled to a file beside the
warehouse (`sync.spool`: the stager reads files; a body need not wait in memory). A flush hands
the buffer, and a copy of the windows it completes, to two threads in turn: the *stager*, which
parses the bodies into a stage area on a cursor of its own, and the *committer* — the only
writer of the warehouse while a backfill runs — which writes the staged objects and the window
progress in one transaction. So a crash at any point resumes from the last commit with nothing
lost and nothing doubled (rows are keyed by Stripe id), while fetching goes on during the write.

Staging and committing take about the same time, so they overlap: while flush n is committed,
the flushes after it are staged into the other stage areas (in-memory databases; DuckDB lets one
transaction write only one database, so an area is emptied after its commit, not in it). Commits
happen one at a time, in order. A flush waits while every area is taken or the page bytes in
flight (being staged or committed) would pass IN_FLIGHT_BYTES, so memory stays bounded by bytes,
while small flushes (a resource's last pages) need not wait behind a big one's commit. With
three areas and no byte cap, the stager waited there: the local ingest took 10% longer
(docs/PERFORMANCE.md).

A backfill's ids are new, but for a window fetched again after a restart: so a table of more
than `probe_rows` rows is not searched for the staged ids (a full read of its id column at every
flush, DuckDB having no index join), they are inserted plainly, and if one was stored after all
the insert fails and the flush is written again, searching (`sync.ingest.flush`). And once the
file is big, flushes go to the WAL between rarer checkpoints (`sync.store.BULK_FROM_BYTES`) until
the writer is closed.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

import duckdb

from sync.client import API_VERSION
from sync.fetch import FetchedPage
from sync.ingest import (
    PROBE_ROWS,
    Staging,
    clear_area,
    flush,
    prepare_area,
    stage_files,
)
from sync.spool import Spool
from sync.store import (
    BULK_CHECKPOINT_THRESHOLD,
    BULK_FROM_BYTES,
    CHECKPOINT_THRESHOLD,
    checkpoint_every,
    database_bytes,
    transaction,
)
from sync.windows import Window, save

AREAS = tuple(f"paylens_stage_{letter}" for letter in "abcde")
# page bytes being staged or committed, at most (a flush alone may be bigger): what three flushes of
# a backfill at live rate hold (0.5 s at 100 pages/s, invoice pages of up to ~330 kB)
IN_FLIGHT_BYTES = 48 * 2**20


class Writer:
    """Buffers fetched pages; stages and writes them, with the windows they complete, pipelined
    on two threads."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        clock: Callable[[], datetime],
        on_flush: Callable[[], None],
        probe_rows: int = PROBE_ROWS,
        bulk_from_bytes: int = BULK_FROM_BYTES,
        in_flight_bytes: int = IN_FLIGHT_BYTES,
    ) -> None:
        self.con, self.clock, self.on_flush = con, clock, on_flush
        self.probe_rows = probe_rows  # tables above it are not searched for staged ids (flush)
        self.bulk_from_bytes = bulk_from_bytes  # a file this big checkpoints rarely (sync.store)
        self.bulk = False  # checkpointing at BULK_CHECKPOINT_THRESHOLD until closed
        self.in_flight_bytes = in_flight_bytes  # page bytes staged or committed at once, at most
        self.buffered = 0  # bytes of page bodies waiting for the next flush
        self.written: dict[str, int] = {}  # objects written per table, so far
        self._spool = _spool_beside(con)
        self._bodies: dict[str, list[str]] = {}  # table -> spooled files
        self._children: dict[str, list[tuple[str, str]]] = {}  # table -> [(parent, file)]
        self._stage_con = con.cursor()
        for area in AREAS:  # attached to the database: the committer's cursor sees them too
            prepare_area(self._stage_con, area)
        self._stager = ThreadPoolExecutor(1, thread_name_prefix="sync-stager")
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="sync-writer")
        self._turn = 0
        self._writing: deque[tuple[Future[dict[str, int]], int]] = deque()  # with their bytes

    @property
    def in_flight(self) -> int:
        """Bytes of page bodies being staged or committed."""
        return sum(size for _, size in self._writing)

    def buffer(self, page: FetchedPage) -> None:
        """Keep one complete page (with its nested children) for the next flush: spooled to a
        file as it comes (the stager reads files; the body need not wait in memory)."""
        self._bodies.setdefault(page.resource, []).append(self._spool_body(page.body))
        for table, bodies in page.children.items():
            self._children.setdefault(table, []).extend(
                (parent, self._spool_body(body)) for parent, body in bodies
            )

    def _spool_body(self, body: str) -> str:
        self.buffered += len(body)
        return self._spool.write(body)

    def flush(self, windows: list[Window]) -> None:
        """Start staging the buffer, and writing it with `windows` as they are now, once a stage
        area is free and the bytes in flight leave room for it (the oldest commits are waited
        for)."""
        while self._writing and (
            len(self._writing) >= len(AREAS)
            or self.in_flight + self.buffered > self.in_flight_bytes
        ):
            self._count(self._writing.popleft()[0])
        area = AREAS[self._turn]
        self._turn = (self._turn + 1) % len(AREAS)
        snapshot = [replace(w) for w in windows]
        staged = self._stager.submit(self._stage, self._bodies, self._children, area)
        writing = self._committer.submit(self._commit, staged, snapshot, area)
        self._writing.append((writing, self.buffered))
        self._bodies, self._children, self.buffered = {}, {}, 0

    def collect(self) -> None:
        """Wait for every write in progress and count what they wrote (an error is raised
        here, after the others finished)."""
        failure: BaseException | None = None
        while self._writing:
            try:
                self._count(self._writing.popleft()[0])
            except BaseException as exc:  # the first is raised once all are in
                failure = failure or exc
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Wait for the writes in progress (whatever their outcome) and stop the threads."""
        self._stager.shutdown(wait=True)
        self._committer.shutdown(wait=True)
        self._stage_con.close()
        self._spool.close()
        if self.bulk:  # the next commit checkpoints what the WAL holds
            checkpoint_every(self.con, CHECKPOINT_THRESHOLD)
            self.bulk = False

    def _count(self, writing: Future[dict[str, int]]) -> None:
        for table, count in writing.result().items():
            self.written[table] = self.written.get(table, 0) + count

    def _stage(
        self, bodies: dict[str, list[str]], children: dict[str, list[tuple[str, str]]], area: str
    ) -> Staging:
        staging = Staging(area=area)
        try:
            for table, files in bodies.items():
                stage_files(self._stage_con, staging, table, files)
            for table, nested in children.items():
                stage_files(
                    self._stage_con, staging, table, [f for _, f in nested], [p for p, _ in nested]
                )
        finally:  # staged or not, the flush's files are done with
            self._spool.discard([f for files in bodies.values() for f in files])
            self._spool.discard([f for nested in children.values() for _, f in nested])
        return staging

    def _transaction(
        self, staging: Staging, windows: list[Window], probe_rows: int | None
    ) -> dict[str, int]:
        with transaction(self.con):
            written = flush(self.con, staging, API_VERSION, self.clock(), probe_rows=probe_rows)
            save(self.con, windows)
            self.on_flush()
        if not self.bulk and database_bytes(self.con) >= self.bulk_from_bytes:
            checkpoint_every(self.con, BULK_CHECKPOINT_THRESHOLD)
            self.bulk = True
        return written

    def _commit(self, staged: Future[Staging], windows: list[Window], area: str) -> dict[str, int]:
        staging: Staging | None = None
        try:
            staging = staged.result()
            try:
                return self._transaction(staging, windows, self.probe_rows)
            except duckdb.ConstraintException:  # an id stored before: a window fetched again
                return self._transaction(staging, windows, None)
        finally:  # committed or not, the area is emptied for its next flush
            if staging is None:  # staging failed part way: every table may hold rows
                clear_area(self.con, area)
            elif staging.objects:
                clear_area(self.con, area, *staging.objects)


def _spool_beside(con: duckdb.DuckDBPyConnection) -> Spool:
    """Where a writer spools page bodies: beside the warehouse file (`<file>.pages`), emptied
    when a writer starts, so that pages a killed process left are not kept; one writer writes a
    warehouse at a time (the backfill's). A temporary spool for a database in memory."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        return Spool.temporary()
    directory = f"{row[0]}.pages"
    shutil.rmtree(directory, ignore_errors=True)
    os.mkdir(directory)
    return Spool(directory)

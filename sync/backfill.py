"""The parallel backfill: windows of every resource fetched by a pool, written by one thread.

Worker threads only do HTTP (`sync.fetch`), under the token buckets every request shares. This
thread owns all window state: it hands the next page of a window to the pool, splits windows as
densities show, and buffers complete pages in a `sync.writer.Writer`, whose thread writes them in
bulk with the window progress in one transaction while fetching goes on.

Truncated nested lists (an invoice's lines beyond the 10 embedded) are fetched as tasks of their
own, in parallel, and their page is held until all of them are in: they all share one endpoint,
which on most accounts has the most pages and so sets how long the backfill takes.

Steps of `Backfill.run`:
1. queue every pending window, round-robin across resources;
2. while pages are in flight: take each finished page, submit its follow-ups (or buffer it),
   split or advance its window; record failures per resource (a failing resource stops for
   this run, the others go on);
3. flush whenever the buffer is big or old enough, and once at the end.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from sync.client import AuthError, StripeReader, StripeSyncError
from sync.fetch import RESOURCES, FetchedPage, FollowUp, fetch_page, fetch_rest
from sync.options import Options, Progress
from sync.pacing import NESTED, nested_pages, ranks, remaining_pages
from sync.windows import Window, split
from sync.writer import Writer

__all__ = ["Backfill", "Options", "Outcome", "Progress"]  # the options: `sync.options`

Clock = Callable[[], datetime]

PACE_SECONDS = 1.0  # how often the endpoints' ranks are re-estimated


@dataclass
class Waiting:
    """A page held until the rest of its truncated nested lists is fetched."""

    page: FetchedPage
    window: Window
    missing: int


@dataclass
class Outcome:
    """What a backfill run did. `objects`: objects received per resource, as the progress
    reports them (quarantined ones too; nested tables: rows written); `unavailable`: the
    resources refused for good (403 or 404), with the status and Stripe's reason."""

    objects: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, tuple[int, str]] = field(default_factory=dict)
    complete: bool = False
    abandoned: bool = False


class Backfill:
    def __init__(
        self,
        reader: StripeReader,
        con: duckdb.DuckDBPyConnection,
        clock: Clock,
        options: Options,
        *,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        on_flush: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader, self.con, self.clock, self.options = reader, con, clock, options
        self.progress, self.should_stop, self.on_flush = progress, should_stop, on_flush
        self.monotonic = monotonic
        self.outcome = Outcome()
        self.windows: list[Window] = []
        self.ready: dict[str, deque[Window]] = {}
        self.inflight: dict[Future[FetchedPage], Window] = {}
        self.nested: dict[Future[list[tuple[str, str]]], tuple[Waiting, FollowUp]] = {}
        self.waiting: dict[str, int] = {}  # resource -> pages held for follow-ups
        self.failed: set[str] = set()
        self.fetched: dict[str, int] = {}
        self.pages: dict[str, int] = {}  # pages fetched per resource, or per nested table
        self.floor: int | None = None  # created of the oldest object seen: the account's start
        self._flushed_at = monotonic()
        self._paced_at = monotonic()
        self._writer = Writer(con, clock, on_flush)

    def run(self, windows: list[Window]) -> Outcome:
        """Fetch every pending window; returns what was written and what failed."""
        self.windows = windows
        for window in windows:
            if window.state == "pending":
                self.ready.setdefault(window.resource, deque()).append(window)
        # as many threads again for follow-ups: pages waiting for tokens must not hold them up
        with ThreadPoolExecutor(2 * self.options.workers, thread_name_prefix="sync") as pool:
            try:
                self._loop(pool)
                self._flush()
                self._writer.collect()
            except BaseException:
                for future in self._futures():
                    future.cancel()
                raise
            finally:
                self._writer.close()  # waits for the write in progress
                for table, count in {**self._writer.written, **self.fetched}.items():
                    self.outcome.objects[table] = count
        self.outcome.complete = all(w.state != "pending" for w in self.windows)
        return self.outcome

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while True:
            if self.should_stop():
                self.outcome.abandoned = True
            elif not self.outcome.abandoned:
                self._submit(pool)
            if not self.inflight and not self.nested:
                return
            done, _ = wait(self._futures(), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                if future in self.inflight:
                    self._take(future, self.inflight.pop(future), pool)
                else:
                    self._take_nested(future, *self.nested.pop(future))
            if self.monotonic() - self._paced_at >= PACE_SECONDS:
                self._pace()
            if (
                self._writer.buffered >= self.options.flush_bytes
                or self.monotonic() - self._flushed_at >= self.options.flush_seconds
            ):
                self._flush()

    def _futures(self) -> list[Future[Any]]:
        return [*self.inflight, *self.nested]

    def _submit(self, pool: ThreadPoolExecutor) -> None:
        """Fill the pool, one resource at a time in turn, at most N windows of one at once.

        Follow-ups have threads of their own (the pool is twice `workers`); a resource with many
        pages held for their follow-ups waits, so held pages (memory) stay few.
        """
        busy: dict[str, int] = {}
        for window in self.inflight.values():
            busy[window.resource] = busy.get(window.resource, 0) + 1
        progressed = True
        while progressed and self._free():
            progressed = False
            for resource, queue in self.ready.items():
                if not queue or resource in self.failed:
                    continue
                if busy.get(resource, 0) >= self.options.windows_per_resource:
                    continue
                if self.waiting.get(resource, 0) >= self.options.waiting_pages:
                    continue
                window = queue.popleft()
                spec = RESOURCES[resource]
                future = pool.submit(
                    fetch_page,
                    self.reader,
                    spec,
                    **window.params(),  # type: ignore[arg-type]
                    complete=False,
                )
                self.inflight[future] = window
                busy[resource] = busy.get(resource, 0) + 1
                progressed = True
                if not self._free():
                    return

    def _free(self) -> bool:
        return len(self.inflight) < self.options.workers

    def _take(self, future: Future[FetchedPage], window: Window, pool: ThreadPoolExecutor) -> None:
        try:
            page = future.result()
        except AuthError:
            raise
        except StripeSyncError as exc:
            self._fail(window.resource, exc)
            return
        if page.follow_ups:
            held = Waiting(page, window, len(page.follow_ups))
            window.waiting += 1
            self.waiting[window.resource] = self.waiting.get(window.resource, 0) + 1
            for follow_up in page.follow_ups:
                self.nested[pool.submit(fetch_rest, self.reader, follow_up)] = (held, follow_up)
        else:
            self._buffer(page)
        window.fetched += page.count
        self.pages[window.resource] = self.pages.get(window.resource, 0) + 1
        if window.top is None:
            window.top = page.first_created
        if page.last_created is not None:
            window.last = page.last_created
            self.floor = min(self.floor or page.last_created, page.last_created)
        if page.has_more and page.last_id is not None:
            window.cursor = page.last_id
            self._maybe_split(window, page)
            self.ready.setdefault(window.resource, deque()).appendleft(window)
        else:
            window.finished = True
        self._report(window.resource)

    def _take_nested(
        self, future: Future[list[tuple[str, str]]], held: Waiting, follow_up: FollowUp
    ) -> None:
        """A follow-up done: its page is buffered once all of its follow-ups are. On failure
        the page is dropped and its window never counts as done (it is refetched next run)."""
        try:
            bodies = future.result()
        except AuthError:
            raise
        except StripeSyncError as exc:
            self._fail(held.window.resource, exc)
            return
        held.page.children.setdefault(follow_up.table, []).extend(bodies)
        self.pages[follow_up.table] = self.pages.get(follow_up.table, 0) + len(bodies)
        held.missing -= 1
        if held.missing == 0:
            self._buffer(held.page)
            held.window.waiting -= 1
            self.waiting[held.window.resource] -= 1

    def _pace(self) -> None:
        """Give the global tokens first to the endpoints with the most work left (sync.pacing)."""
        self._paced_at = self.monotonic()
        limiter = self.reader.limiter
        if limiter is None:
            return
        moment = self.clock()
        now = int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp())
        left = remaining_pages(self.windows, self.floor, now)
        by_endpoint = {RESOURCES[name].path: pages for name, pages in left.items()}
        queued: dict[str, int] = {}
        for _, follow_up in self.nested.values():
            queued[follow_up.table] = queued.get(follow_up.table, 0) + 1
        for table, nested in NESTED.items():
            by_endpoint[nested.endpoint] = nested_pages(
                left.get(nested.parent),
                self.pages.get(nested.parent, 0),
                self.pages.get(table, 0),
                queued.get(table, 0),
            )
        limiter.prioritise(ranks(by_endpoint, limiter.rate, limiter.endpoint_rate))

    def _maybe_split(self, window: Window, page: FetchedPage) -> None:
        if not RESOURCES[window.resource].windowed or page.last_created is None:
            return
        open_windows = sum(
            1
            for w in self.windows
            if w.resource == window.resource and w.state == "pending" and not w.finished
        )
        if open_windows >= self.options.windows_per_resource:
            return
        older = split(window, page.last_created, self.options.window_pages)
        if older is not None:
            self.windows.append(older)
            self.ready.setdefault(older.resource, deque()).append(older)

    def _fail(self, resource: str, exc: StripeSyncError) -> None:
        """A resource that fails is recorded and left for the next run; a 403 (the key may not
        read it) or a 404 (the API does not serve it) marks it unavailable: its windows are
        closed, so the backfill completes for the others (`sync.availability` retries it)."""
        self.outcome.errors[resource] = str(exc)
        self.failed.add(resource)
        if exc.status in (403, 404):
            self.outcome.unavailable[resource] = (exc.status, str(exc))
            for window in self.windows:
                if window.resource == resource and window.state == "pending":
                    window.state = "unavailable"
        self._report(resource)

    def _buffer(self, page: FetchedPage) -> None:
        self._writer.buffer(page)
        self.fetched[page.resource] = self.fetched.get(page.resource, 0) + page.count

    def _flush(self) -> None:
        """Write the buffered pages, and the windows they complete (in the same transaction)."""
        for window in self.windows:
            if window.finished and not window.waiting and window.state == "pending":
                window.state = "done"
        self._writer.flush(self.windows)
        self._flushed_at = self.monotonic()

    def _report(self, resource: str) -> None:
        if self.progress is None:
            return
        finished = all(
            w.finished or w.state != "pending" for w in self.windows if w.resource == resource
        )
        self.progress(resource, self.fetched.get(resource, 0), finished)

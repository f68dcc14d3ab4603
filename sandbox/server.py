"""The sandbox over real HTTP: a loopback ``ThreadingHTTPServer`` in a background thread.

HTTP/1.1 keep-alive with Nagle disabled (a header write followed by a body write would
otherwise wait for the client's delayed ACK on every keep-alive response). Every request is
logged with its monotonic time so tests and benchmarks can count what a client did.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from sandbox.api import SandboxApi
from sandbox.model import Simulation

DEFAULT_API_KEY = "sk_test_paylens_sandbox"
STRIPE_VERSION = "2026-10-28.endive"  # what stripe 16.1 pins; a request's own header wins


class RequestRecord(NamedTuple):
    """One served request."""

    at: float  # time.monotonic() when the response was sent
    method: str
    path: str  # path with query string, as requested
    status: int


class RequestLog:
    """A thread-safe, append-only log of requests; iterating gives a snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._records[index]


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the ``SandboxApi``; subclassed per server with its state."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    api: SandboxApi
    log: RequestLog
    request_ids: Iterator[int]

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # drain it so the keep-alive connection stays in sync
        reply = self.api.handle(method, self.path, self.headers.get("Authorization"))
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Request-Id", f"req_{next(self.request_ids):014d}")
        self.send_header("Stripe-Version", self.headers.get("Stripe-Version") or STRIPE_VERSION)
        self.send_header("Cache-Control", "no-cache, no-store")
        self.end_headers()
        self.wfile.write(reply.body)
        self.log.append(RequestRecord(time.monotonic(), method, self.path, reply.status))

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line; ``RequestLog`` is the record."""


class SandboxServer:
    """A running sandbox: where it listens, which key it wants, and what it was asked."""

    def __init__(
        self,
        httpd: ThreadingHTTPServer,
        thread: threading.Thread,
        api_key: str,
        requests: RequestLog,
    ) -> None:
        self._httpd, self._thread = httpd, thread
        self.api_key = api_key
        self.requests = requests
        self.host, self.port = str(httpd.server_address[0]), int(httpd.server_address[1])
        self.url = f"http://{self.host}:{self.port}"

    def shutdown(self) -> None:
        """Stop accepting, close the socket and wait for the serving thread."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()


def start_server(
    sim: Simulation, *, host: str = "127.0.0.1", port: int = 0, api_key: str = DEFAULT_API_KEY
) -> SandboxServer:
    """Serve ``sim`` on a loopback address in a daemon thread (port 0: any free port)."""
    _require_loopback(host)
    log = RequestLog()
    handler = type(
        "SandboxHandler",
        (_Handler,),
        {"api": SandboxApi(sim, api_key), "log": log, "request_ids": itertools.count(1)},
    )
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever,
        kwargs={"poll_interval": 0.1},
        name=f"sandbox-{httpd.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return SandboxServer(httpd, thread, api_key, log)


def serve_forever(
    sim: Simulation,
    stop: threading.Event,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str = DEFAULT_API_KEY,
    on_ready: Callable[[SandboxServer], None] | None = None,
) -> None:
    """Serve until ``stop`` is set or KeyboardInterrupt, then shut down cleanly."""
    server = start_server(sim, host=host, port=port, api_key=api_key)
    try:
        if on_ready is not None:
            on_ready(server)
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def _require_loopback(host: str) -> None:
    """The sandbox answers to a well-known key, so it never listens beyond this machine."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or ":" in host:
        raise ValueError(f"the sandbox binds to an IPv4 loopback address only, not {host!r}")

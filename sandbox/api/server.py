"""The sandbox over real HTTP: a loopback ``ThreadingHTTPServer`` in a background thread.

HTTP/1.1 keep-alive with Nagle disabled (a header write followed by a body write would
otherwise wait for the client's delayed ACK on every keep-alive response). Before the API
sees a request, the ``Gate`` numbers it, applies the rate limiter and the fault plan, and moves
the live clock; every request is logged so tests and benchmarks can count what a client did.
Every reply's ``Date`` header is the simulated time, as Stripe's is its own: a client that takes
"now" from Stripe (paylens does) runs on the simulation's clock.
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable, Collection, Mapping
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.api.faults import FaultPlan
from sandbox.api.gate import Gate
from sandbox.api.requestlog import RequestLog, RequestRecord
from sandbox.api.routes import Reply, SandboxApi
from sandbox.sim.model import Simulation

__all__ = ["DEFAULT_API_KEY", "RequestLog", "RequestRecord", "SandboxServer", "start_server"]

DEFAULT_API_KEY = "sk_test_paylens_sandbox"
STRIPE_VERSION = "2026-10-28.endive"  # what stripe 16.1 pins; a request's own header wins


class _Handler(BaseHTTPRequestHandler):
    """Hands every request through the ``Gate``; subclassed per server with its state."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    gate: Gate
    request_ids: itertools.count[int]

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
        ticket = self.gate.admit(self.path)
        if ticket.fault == "reset":
            self.gate.record(ticket, method, self.path, 0)
            self._reset()
            return
        reply = self.gate.answer(ticket, method, self.path, self.headers.get("Authorization"))
        # logged before sending, so a client that has its answer finds it in the log
        self.gate.record(ticket, method, self.path, reply.status)
        self._send(reply, truncate=ticket.fault == "truncate")

    def _send(self, reply: Reply, *, truncate: bool) -> None:
        """The reply; a truncated one promises the whole body, sends half, then hangs up."""
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Request-Id", f"req_{next(self.request_ids):014d}")
        self.send_header("Stripe-Version", self.headers.get("Stripe-Version") or STRIPE_VERSION)
        self.send_header("Cache-Control", "no-cache, no-store")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body[: len(reply.body) // 2] if truncate else reply.body)
        if truncate:
            self.close_connection = True

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a dropped link would."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` of every reply (``send_response`` adds it): the simulated time now."""
        return formatdate(simulated_now(self.gate), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line; ``RequestLog`` is the record."""


def simulated_now(gate: Gate) -> int:
    """The simulated unix time now: where the live clock has got to, else the sim's end."""
    return gate.live.target() if gate.live is not None else int(gate.sim.now)


class SandboxServer:
    """A running sandbox: where it listens, which key it wants, and what it was asked."""

    def __init__(
        self, httpd: ThreadingHTTPServer, thread: threading.Thread, api_key: str, gate: Gate
    ) -> None:
        self._httpd, self._thread = httpd, thread
        self.api_key = api_key
        self.gate = gate
        self.requests: RequestLog = gate.log
        self.host, self.port = str(httpd.server_address[0]), int(httpd.server_address[1])
        self.url = f"http://{self.host}:{self.port}"

    def simulated_now(self) -> int:
        """The simulated unix time now: where the live clock has got to, else the sim's end."""
        return simulated_now(self.gate)

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
    sim: Simulation,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str = DEFAULT_API_KEY,
    rate: float | None = None,
    endpoint_rate: float | None = None,
    faults: str | FaultPlan | None = None,
    fault_seed: int = 0,
    speed: float | None = None,
    restricted_keys: Mapping[str, Collection[str]] | None = None,
    wall_clock: Callable[[], float] = time.monotonic,
) -> SandboxServer:
    """Serve ``sim`` on a loopback address in a daemon thread (port 0: any free port).

    ``rate``/``endpoint_rate``: Stripe's global and per-endpoint limits in requests a second
    (off when None). ``faults``: see ``sandbox.api.faults``, decided by ``fault_seed`` and each
    request's number. ``speed``: simulated seconds per wall second for a live clock.
    ``restricted_keys``: extra keys, each mapped to the resources it may *not* read (403).
    """
    _require_loopback(host)
    api = SandboxApi(sim, api_key, restricted_keys)
    gate = Gate(
        sim,
        api,
        rate=rate,
        endpoint_rate=endpoint_rate,
        faults=faults,
        fault_seed=fault_seed,
        speed=speed,
        wall_clock=wall_clock,
    )
    handler = type("SandboxHandler", (_Handler,), {"gate": gate, "request_ids": itertools.count(1)})
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever,
        kwargs={"poll_interval": 0.1},
        name=f"sandbox-{httpd.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return SandboxServer(httpd, thread, api_key, gate)


def serve_forever(
    sim: Simulation,
    stop: threading.Event,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str = DEFAULT_API_KEY,
    rate: float | None = None,
    endpoint_rate: float | None = None,
    faults: str | FaultPlan | None = None,
    fault_seed: int = 0,
    speed: float | None = None,
    restricted_keys: Mapping[str, Collection[str]] | None = None,
    wall_clock: Callable[[], float] = time.monotonic,
    on_ready: Callable[[SandboxServer], None] | None = None,
) -> None:
    """Serve until ``stop`` is set or KeyboardInterrupt, then shut down cleanly.

    Takes ``start_server``'s keyword arguments (a test keeps the two lists equal).
    """
    server = start_server(
        sim,
        host=host,
        port=port,
        api_key=api_key,
        rate=rate,
        endpoint_rate=endpoint_rate,
        faults=faults,
        fault_seed=fault_seed,
        speed=speed,
        restricted_keys=restricted_keys,
        wall_clock=wall_clock,
    )
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

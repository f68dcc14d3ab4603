"""A local HTTP server standing in for a Slack incoming webhook (tests and the demo).

It answers like Slack: 200 with the body `ok` (text/html) for a JSON object with `text` or
`blocks`, 400 `invalid_payload` for anything else, 404 `no_service` for another path. Answers
can be scripted ahead (an outage: 503s, then a 429 with Retry-After); when the script runs
out, Slack is healthy again. `GET /messages` lists what it accepted, as JSON.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBHOOK_PATH = "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"

# (status, body) or (status, body, headers)
ScriptedAnswer = tuple[int, str] | tuple[int, str, Mapping[str, str]]


@dataclass(frozen=True)
class StandinRequest:
    """One request as received, with the status it was answered."""

    method: str
    path: str
    body: str
    status: int
    at: float  # time.monotonic() when it arrived
    headers: Mapping[str, str] = field(default_factory=dict)


class SlackStandin:
    """The running stand-in; build it with `start_slack_standin`."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self._lock = threading.Condition()
        self._script: deque[tuple[int, str, dict[str, str]]] = deque()
        self._messages: list[dict[str, Any]] = []
        self._requests: list[StandinRequest] = []
        self._open = threading.Event()  # cleared by hold(): posts wait, unanswered
        self._open.set()
        self._waiting = 0  # posts held right now
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self.url = self.base_url + WEBHOOK_PATH

    def __enter__(self) -> SlackStandin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The JSON bodies answered 200, in the order they arrived (a copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def requests(self) -> list[StandinRequest]:
        """Every request, whatever it was answered (a copy)."""
        with self._lock:
            return list(self._requests)

    def script(self, answers: Iterable[ScriptedAnswer], *, replace: bool = False) -> None:
        """Queue answers for the next webhook posts, whatever they carry; then 200 `ok` again.
        `replace`: drop what is still queued first (an outage that ends now)."""
        with self._lock:
            if replace:
                self._script.clear()
            for answer in answers:
                status, body, *rest = answer
                self._script.append((status, body, dict(rest[0]) if rest else {}))

    def hold(self) -> None:
        """Leave the next posts unanswered until `release()`: a Slack that hangs. A post whose
        sender is gone by then (killed while it waited) is not accepted."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` posts arrived, answered or held (True), or `timeout` passed."""
        with self._lock:
            return self._lock.wait_for(lambda: self._posts() >= count, timeout)

    def _posts(self) -> int:
        return sum(request.method == "POST" for request in self._requests) + self._waiting

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` messages were accepted (True), or `timeout` passed (False)."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._messages) >= count, timeout)

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _answer(self, path: str, raw: bytes) -> tuple[int, str, dict[str, str]]:
        """The answer to a POST, recorded (the handler only does HTTP)."""
        text = raw.decode("utf-8", errors="replace")
        answer: tuple[int, str, dict[str, str]]
        with self._lock:
            if path != WEBHOOK_PATH:
                answer = (404, "no_service", {})
            elif self._script:
                answer = self._script.popleft()
            else:
                answer = (200, "ok", {}) if _valid(text) else (400, "invalid_payload", {})
            status, body, headers = answer
            if status == 200:
                self._messages.append(json.loads(text) if _valid(text) else {"raw": text})
            self._requests.append(
                StandinRequest("POST", path, text, status, time.monotonic(), headers)
            )
            self._lock.notify_all()
        return status, body, headers

    def _dropped(self, path: str, raw: bytes) -> None:
        """A held post whose sender went away: recorded, never accepted (status 0)."""
        text = raw.decode("utf-8", errors="replace")
        with self._lock:
            self._requests.append(StandinRequest("POST", path, text, 0, time.monotonic()))
            self._lock.notify_all()

    def _listing(self, path: str) -> tuple[int, str]:
        with self._lock:
            self._requests.append(StandinRequest("GET", path, "", 200, time.monotonic()))
            return 200, json.dumps(self._messages)


def _gone(connection: socket.socket) -> bool:
    """Whether the peer closed the connection (a killed sender's kernel closes it)."""
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _valid(text: str) -> bool:
    """Slack's basic check: a JSON object with `text` or `blocks`."""
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("text") or body.get("blocks"))


def _handler(standin: SlackStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not standin._open.is_set():
                with standin._lock:
                    standin._waiting += 1
                    standin._lock.notify_all()
                standin._open.wait()
                with standin._lock:
                    standin._waiting -= 1
                if _gone(self.connection):
                    standin._dropped(self.path, raw)
                    return
            status, body, headers = standin._answer(self.path, raw)
            self._reply(status, body, "text/html", headers)

        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/messages":
                self._reply(404, "not_found", "text/html", {})
                return
            status, body = standin._listing(self.path)
            self._reply(status, body, "application/json", {})

        def _reply(self, status: int, body: str, kind: str, headers: Mapping[str, str]) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .requests
            pass

    return Handler


def start_slack_standin(*, port: int = 0, host: str = "127.0.0.1") -> SlackStandin:
    """Serve on loopback (`port` 0: a free one) in a daemon thread; `.url` is the webhook."""
    server = ThreadingHTTPServer((host, port), BaseHTTPRequestHandler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="slack-standin", daemon=True
    )  # a short poll: shutdown() waits for one
    standin = SlackStandin(server, thread)
    server.RequestHandlerClass = _handler(standin)
    thread.start()
    return standin

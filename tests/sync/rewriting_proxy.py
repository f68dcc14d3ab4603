"""A real local HTTP proxy in front of the sandbox that serves chosen objects malformed.

It stands for an odd account, a buggy API version or a middlebox between paylens and Stripe:
every request goes on to the sandbox unchanged, and in every answer the chosen objects (by
Stripe `object` type and id) are rewritten, the same way each time, wherever a list or a
retrieve serves them as themselves: the items of a list page, the items of a nested list
(`subscription.items`), a retrieved object. Snapshots inside events are another object (the
event) and pass unchanged. Answers without a chosen object pass byte for byte.

The rewrites (`REWRITES`) are the malformations issue 17 names: a numeric id, an amount as a
string or a fraction, a status outside Stripe's enum, a required field removed, the currency
"xyz", and metadata nested 50,000 deep. Python's `json` cannot write the deep one, so that body
is built as text. The proxy records which objects it served rewritten (`served`).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEEP_DEPTH = 50_000
_DEEP_MARK = "__rewriting_proxy_deep__"
# hop-by-hop headers, and the ones the proxy writes itself for the body it sends
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

Rewrite = Callable[[dict[str, Any]], None]


def numeric_id(number: int) -> Rewrite:
    def rewrite(obj: dict[str, Any]) -> None:
        obj["id"] = number

    return rewrite


def set_field(name: str, value: object) -> Rewrite:
    def rewrite(obj: dict[str, Any]) -> None:
        obj[name] = value

    return rewrite


def remove_field(name: str) -> Rewrite:
    def rewrite(obj: dict[str, Any]) -> None:
        del obj[name]

    return rewrite


def as_string(name: str) -> Rewrite:
    """The field's number as a JSON string ("3600"), as a loosely typed API would send it."""

    def rewrite(obj: dict[str, Any]) -> None:
        obj[name] = str(obj[name])

    return rewrite


def as_fraction(name: str) -> Rewrite:
    """The field's integer plus a half (3600 -> 3600.5)."""

    def rewrite(obj: dict[str, Any]) -> None:
        obj[name] = obj[name] + 0.5

    return rewrite


def deep_metadata(obj: dict[str, Any]) -> None:
    """Metadata nested DEEP_DEPTH levels (replaced by text when the body is written)."""
    obj["metadata"] = _DEEP_MARK


# name -> what it does to an object; `Planned.how` names one of these with its argument
REWRITES: dict[str, Callable[..., Rewrite]] = {
    "numeric_id": numeric_id,
    "set": set_field,
    "remove": remove_field,
    "string": as_string,
    "fraction": as_fraction,
    "deep": lambda: deep_metadata,
}


@dataclass(frozen=True)
class Planned:
    """One object to serve malformed: its Stripe `object` type and id, and the rewrite."""

    object: str
    id: str
    how: str  # a key of REWRITES
    args: tuple[object, ...] = ()

    def apply(self, obj: dict[str, Any]) -> None:
        REWRITES[self.how](*self.args)(obj)


class RewritingProxy:
    """A running proxy: its `url`, the (object type, id, how) it served rewritten, and the
    objects that carried a rewritten one."""

    def __init__(self, upstream: str, plan: list[Planned]) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.plan = {(p.object, p.id): p for p in plan}
        self.served: set[tuple[str, str, str]] = set()
        # (object type, id) of the objects served with a rewritten one inside (a subscription
        # listing a rewritten item): their own fields are as the sandbox serves them
        self.carriers: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"proxy": self, "upstream": (host, int(port))})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def rewrite(self, body: bytes) -> bytes:
        """`body` with every planned object it serves rewritten; unchanged when it has none."""
        if not any(f'"{oid}"'.encode() in body for _, oid in self.plan):
            return body
        decoded = json.loads(body)
        found: set[tuple[str, str, str]] = set()
        carriers: set[tuple[str, str]] = set()
        self._walk(decoded, (), found, carriers)
        if not found:
            return body
        with self._lock:
            self.served |= found
            self.carriers |= carriers
        text = json.dumps(decoded, separators=(",", ":"), ensure_ascii=False)
        deep = '{"a":' * DEEP_DEPTH + "1" + "}" * DEEP_DEPTH
        return text.replace(f'"{_DEEP_MARK}"', deep).encode()

    def _walk(
        self,
        value: Any,
        outer: tuple[tuple[str, str], ...],
        found: set[tuple[str, str, str]],
        carriers: set[tuple[str, str]],
    ) -> None:
        """Rewrite the planned objects in `value`; `outer`: the objects it is inside."""
        if isinstance(value, list):
            for item in value:
                self._walk(item, outer, found, carriers)
            return
        if not isinstance(value, dict) or value.get("object") == "event":
            return  # an event's snapshot of an object is the event's, not the object's
        key = (str(value.get("object")), str(value.get("id")))
        inside = (*outer, key) if "id" in value else outer
        for child in value.values():
            self._walk(child, inside, found, carriers)
        planned = self.plan.get(key)
        if planned is not None:
            planned.apply(value)
            found.add((planned.object, planned.id, planned.how))
            carriers.update(outer)

    def shutdown(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> RewritingProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()


class _Handler(BaseHTTPRequestHandler):
    """Forwards one request to the sandbox and sends its answer back, rewritten."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    proxy: RewritingProxy
    upstream: tuple[str, int]

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def do_DELETE(self) -> None:
        self._forward("DELETE")

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
        upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            upstream.request(method, self.path, body=sent, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
            status, answer_headers = answer.status, answer.getheaders()
        finally:
            upstream.close()
        if status == 200:
            body = self.proxy.rewrite(body)
        # the sandbox's own headers, its Date (the simulated time paylens reads) included
        self.send_response_only(status)
        for name, value in answer_headers:
            if name.lower() not in _NOT_FORWARDED:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""

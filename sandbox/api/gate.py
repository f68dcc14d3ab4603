"""What happens to a request before and around the API: numbering, limits, faults, live clock.

Kept apart from the HTTP handler so each decision is a plain method call: ``admit`` numbers
the request and decides its fate (rate limit, fault) once, ``answer`` turns that fate into a
reply, ``record`` logs it. The clock is injected, so nothing here reads the time itself.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.api.errors import no_such
from sandbox.api.faults import FaultPlan, fault_error, parse_faults
from sandbox.api.live import LiveClock
from sandbox.api.ratelimit import RateLimiter, rate_limited
from sandbox.api.requestlog import RequestLog, RequestRecord
from sandbox.api.routes import Reply, SandboxApi
from sandbox.sim.model import Simulation


@dataclass(frozen=True)
class Ticket:
    """A request's number, when it was admitted, and what it will meet."""

    seq: int
    at: float
    limited: str | None = None  # "global-rate" / "endpoint-rate"
    fault: str | None = None  # a kind from sandbox.api.faults.KINDS


class Gate:
    """Admits, answers and records requests for one server."""

    def __init__(
        self,
        sim: Simulation,
        api: SandboxApi,
        *,
        rate: float | None,
        endpoint_rate: float | None,
        faults: str | FaultPlan | None,
        fault_seed: int,
        speed: float | None,
        wall_clock: Callable[[], float],
    ) -> None:
        self.sim, self.api, self.log = sim, api, RequestLog()
        self.plan = parse_faults(faults) if isinstance(faults, str) else faults or FaultPlan()
        self.fault_seed = fault_seed
        self._clock = wall_clock
        self._started = wall_clock()
        self._seq = itertools.count()
        self._admitted = itertools.count()  # numbers the requests the limiters let through
        self._seq_lock = threading.Lock()
        limited = rate is not None or endpoint_rate is not None
        self._limiter = RateLimiter(rate, endpoint_rate, wall_clock) if limited else None
        self.live = None if speed is None else LiveClock(sim, api, speed, wall_clock)

    def admit(self, path: str) -> Ticket:
        """Number the request, then let the limiters and the fault plan decide its fate.

        The fault depends only on (fault_seed, n) and the window, where n counts the requests
        the limiters let through: which requests a limiter refuses depends on timing, so
        numbering faults among admitted requests keeps "the n-th request that got through"
        failing the same way in every run, rate limits or not.
        """
        with self._seq_lock:
            seq = next(self._seq)
        if self._limiter is not None:
            at, limited = self._limiter.admit(path)
        else:
            at, limited = self._clock(), None
        if limited is not None:
            return Ticket(seq, at, limited=limited)
        with self._seq_lock:
            admitted = next(self._admitted)
        fault = self.plan.decide(
            self.fault_seed, admitted, wall_elapsed=at - self._started, sim_now=self.sim.now
        )
        return Ticket(seq, at, fault=fault)

    def answer(self, ticket: Ticket, method: str, path: str, authorization: str | None) -> Reply:
        """The reply for an admitted ticket (``reset`` is the handler's, as it has no reply)."""
        if ticket.limited is not None:
            error, headers = rate_limited(ticket.limited)
            return Reply(error.status, error.body(), headers)
        if ticket.fault in ("500", "503", "lock", "echo"):
            error, headers = fault_error(ticket.fault, authorization)
            return Reply(error.status, error.body(), headers)
        if ticket.fault == "stall":
            time.sleep(self.plan.stall_seconds)
        refused = self.plan.refusal(path)
        if refused is not None:
            return Reply(refused.status, refused.body())
        if self.live is None:
            return self._served(path, self.api.handle(method, path, authorization))
        with self.live.lock:
            self.live.tick()
            return self._served(path, self.api.handle(method, path, authorization))

    def _served(self, path: str, reply: Reply) -> Reply:
        """The reply as the plan changes it: lost events left out (``FaultPlan.lose_events``),
        `deep` objects nested too deep."""
        if reply.status == 200 and self.plan.lost is not None:
            kept = self.plan.lose_events(path, reply.body)
            if kept is None:
                error = no_such("event", path.split("?", 1)[0].rsplit("/", 1)[-1], param="id")
                return Reply(error.status, error.body())
            reply = Reply(reply.status, kept, reply.headers)
        return self._deepened(reply)

    def _deepened(self, reply: Reply) -> Reply:
        """The reply with the plan's `deep` objects nested too deep (``FaultPlan.deepen``)."""
        if reply.status != 200 or not self.plan.deep:
            return reply
        return Reply(reply.status, self.plan.deepen(reply.body), reply.headers)

    def record(self, ticket: Ticket, method: str, path: str, status: int) -> None:
        self.log.append(
            RequestRecord(ticket.at, method, path, status, ticket.fault, ticket.limited, ticket.seq)
        )

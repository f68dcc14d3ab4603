"""Shared sandbox fixtures: one small simulation and one server per test module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import stripe

from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation, simulate

SEED = 42
UNTIL = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(SEED, UNTIL, "small")


@pytest.fixture(scope="module")
def server(sim: Simulation) -> Iterator[SandboxServer]:
    running = start_server(sim)
    yield running
    running.shutdown()


@pytest.fixture(scope="module")
def client(server: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(
        server.api_key, base_addresses={"api": server.url}, max_network_retries=0
    )

"""What the service tests share: a simulation served by the real sandbox on a clock moved by
hand, and a real local HTTP server standing in for Slack, with settings that sync the one and
post to the other."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.settings import Secret, Settings
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation
from sandbox.slack_standin import SlackStandin, start_slack_standin
from tests.conftest import settings_for


@dataclasses.dataclass
class HandClock:
    server: SandboxServer
    standin: SlackStandin
    wall: list[float]  # the sandbox's wall clock: seconds since it started serving

    def settings(self, data_dir: Path, **changes: object) -> Settings:
        """Settings syncing the sandbox into `data_dir` and posting to the stand-in."""
        return settings_for(
            self.server, data_dir, slack_webhook_url=Secret(self.standin.url), **changes
        )


@contextmanager
def served_by_hand(sim: Simulation) -> Iterator[HandClock]:
    """`sim` served on a wall clock that reads `wall[0]` (seconds, 0 until a test moves it),
    and the Slack stand-in, both stopped when the block ends."""
    wall = [0.0]
    with (
        start_server(sim, speed=1.0, wall_clock=lambda: wall[0]) as server,
        start_slack_standin() as standin,
    ):
        yield HandClock(server, standin, wall)

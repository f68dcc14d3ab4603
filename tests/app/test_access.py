"""Who may open the dashboard: the password gate (constant-time compare, a limit on failed
attempts with a growing delay) and the refusal to serve beyond loopback without a password."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import ui
from app.dashboard_process import check_binding
from app.errors import CommandError
from app.settings import Secret, Settings

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = str(ROOT / "app" / "dashboard.py")
PASSWORD = "correct-horse-4711"


class Clock:
    """The gate's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ui, "_clock", fake)
    return fake


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch, synced_dir: Path, clock: Clock) -> AppTest:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(synced_dir))
    monkeypatch.setenv("PAYLENS_DASHBOARD_PASSWORD", PASSWORD)
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_never_shown_0042")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/never-shown-hook")
    return AppTest.from_file(DASHBOARD, default_timeout=30).run()


def _type(at: AppTest, text: str) -> AppTest:
    return at.text_input(key="paylens_password").input(text).run()


def _all_text(at: AppTest) -> str:
    parts = [str(getattr(element, "value", "")) for element in at.main]
    parts += [str(getattr(element, "label", "")) for element in at.main]
    return "\n".join(parts)


def test_a_password_gates_the_dashboard_and_no_secret_reaches_the_page(
    gate: AppTest, clock: Clock
) -> None:
    assert not gate.exception
    assert not gate.metric  # nothing shown before the password
    _type(gate, "wrong")
    assert gate.error[0].value == "Wrong password. Wait 1 s before the next try."
    assert not gate.metric
    assert gate.text_input[0].value == ""  # each attempt empties the field
    clock.now += 1
    _type(gate, PASSWORD)
    assert not gate.exception
    assert gate.metric[0].label == "MRR"
    text = _all_text(gate)
    for secret in (PASSWORD, "sk_test_never_shown_0042", "never-shown-hook"):
        assert secret not in text


def test_an_attempt_inside_the_delay_is_refused_unchecked_even_when_right(
    gate: AppTest, clock: Clock
) -> None:
    _type(gate, "wrong")
    clock.now += 0.4
    _type(gate, PASSWORD)
    assert gate.error[0].value == "Too many wrong passwords: wait 1 s before trying again."
    assert not gate.metric
    clock.now += 0.6
    _type(gate, PASSWORD)
    assert gate.metric[0].label == "MRR"


def test_the_delay_doubles_and_five_failures_a_minute_lock_the_session_until_it_passes(
    gate: AppTest, clock: Clock
) -> None:
    start = clock.now
    waits = []
    for _ in range(5):
        _type(gate, "wrong")
        waits.append(gate.error[0].value)
        clock.now += 2 ** (len(waits) - 1)  # exactly the delay the gate asked for
    assert waits[:4] == [f"Wrong password. Wait {s} s before the next try." for s in (1, 2, 4, 8)]
    # the fifth failure (at +15 s) is the fifth in a minute: no try until the first is a minute old
    assert waits[4] == "Wrong password. Wait 45 s before the next try."
    clock.now = start + 59
    _type(gate, PASSWORD)
    assert gate.error[0].value == "Too many wrong passwords: wait 1 s before trying again."
    assert not gate.metric
    clock.now = start + 60
    _type(gate, "wrong")  # the sixth failure waits 32 s
    assert gate.error[0].value == "Wrong password. Wait 32 s before the next try."
    clock.now += 32
    _type(gate, PASSWORD)
    assert not gate.exception
    assert gate.metric[0].label == "MRR"


def test_failures_from_one_address_count_in_every_session_from_it(
    monkeypatch: pytest.MonkeyPatch, gate: AppTest, clock: Clock
) -> None:
    monkeypatch.setattr(ui, "_client_address", lambda: "192.0.2.7")
    monkeypatch.setattr(ui, "_BY_ADDRESS", {})
    for _ in range(3):
        _type(gate, "wrong")
        clock.now += 10
    fresh = AppTest.from_file(DASHBOARD, default_timeout=30).run()  # a new session, same address
    _type(fresh, "wrong")  # its first failure is the address's fourth: 8 s
    assert fresh.error[0].value == "Wrong password. Wait 8 s before the next try."
    _type(fresh, PASSWORD)
    assert fresh.error[0].value == "Too many wrong passwords: wait 8 s before trying again."
    monkeypatch.setattr(ui, "_client_address", lambda: "192.0.2.8")  # another address
    _type(fresh, PASSWORD)  # from another address only this session's one failure counts: 1 s
    assert fresh.error[0].value == "Too many wrong passwords: wait 1 s before trying again."
    clock.now += 1
    _type(fresh, PASSWORD)
    assert fresh.metric[0].label == "MRR"


def test_without_a_password_the_dashboard_opens_at_once(
    monkeypatch: pytest.MonkeyPatch, synced_dir: Path
) -> None:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(synced_dir))
    monkeypatch.delenv("PAYLENS_DASHBOARD_PASSWORD", raising=False)
    at = AppTest.from_file(DASHBOARD, default_timeout=30).run()
    assert not at.exception
    assert not at.text_input
    assert at.metric[0].label == "MRR"


@pytest.mark.parametrize(
    ("failures", "now", "wait"),
    [
        ((), 0.0, 0.0),
        ((10.0,), 10.0, 1.0),
        ((10.0,), 10.5, 0.5),
        ((10.0,), 11.0, 0.0),
        ((10.0, 11.0), 11.0, 2.0),
        ((10.0, 11.0, 13.0), 13.0, 4.0),
        ((10.0, 11.0, 13.0, 17.0), 17.0, 8.0),
        ((10.0, 11.0, 13.0, 17.0, 25.0), 25.0, 45.0),  # 5 in a minute: until 10 + 60
        ((10.0, 11.0, 13.0, 17.0, 25.0), 69.0, 1.0),
        ((10.0, 11.0, 13.0, 17.0, 25.0), 70.0, 0.0),
        ((10.0, 11.0, 13.0, 17.0, 25.0, 70.0), 70.0, 32.0),
        ((0.0, 1.0, 3.0, 7.0, 15.0, 60.0, 92.0, 200.0), 200.0, 60.0),  # capped at a minute
    ],
)
def test_the_wait_before_the_next_attempt(
    failures: tuple[float, ...], now: float, wait: float
) -> None:
    assert ui.login_wait(failures, now) == wait


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_needs_no_password(address: str) -> None:
    check_binding(dataclasses.replace(Settings(), dashboard_address=address))


@pytest.mark.parametrize("address", ["0.0.0.0", "192.0.2.10", "::"])
def test_any_other_address_needs_a_password(address: str) -> None:
    settings = dataclasses.replace(Settings(), dashboard_address=address)
    with pytest.raises(CommandError, match=f"refusing to serve the dashboard on {address}"):
        check_binding(settings)
    check_binding(dataclasses.replace(settings, dashboard_password=Secret("s3cret")))

"""Who may open the dashboard: the password gate (constant-time compare, a limit on failed
attempts with a growing delay), OIDC login (`st.login`; the flow through a real provider is
tests/app/test_oidc.py), and the refusal to serve beyond loopback without one of the two."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import dashboard_process, ui
from app.dashboard_process import check_binding
from app.errors import CommandError
from app.settings import Secret, Settings

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = str(ROOT / "app" / "dashboard.py")
PASSWORD = "correct-horse-4711"
CLIENT_SECRET = "oidc-client-secret-never-shown-0815"
ADA = {"is_logged_in": True, "name": "Ada Lovelace", "email": "ada@example.com", "sub": "ada-1"}


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


@pytest.fixture
def oidc(monkeypatch: pytest.MonkeyPatch, synced_dir: Path, clock: Clock) -> AppTest:
    """The dashboard with OIDC login configured (and no password)."""
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(synced_dir))
    monkeypatch.delenv("PAYLENS_DASHBOARD_PASSWORD", raising=False)
    monkeypatch.setenv("PAYLENS_OIDC_ISSUER", "http://127.0.0.1:9/issuer")
    monkeypatch.setenv("PAYLENS_OIDC_CLIENT_ID", "paylens-dashboard")
    monkeypatch.setenv("PAYLENS_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    return AppTest.from_file(DASHBOARD, default_timeout=30)


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


def test_with_oidc_a_visitor_sees_the_log_in_button_and_no_data(oidc: AppTest) -> None:
    oidc.user = {"is_logged_in": False}
    oidc.run()
    assert not oidc.exception
    assert [button.label for button in oidc.button] == ["Log in"]
    assert not oidc.metric
    assert not oidc.text_input  # no password is configured
    assert CLIENT_SECRET not in _all_text(oidc)


def test_a_user_logged_in_with_oidc_sees_the_pages_their_name_and_a_log_out(
    oidc: AppTest,
) -> None:
    oidc.user = dict(ADA)
    oidc.run()
    assert not oidc.exception
    assert oidc.metric[0].label == "MRR"
    assert oidc.sidebar.text[0].value == "Logged in as Ada Lovelace · ada@example.com"
    oidc.sidebar.button(key="paylens_oidc_logout").click().run()
    assert not oidc.exception
    assert oidc.user == {"is_logged_in": False}  # st.logout ran
    assert not oidc.metric  # and the run stopped: the browser follows the logout redirect
    oidc.run()  # back from the provider's logout
    assert not oidc.metric
    assert [button.label for button in oidc.button] == ["Log in"]


def test_the_users_name_is_plain_text_whatever_it_holds(oidc: AppTest) -> None:
    oidc.user = {**ADA, "name": "**Ada** <script>x</script>"}
    oidc.run()
    assert not oidc.sidebar.markdown  # st.text: never markdown, HTML or a link
    shown = oidc.sidebar.text[0].value
    assert shown == "Logged in as **Ada** <script>x</script> · ada@example.com"


def test_with_a_password_and_oidc_either_admits(
    monkeypatch: pytest.MonkeyPatch, oidc: AppTest, clock: Clock
) -> None:
    monkeypatch.setenv("PAYLENS_DASHBOARD_PASSWORD", PASSWORD)
    oidc.user = {"is_logged_in": False}
    oidc.run()
    assert [button.label for button in oidc.button] == ["Log in"]
    assert oidc.text_input[0].label == "Password"
    assert not oidc.metric
    _type(oidc, PASSWORD)
    assert oidc.metric[0].label == "MRR"
    logged_in = AppTest.from_file(DASHBOARD, default_timeout=30)
    logged_in.user = dict(ADA)
    logged_in.run()
    assert logged_in.metric[0].label == "MRR"
    assert not logged_in.text_input


def test_a_user_claim_without_is_logged_in_does_not_admit(oidc: AppTest) -> None:
    oidc.user = {"email": "ada@example.com"}  # what a host may put in st.user: no login
    oidc.run()
    assert not oidc.metric
    assert [button.label for button in oidc.button] == ["Log in"]


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


OIDC = {
    "oidc_issuer": "https://login.example.com",
    "oidc_client_id": "paylens",
    "oidc_client_secret": Secret(CLIENT_SECRET),
}


@pytest.mark.parametrize("address", ["0.0.0.0", "192.0.2.10", "::"])
def test_any_other_address_needs_a_password_or_oidc(address: str) -> None:
    settings = dataclasses.replace(
        Settings(), dashboard_address=address, dashboard_url="https://paylens.example.com"
    )
    with pytest.raises(CommandError) as refused:
        check_binding(settings)
    assert str(refused.value) == (
        f"refusing to serve the dashboard on {address} without a password or OIDC login: set "
        "PAYLENS_DASHBOARD_PASSWORD (or _FILE), or PAYLENS_OIDC_ISSUER, PAYLENS_OIDC_CLIENT_ID "
        "and PAYLENS_OIDC_CLIENT_SECRET (or _FILE), or bind to 127.0.0.1"
    )
    check_binding(dataclasses.replace(settings, dashboard_password=Secret("s3cret")))
    check_binding(dataclasses.replace(settings, **OIDC))  # type: ignore[arg-type]


def test_half_an_oidc_configuration_does_not_guard_a_public_address() -> None:
    settings = dataclasses.replace(
        Settings(), dashboard_address="192.0.2.10", oidc_issuer="https://login.example.com",
        oidc_client_id="paylens",
    )  # fmt: skip
    with pytest.raises(CommandError, match="without a password or OIDC login"):
        check_binding(settings)


def test_a_gate_set_in_code_reaches_the_dashboard_and_one_from_a_file_stays_a_file() -> None:
    settings = dataclasses.replace(
        Settings(), dashboard_password=Secret(PASSWORD), oidc_issuer="https://login.example.com",
        oidc_client_id="paylens", oidc_client_secret=Secret(CLIENT_SECRET),
    )  # fmt: skip
    assert dashboard_process._settings_env(settings)["PAYLENS_OIDC_CLIENT_ID"] == "paylens"
    assert dashboard_process._gate_env(settings, {}) == {
        "PAYLENS_DASHBOARD_PASSWORD": PASSWORD,
        "PAYLENS_OIDC_CLIENT_SECRET": CLIENT_SECRET,
    }
    from_files = {"PAYLENS_DASHBOARD_PASSWORD_FILE": "p", "PAYLENS_OIDC_CLIENT_SECRET_FILE": "s"}
    assert dashboard_process._gate_env(settings, from_files) == {}  # the child reads the files


@pytest.mark.parametrize("address", ["0.0.0.0", "::"])
def test_oidc_on_every_address_needs_the_url_browsers_use(address: str) -> None:
    settings = dataclasses.replace(Settings(), dashboard_address=address, **OIDC)  # type: ignore[arg-type]
    with pytest.raises(CommandError, match=f"OIDC login on {address} needs PAYLENS_DASHBOARD_URL"):
        check_binding(settings)
    check_binding(dataclasses.replace(settings, dashboard_url="https://paylens.example.com"))
    check_binding(dataclasses.replace(settings, dashboard_address="192.0.2.10", dashboard_url=None))

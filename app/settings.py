"""Settings: one frozen, typed object built from the environment and an optional TOML file.

Only `app/` reads the environment; everything else receives a `Settings` (or the values it needs)
as arguments. Parsing is strict: a bad value stops start-up with one `SettingsError` naming the
variable. Secrets are wrapped in `Secret`, whose repr and str never show the value, and may be read
from a file named by `NAME_FILE` (Docker/Kubernetes style) instead of the variable itself. Secrets
are accepted from the environment or files only, never from the TOML file, which tends to be
committed or shared.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.digest import DEFAULT_SCHEDULE, Schedule, parse_schedule
from metrics.iso4217 import is_iso_currency

STRIPE_API_BASE = "https://api.stripe.com"
OIDC_DISCOVERY_PATH = "/.well-known/openid-configuration"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Secret:
    """A secret value that never shows itself in a repr, a str, a log line or a traceback."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    stripe_api_key: Secret | None = None
    stripe_api_base: str = STRIPE_API_BASE
    data_dir: Path = Path("data")
    sync_interval_seconds: int = 300
    reporting_currency: str = "usd"
    fx_rates_file: Path | None = None
    dashboard_address: str = "127.0.0.1"
    dashboard_port: int = 8501
    dashboard_password: Secret | None = None
    # OIDC login (st.login): all three of issuer, client id and client secret, or none
    oidc_issuer: str | None = None  # the issuer's URL, or its discovery document's
    oidc_client_id: str | None = None
    oidc_client_secret: Secret | None = None
    oidc_cookie_secret: Secret | None = None  # None: one generated in the data directory
    slack_webhook_url: Secret | None = None
    alerts_file: Path | None = None  # None: the built-in rules (alerts/defaults.toml)
    dashboard_url: str | None = None  # where Slack buttons link; None: no button
    slack_standin_url: str | None = None  # the demo's local Slack, whose messages a page shows
    sync_rate: float | None = None  # None: 20/s for test keys, 90/s for live keys
    sync_endpoint_rate: float = 24.0
    sync_workers: int = 48
    sync_timeout_seconds: float = 30.0
    sync_network_retries: int = 3
    sync_events_overlap_seconds: int = 300
    # SPEC §5's definitional choices; the defaults are Stripe's
    mrr_subtract_repeating: bool = True
    mrr_subtract_once: bool = False
    mrr_churn_at_period_end: bool = False
    involuntary_past_due_days: int = 30
    timezone: str = "UTC"  # an IANA name: which week is the weekly review's last complete one
    weekly_digest: Schedule | None = DEFAULT_SCHEDULE  # None: no digest is posted

    @property
    def master_path(self) -> Path:
        return self.data_dir / "master.duckdb"

    @property
    def snapshot_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def fx_rates_path(self) -> Path | None:
        """The rates file in use: the configured one, else `fx_rates.csv` in the data directory."""
        if self.fx_rates_file is not None:
            return self.fx_rates_file
        default = self.data_dir / "fx_rates.csv"
        return default if default.exists() else None

    @property
    def oidc_enabled(self) -> bool:
        """True when OIDC login is configured (issuer, client id and client secret)."""
        return None not in (self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret)

    @property
    def oidc_metadata_url(self) -> str | None:
        """The provider's discovery document: the issuer's `/.well-known/openid-configuration`,
        or the URL as given when it names that document already."""
        if self.oidc_issuer is None or self.oidc_issuer.endswith(OIDC_DISCOVERY_PATH):
            return self.oidc_issuer
        return self.oidc_issuer + OIDC_DISCOVERY_PATH

    def require_api_key(self) -> Secret:
        if self.stripe_api_key is None:
            raise SettingsError(
                "STRIPE_API_KEY is not set: export STRIPE_API_KEY=sk_... or point "
                "STRIPE_API_KEY_FILE at a file holding the key"
            )
        return self.stripe_api_key


# Plain settings: (environment variable, TOML key, parser). Secrets are handled apart.
def _url(name: str, raw: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(:\d+)?/?", raw):
        raise SettingsError(f"{name} must be an http(s) URL with no path, got {raw!r}")
    return raw.rstrip("/")


def _base_url(name: str, raw: str) -> str:
    """An http(s) URL that may have a path (a dashboard behind a reverse proxy)."""
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", raw):
        raise SettingsError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _interval(name: str, raw: str) -> int:
    value = _int(name, raw)
    if value < 30:
        raise SettingsError(f"{name} must be at least 30 seconds, got {value}")
    return value


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _positive(unit: str, high: float) -> Any:
    """A parser of a number in (0, high] of `unit`, naming the variable when it is not one."""

    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number of {unit}, got {raw!r}") from None
        if not 0 < value <= high:
            raise SettingsError(f"{name} must be above 0 and at most {high:g} {unit}, got {raw!r}")
        return value

    return parse


_rate = _positive("requests a second", 10_000)
_seconds = _positive("seconds", 600)


def _bounded(low: int, high: int) -> Any:
    def parse(name: str, raw: str) -> int:
        value = _int(name, raw)
        if not low <= value <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
        return value

    return parse


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    return value in _TRUE


def _port(name: str, raw: str) -> int:
    value = _int(name, raw)
    if not 1 <= value <= 65535:
        raise SettingsError(f"{name} must be a port between 1 and 65535, got {value}")
    return value


def _currency(name: str, raw: str) -> str:
    """An active ISO 4217 code ("CHF", "chf"), kept in lower case as Stripe writes codes."""
    if not is_iso_currency(raw.strip()):
        raise SettingsError(
            f"{name} must be an active ISO 4217 currency code such as USD, EUR or CHF, got {raw!r}"
        )
    return raw.strip().lower()


def _address(name: str, raw: str) -> str:
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        if raw != "localhost":
            raise SettingsError(f"{name} must be an IP address, got {raw!r}") from None
    return raw


def _timezone(name: str, raw: str) -> str:
    """An IANA time zone name ("Europe/Berlin"), as given."""
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{name} must be an IANA time zone name such as UTC or Europe/Berlin, got {raw!r}"
        ) from None
    return raw.strip()


def _nonempty(name: str, raw: str) -> str:
    if not raw.strip():
        raise SettingsError(f"{name} must not be empty")
    return raw.strip()


def _weekly_digest(name: str, raw: str) -> Schedule | None:
    """A weekday and a time in PAYLENS_TIMEZONE ("mon 09:00"), or "off"."""
    try:
        return parse_schedule(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc} (the time is in PAYLENS_TIMEZONE)") from None


def _path(name: str, raw: str) -> Path:
    if not raw.strip():
        raise SettingsError(f"{name} must not be empty")
    return Path(raw)


_PLAIN: dict[str, tuple[str, Any]] = {
    "stripe_api_base": ("PAYLENS_STRIPE_API_BASE", _url),
    "data_dir": ("PAYLENS_DATA_DIR", _path),
    "sync_interval_seconds": ("PAYLENS_SYNC_INTERVAL_SECONDS", _interval),
    "reporting_currency": ("PAYLENS_REPORTING_CURRENCY", _currency),
    "fx_rates_file": ("PAYLENS_FX_RATES_FILE", _path),
    "alerts_file": ("PAYLENS_ALERTS_FILE", _path),
    "dashboard_url": ("PAYLENS_DASHBOARD_URL", _base_url),
    "slack_standin_url": ("PAYLENS_SLACK_STANDIN_URL", _base_url),
    "dashboard_address": ("PAYLENS_DASHBOARD_ADDRESS", _address),
    "dashboard_port": ("PAYLENS_DASHBOARD_PORT", _port),
    "oidc_issuer": ("PAYLENS_OIDC_ISSUER", _base_url),
    "oidc_client_id": ("PAYLENS_OIDC_CLIENT_ID", _nonempty),
    "sync_rate": ("PAYLENS_SYNC_RATE", _rate),
    "sync_endpoint_rate": ("PAYLENS_SYNC_ENDPOINT_RATE", _rate),
    "sync_workers": ("PAYLENS_SYNC_WORKERS", _bounded(1, 64)),
    "sync_timeout_seconds": ("PAYLENS_SYNC_TIMEOUT_SECONDS", _seconds),
    "sync_network_retries": ("PAYLENS_SYNC_NETWORK_RETRIES", _bounded(0, 10)),
    "sync_events_overlap_seconds": ("PAYLENS_SYNC_EVENTS_OVERLAP_SECONDS", _bounded(0, 86_400)),
    "mrr_subtract_repeating": ("PAYLENS_MRR_SUBTRACT_REPEATING", _bool),
    "mrr_subtract_once": ("PAYLENS_MRR_SUBTRACT_ONCE", _bool),
    "mrr_churn_at_period_end": ("PAYLENS_MRR_CHURN_AT_PERIOD_END", _bool),
    "involuntary_past_due_days": ("PAYLENS_INVOLUNTARY_PAST_DUE_DAYS", _bounded(1, 365)),
    "timezone": ("PAYLENS_TIMEZONE", _timezone),
    "weekly_digest": ("PAYLENS_WEEKLY_DIGEST", _weekly_digest),
}
_SECRETS: dict[str, str] = {
    "stripe_api_key": "STRIPE_API_KEY",
    "dashboard_password": "PAYLENS_DASHBOARD_PASSWORD",
    "slack_webhook_url": "SLACK_WEBHOOK_URL",
    "oidc_client_secret": "PAYLENS_OIDC_CLIENT_SECRET",
    "oidc_cookie_secret": "PAYLENS_OIDC_COOKIE_SECRET",
}
# OIDC login needs all of these or none (the cookie secret is optional, but only with them)
_OIDC_REQUIRED = {
    "oidc_issuer": "PAYLENS_OIDC_ISSUER",
    "oidc_client_id": "PAYLENS_OIDC_CLIENT_ID",
    "oidc_client_secret": "PAYLENS_OIDC_CLIENT_SECRET",
}
DOCUMENTED_VARIABLES = (
    [env for env, _ in _PLAIN.values()]
    + list(_SECRETS.values())
    + [f"{env}_FILE" for env in _SECRETS.values()]
    + ["PAYLENS_CONFIG"]
)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `environ` (default: the process environment) and PAYLENS_CONFIG.

    Precedence: environment variable, then the TOML file, then the default.
    """
    env = dict(os.environ if environ is None else environ)
    toml_values = _read_toml(env.get("PAYLENS_CONFIG"))
    values: dict[str, Any] = {}
    for key, (var, parse) in _PLAIN.items():
        if var in env:
            values[key] = parse(var, env[var])
        elif key in toml_values:
            values[key] = parse(f"{key} in {env['PAYLENS_CONFIG']}", str(toml_values[key]))
    for key, var in _SECRETS.items():
        secret = _read_secret(env, var)
        if secret is not None:
            values[key] = secret
    _check_oidc(values)
    return Settings(**values)


def _check_oidc(values: Mapping[str, Any]) -> None:
    """OIDC login is all or nothing: a half configuration names what is missing."""
    given = [var for key, var in _OIDC_REQUIRED.items() if key in values]
    if "oidc_cookie_secret" in values:
        given.append("PAYLENS_OIDC_COOKIE_SECRET")
    missing = [var for key, var in _OIDC_REQUIRED.items() if key not in values]
    if given and missing:
        raise SettingsError(
            f"OIDC login is half configured: {', '.join(given)} set but {' and '.join(missing)} "
            "not (secrets may come from the _FILE variant); set all of PAYLENS_OIDC_ISSUER, "
            "PAYLENS_OIDC_CLIENT_ID and PAYLENS_OIDC_CLIENT_SECRET, or none"
        )


def _read_toml(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"PAYLENS_CONFIG names {path!r}, which does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"PAYLENS_CONFIG file {path!r} is not valid TOML: {exc}") from None
    section = data.get("paylens", data)
    known = {f.name for f in fields(Settings)} - set(_SECRETS)
    for key in section:
        if key in _SECRETS:
            raise SettingsError(
                f"{key} in {path!r}: secrets are read from the environment or a file "
                f"({_SECRETS[key]} or {_SECRETS[key]}_FILE), never from the config file"
            )
        if key not in known:
            raise SettingsError(f"unknown setting {key!r} in {path!r}; known: {sorted(known)}")
    return dict(section)


def _read_secret(env: Mapping[str, str], var: str) -> Secret | None:
    direct, file_var = env.get(var), env.get(f"{var}_FILE")
    if direct is not None and file_var is not None:
        raise SettingsError(f"set {var} or {var}_FILE, not both")
    if file_var is not None:
        try:
            direct = Path(file_var).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{var}_FILE names {file_var!r}: {exc.strerror}") from None
    if direct is None:
        return None
    if not direct.strip():
        raise SettingsError(f"{var} is set but empty")
    if var in _URL_SECRETS and not re.fullmatch(r"https?://\S+", direct.strip()):
        # the value is a secret: the message must not quote it
        raise SettingsError(f"{var} must be an http(s) URL (the value is not shown: it is secret)")
    if len(direct.strip()) < _MIN_LENGTH.get(var, 0):
        raise SettingsError(
            f"{var} must be at least {_MIN_LENGTH[var]} characters (the value is not shown: "
            "it is secret)"
        )
    return Secret(direct.strip())


_URL_SECRETS = frozenset({"SLACK_WEBHOOK_URL"})
_MIN_LENGTH = {"PAYLENS_OIDC_COOKIE_SECRET": 32}  # it signs the login cookie

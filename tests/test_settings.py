"""Settings: strict parsing, one clear message per bad value, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import DOCUMENTED_VARIABLES, Secret, Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_need_no_environment() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.stripe_api_base == "https://api.stripe.com"
    assert settings.master_path == Path("data/master.duckdb")
    assert settings.sync_interval_seconds == 300
    assert settings.dashboard_address == "127.0.0.1"


def test_environment_values_are_parsed_and_typed() -> None:
    settings = load_settings(
        {
            "STRIPE_API_KEY": "sk_test_abc",
            "PAYLENS_STRIPE_API_BASE": "http://127.0.0.1:12111/",
            "PAYLENS_DATA_DIR": "/srv/paylens",
            "PAYLENS_SYNC_INTERVAL_SECONDS": "600",
            "PAYLENS_REPORTING_CURRENCY": "EUR",
            "PAYLENS_DASHBOARD_PORT": "8600",
        }
    )
    assert settings.require_api_key().reveal() == "sk_test_abc"
    assert settings.stripe_api_base == "http://127.0.0.1:12111"
    assert settings.data_dir == Path("/srv/paylens")
    assert settings.sync_interval_seconds == 600
    assert settings.reporting_currency == "eur"
    assert settings.dashboard_port == 8600


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "PAYLENS_SYNC_INTERVAL_SECONDS",
            "five",
            "PAYLENS_SYNC_INTERVAL_SECONDS must be a whole number",
        ),
        ("PAYLENS_SYNC_INTERVAL_SECONDS", "5", "at least 30 seconds"),
        ("PAYLENS_DASHBOARD_PORT", "70000", "PAYLENS_DASHBOARD_PORT must be a port"),
        ("PAYLENS_DASHBOARD_ADDRESS", "everywhere", "PAYLENS_DASHBOARD_ADDRESS must be an IP"),
        (
            "PAYLENS_STRIPE_API_BASE",
            "api.stripe.com",
            "PAYLENS_STRIPE_API_BASE must be an http(s) URL",
        ),
        ("STRIPE_API_KEY", "  ", "STRIPE_API_KEY is set but empty"),
        ("PAYLENS_SYNC_RATE", "fast", "PAYLENS_SYNC_RATE must be a number of requests a second"),
        ("PAYLENS_SYNC_RATE", "0", "PAYLENS_SYNC_RATE must be above 0 and at most 10000"),
        ("PAYLENS_SYNC_TIMEOUT_SECONDS", "900", "at most 600 seconds, got '900'"),
        ("PAYLENS_MRR_SUBTRACT_ONCE", "maybe", "PAYLENS_MRR_SUBTRACT_ONCE must be true or false"),
        ("PAYLENS_INVOLUNTARY_PAST_DUE_DAYS", "0", "must be between 1 and 365, got 0"),
    ],
)
def test_a_bad_value_is_one_message_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({variable: value})


def test_secrets_are_read_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("sk_test_from_file\n", encoding="utf-8")
    settings = load_settings({"STRIPE_API_KEY_FILE": str(key_file)})
    assert settings.require_api_key().reveal() == "sk_test_from_file"


def test_a_missing_secret_file_is_named() -> None:
    with pytest.raises(SettingsError, match="SLACK_WEBHOOK_URL_FILE names '/nonexistent/hook'"):
        load_settings({"SLACK_WEBHOOK_URL_FILE": "/nonexistent/hook"})


def test_secrets_never_show_in_repr_or_str() -> None:
    settings = load_settings(
        {
            "STRIPE_API_KEY": "sk_test_supersecret",
            "PAYLENS_DASHBOARD_PASSWORD": "hunter2hunter2",
            "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook/secretpath",
        }
    )
    for text in (repr(settings), str(settings), f"{settings}", repr(settings.stripe_api_key)):
        assert "supersecret" not in text
        assert "hunter2" not in text
        assert "secretpath" not in text
    assert str(Secret("x")) == "Secret('********')"


def test_a_toml_file_supplies_settings_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "paylens.toml"
    config.write_text(
        '[paylens]\nreporting_currency = "gbp"\nsync_interval_seconds = 120\n', encoding="utf-8"
    )
    settings = load_settings({"PAYLENS_CONFIG": str(config), "PAYLENS_SYNC_INTERVAL_SECONDS": "60"})
    assert settings.reporting_currency == "gbp"
    assert settings.sync_interval_seconds == 60


def test_a_toml_file_may_not_hold_secrets_or_unknown_keys(tmp_path: Path) -> None:
    config = tmp_path / "paylens.toml"
    config.write_text('stripe_api_key = "sk_test_x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="never from the config file"):
        load_settings({"PAYLENS_CONFIG": str(config)})
    config.write_text("sync_intervall = 5\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown setting 'sync_intervall'"):
        load_settings({"PAYLENS_CONFIG": str(config)})


def test_a_missing_api_key_says_how_to_set_it() -> None:
    with pytest.raises(SettingsError, match="STRIPE_API_KEY is not set"):
        load_settings({}).require_api_key()


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [name for name in DOCUMENTED_VARIABLES if f"`{name}`" not in readme] == []


def test_fx_rates_default_to_a_file_in_the_data_directory(tmp_path: Path) -> None:
    assert load_settings({"PAYLENS_DATA_DIR": str(tmp_path)}).fx_rates_path is None
    (tmp_path / "fx_rates.csv").write_text("date,currency,rate\n", encoding="utf-8")
    assert load_settings({"PAYLENS_DATA_DIR": str(tmp_path)}).fx_rates_path == (
        tmp_path / "fx_rates.csv"
    )
    named_file = tmp_path / "r.csv"
    named_file.write_text("date,currency,rate_in_usd\n", encoding="utf-8")
    named = load_settings(
        {"PAYLENS_DATA_DIR": str(tmp_path), "PAYLENS_FX_RATES_FILE": str(named_file)}
    )
    assert named.fx_rates_path == named_file


@pytest.mark.parametrize("value", ["xyz", "dollars", "XAU", "us"])
def test_a_reporting_currency_that_is_not_an_active_iso_code_is_refused(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"PAYLENS_REPORTING_CURRENCY": value})

    assert str(error.value) == (
        "PAYLENS_REPORTING_CURRENCY must be an active ISO 4217 currency code such as USD, EUR or "
        f"CHF, got {value!r}"
    )


@pytest.mark.parametrize(("value", "kept"), [("KWD", "kwd"), ("iqd", "iqd"), (" chf ", "chf")])
def test_a_reporting_currency_is_any_iso_code_kept_in_lower_case(value: str, kept: str) -> None:
    assert load_settings({"PAYLENS_REPORTING_CURRENCY": value}).reporting_currency == kept


def test_a_reporting_currency_from_the_config_file_is_checked_the_same_way(tmp_path: Path) -> None:
    config = tmp_path / "paylens.toml"
    config.write_text('[paylens]\nreporting_currency = "xyz"\n', encoding="utf-8")

    with pytest.raises(SettingsError) as error:
        load_settings({"PAYLENS_CONFIG": str(config)})

    assert str(error.value) == (
        f"reporting_currency in {config} must be an active ISO 4217 currency code such as USD, "
        "EUR or CHF, got 'xyz'"
    )


def test_the_mrr_definition_settings_read_booleans_from_the_environment_and_toml(
    tmp_path: Path,
) -> None:
    config = tmp_path / "paylens.toml"
    config.write_text(
        "[paylens]\nmrr_churn_at_period_end = true\ninvoluntary_past_due_days = 14\n",
        encoding="utf-8",
    )
    defaults = load_settings({})
    settings = load_settings(
        {
            "PAYLENS_CONFIG": str(config),
            "PAYLENS_MRR_SUBTRACT_REPEATING": "no",
            "PAYLENS_MRR_SUBTRACT_ONCE": "TRUE",
        }
    )
    assert (defaults.mrr_subtract_repeating, defaults.mrr_subtract_once) == (True, False)
    assert (defaults.mrr_churn_at_period_end, defaults.involuntary_past_due_days) == (False, 30)
    assert (settings.mrr_subtract_repeating, settings.mrr_subtract_once) == (False, True)
    assert (settings.mrr_churn_at_period_end, settings.involuntary_past_due_days) == (True, 14)


OIDC_ENV = {
    "PAYLENS_OIDC_ISSUER": "https://login.example.com/tenant-7/",
    "PAYLENS_OIDC_CLIENT_ID": "paylens-dashboard",
    "PAYLENS_OIDC_CLIENT_SECRET": "oidc-client-secret-4711",
}


def test_oidc_login_is_read_with_its_discovery_document_and_secrets_from_files(
    tmp_path: Path,
) -> None:
    assert not load_settings({}).oidc_enabled
    secret_file = tmp_path / "client_secret"
    secret_file.write_text("oidc-secret-from-file\n", encoding="utf-8")
    env = {**OIDC_ENV, "PAYLENS_OIDC_CLIENT_SECRET_FILE": str(secret_file)}
    del env["PAYLENS_OIDC_CLIENT_SECRET"]
    settings = load_settings(env)
    assert settings.oidc_enabled
    assert settings.oidc_issuer == "https://login.example.com/tenant-7"
    assert settings.oidc_metadata_url == (
        "https://login.example.com/tenant-7/.well-known/openid-configuration"
    )
    assert settings.oidc_client_id == "paylens-dashboard"
    assert settings.oidc_client_secret == Secret("oidc-secret-from-file")
    assert settings.oidc_cookie_secret is None  # made in the data directory when served
    named = load_settings(
        {**OIDC_ENV, "PAYLENS_OIDC_ISSUER": "https://x.example/.well-known/openid-configuration"}
    )
    assert named.oidc_metadata_url == "https://x.example/.well-known/openid-configuration"


@pytest.mark.parametrize(
    ("left_out", "message"),
    [
        (
            ["PAYLENS_OIDC_CLIENT_SECRET"],
            "OIDC login is half configured: PAYLENS_OIDC_ISSUER, PAYLENS_OIDC_CLIENT_ID set but "
            "PAYLENS_OIDC_CLIENT_SECRET not",
        ),
        (
            ["PAYLENS_OIDC_ISSUER"],
            "OIDC login is half configured: PAYLENS_OIDC_CLIENT_ID, PAYLENS_OIDC_CLIENT_SECRET "
            "set but PAYLENS_OIDC_ISSUER not",
        ),
        (
            ["PAYLENS_OIDC_ISSUER", "PAYLENS_OIDC_CLIENT_SECRET"],
            "OIDC login is half configured: PAYLENS_OIDC_CLIENT_ID set but PAYLENS_OIDC_ISSUER "
            "and PAYLENS_OIDC_CLIENT_SECRET not",
        ),
    ],
)
def test_half_an_oidc_configuration_is_one_error_naming_what_is_missing(
    left_out: list[str], message: str
) -> None:
    env = {k: v for k, v in OIDC_ENV.items() if k not in left_out}
    with pytest.raises(SettingsError) as error:
        load_settings(env)
    assert str(error.value) == (
        f"{message} (secrets may come from the _FILE variant); set all of PAYLENS_OIDC_ISSUER, "
        "PAYLENS_OIDC_CLIENT_ID and PAYLENS_OIDC_CLIENT_SECRET, or none"
    )
    assert "oidc-client-secret-4711" not in str(error.value)


def test_a_cookie_secret_alone_is_half_an_oidc_configuration() -> None:
    with pytest.raises(SettingsError, match="PAYLENS_OIDC_COOKIE_SECRET set but PAYLENS_OIDC_ISS"):
        load_settings({"PAYLENS_OIDC_COOKIE_SECRET": "c" * 40})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PAYLENS_OIDC_ISSUER", "login.example.com", "PAYLENS_OIDC_ISSUER must be an http(s) URL"),
        ("PAYLENS_OIDC_CLIENT_ID", "  ", "PAYLENS_OIDC_CLIENT_ID must not be empty"),
        ("PAYLENS_OIDC_CLIENT_SECRET", " ", "PAYLENS_OIDC_CLIENT_SECRET is set but empty"),
        (
            "PAYLENS_OIDC_COOKIE_SECRET",
            "short-cookie-secret",
            "PAYLENS_OIDC_COOKIE_SECRET must be at least 32 characters (the value is not shown",
        ),
    ],
)
def test_a_bad_oidc_value_is_one_message_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({**OIDC_ENV, variable: value})
    assert str(error.value).startswith(message)
    assert "short-cookie-secret" not in str(error.value)


def test_the_oidc_secrets_never_show_and_never_come_from_the_toml_file(tmp_path: Path) -> None:
    settings = load_settings({**OIDC_ENV, "PAYLENS_OIDC_COOKIE_SECRET": "cookie-" * 6})
    assert settings.oidc_cookie_secret == Secret("cookie-" * 6)
    assert "oidc-client-secret-4711" not in repr(settings)
    assert "cookie-cookie" not in repr(settings)
    config = tmp_path / "paylens.toml"
    config.write_text(
        '[paylens]\noidc_issuer = "https://login.example.com"\noidc_client_id = "pl"\n',
        encoding="utf-8",
    )
    from_toml = load_settings(
        {"PAYLENS_CONFIG": str(config), "PAYLENS_OIDC_CLIENT_SECRET": "oidc-client-secret-4711"}
    )
    assert (from_toml.oidc_issuer, from_toml.oidc_client_id) == ("https://login.example.com", "pl")
    config.write_text('oidc_client_secret = "x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="PAYLENS_OIDC_CLIENT_SECRET or PAYLENS_OIDC_CLIENT_S"):
        load_settings({"PAYLENS_CONFIG": str(config)})

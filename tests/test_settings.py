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
        (
            "PAYLENS_REPORTING_CURRENCY",
            "dollars",
            "PAYLENS_REPORTING_CURRENCY must be a three-letter",
        ),
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
    named = load_settings({"PAYLENS_DATA_DIR": str(tmp_path), "PAYLENS_FX_RATES_FILE": "r.csv"})
    assert named.fx_rates_path == Path("r.csv")


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

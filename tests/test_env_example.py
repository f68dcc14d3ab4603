""".env.example holds exactly the variables of README.md's configuration table, and no secret.

A line `NAME=value` is set by the example; `# NAME=value` shows a default or an example and sets
nothing. Both count as the variable being in the example.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import DOCUMENTED_VARIABLES, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def readme_table() -> dict[str, bool]:
    """Each variable of README's configuration table -> whether its row says it is a secret."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n#", 1)[0]
    found: dict[str, bool] = {}
    for row in section.splitlines():
        if row.startswith("| `"):
            first, *rest = row.split("|")[1:]
            secret = "(secret)" in "|".join(rest)
            found.update((name, secret) for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", first))
    return found


def example_lines() -> list[tuple[bool, str, str]]:
    """(set, name, value) of every assignment in .env.example, quotes around a value removed."""
    found = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := ASSIGNMENT.match(line):
            found.append((match[1] is None, match[2], match[3].strip().strip('"')))
    return found


def test_the_readme_table_read_here_is_every_setting_paylens_reads() -> None:
    table = readme_table()

    assert sorted(table) == sorted(DOCUMENTED_VARIABLES)
    assert len(table) == 35
    assert sorted(name for name, secret in table.items() if secret) == [
        "PAYLENS_DASHBOARD_PASSWORD",
        "PAYLENS_DASHBOARD_PASSWORD_FILE",
        "PAYLENS_OIDC_CLIENT_SECRET",
        "PAYLENS_OIDC_CLIENT_SECRET_FILE",
        "PAYLENS_OIDC_COOKIE_SECRET",
        "PAYLENS_OIDC_COOKIE_SECRET_FILE",
        "SLACK_WEBHOOK_URL",
        "SLACK_WEBHOOK_URL_FILE",
        "STRIPE_API_KEY",
        "STRIPE_API_KEY_FILE",
    ]


def test_every_variable_of_the_readme_table_is_in_the_example_and_no_other() -> None:
    names = [name for _, name, _ in example_lines()]

    assert len(names) == len(set(names))
    assert sorted(set(readme_table()) - set(names)) == []
    assert sorted(set(names) - set(readme_table())) == []


def test_the_example_holds_placeholders_for_secrets_never_a_real_one() -> None:
    secrets = {name for name, secret in readme_table().items() if secret}
    values = {name: value for _, name, value in example_lines() if name in secrets}

    assert sorted(n for n, v in values.items() if n.endswith("_FILE") and "/" not in v) == []
    assert sorted(n for n, v in values.items() if not n.endswith("_FILE") and "your" not in v) == []


def test_the_settings_the_example_sets_load_as_they_stand() -> None:
    given = {name: value for is_set, name, value in example_lines() if is_set}

    assert sorted(given) == ["STRIPE_API_KEY"]
    settings = load_settings(given)
    assert settings.require_api_key().reveal() == "rk_live_your_restricted_read_only_key"

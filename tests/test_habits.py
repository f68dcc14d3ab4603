"""CI and the git hooks run the same checks as `make lint`, so a lint failure never reaches main.

`.ci/run` runs `make lint` before the suite; `.pre-commit-config.yaml` runs the lint target's
commands as local hooks (the venv's tools: nothing downloaded). Read as text: the hooks' file is
YAML and the project does not depend on a YAML parser.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_lint_commands() -> list[str]:
    """The recipe of the Makefile's `lint` target, `$(BIN)` spelled out, without the ` .` each
    ruff command is given (a hook is given the files instead)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    lines = [line.strip().replace("$(BIN)", ".venv/bin") for line in recipe[1].splitlines()]
    return [line.removesuffix(" .") for line in lines]


def test_ci_lints_before_it_tests() -> None:
    script = (ROOT / ".ci/run").read_text(encoding="utf-8")

    assert re.findall(r"^make (\S+)", script, re.MULTILINE) == ["lint", "chromium", "test"]


def test_the_git_hooks_are_the_lint_targets_commands_run_locally() -> None:
    config = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")

    assert make_lint_commands() == [
        ".venv/bin/ruff check",
        ".venv/bin/ruff format --check",
        ".venv/bin/mypy",
    ]
    assert re.findall(r"^\s*entry: (.+)$", config, re.MULTILINE) == make_lint_commands()
    assert re.findall(r"^\s*- repo: (.+)$", config, re.MULTILINE) == ["local"]
    assert re.findall(r"^\s*language: (.+)$", config, re.MULTILINE) == ["system"] * 3

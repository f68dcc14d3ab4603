"""docs/ALERTS.md documents every default rule, built-in metric, rule key and transition: a rule
without an entry fails here (the habit of Datasette's documentation tests)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from alerts.model import TransitionKind
from alerts.rules import BUILTIN_METRICS, RULE_KEYS, load_rules

ALERTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "ALERTS.md"


def section(title: str) -> str:
    """The text under a `## title` or `### title` heading, up to the next heading of its level."""
    text = ALERTS_DOC.read_text(encoding="utf-8")
    match = re.search(rf"^(#+) {re.escape(title)}\s*$", text, re.MULTILINE)
    assert match, f"docs/ALERTS.md has no heading {title!r}"
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{len(match[1])}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def table_names(text: str) -> set[str]:
    """The `name` in the first cell of each table row."""
    return set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))


def rule_headings() -> set[str]:
    return set(re.findall(r"^### `([a-z0-9_]+)`\s*$", section("Default rules"), re.MULTILINE))


@pytest.mark.parametrize("rule", [rule.name for rule in load_rules(None)])
def test_every_default_rule_has_a_section(rule: str) -> None:
    assert rule in rule_headings()


def test_no_section_documents_a_rule_that_is_not_a_default() -> None:
    assert rule_headings() == {rule.name for rule in load_rules(None)}


def test_every_built_in_metric_has_a_row() -> None:
    assert table_names(section("Built-in metrics")) == set(BUILTIN_METRICS)


def test_every_rule_key_has_a_row() -> None:
    assert table_names(section("Rule keys")) == set(RULE_KEYS)


def test_every_transition_has_a_row() -> None:
    kinds = set(typing.get_args(TransitionKind))

    assert table_names(section("States and transitions")) == kinds


@pytest.mark.parametrize("title", ["Delivery to Slack", "Commands"])
def test_the_delivery_sections_are_there(title: str) -> None:
    assert section(title).strip()

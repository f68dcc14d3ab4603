"""metrics/ reads no clock and no environment: every day it uses is a parameter.

The one-way import rule (nothing from app, sync, alerts, sandbox; no streamlit) is checked for
every package by tests/test_architecture.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from metrics._sql import STORED

METRICS = Path(__file__).resolve().parents[2] / "metrics"
FORBIDDEN_CALLS = {"now", "today", "utcnow", "time", "getenv", "environ"}
CLOCK_SQL = re.compile(r"\b(current_date|current_timestamp|now\s*\(|today\s*\(|get_current)", re.I)


def imported_packages(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def attribute_names(tree: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def test_metrics_python_reads_neither_the_clock_nor_the_environment() -> None:
    for path in sorted(METRICS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert attribute_names(tree) & FORBIDDEN_CALLS == set(), path
        assert "os" not in imported_packages(tree), path


def test_metrics_sql_takes_the_day_as_a_parameter_instead_of_reading_the_clock() -> None:
    sql_files = sorted((METRICS / "sql").glob("*.sql"))

    assert sql_files
    for path in sql_files:
        text = path.read_text(encoding="utf-8")
        assert CLOCK_SQL.search(text) is None, path
        if path.stem in STORED:  # built whole by metrics.refresh; its readers take as_of
            continue
        layers = re.findall(r"over the `(\w+)` layer|[Rr]eads the layers? `(\w+)`", text)
        read = {name for pair in layers for name in pair if name}
        assert "$as_of" in text or read, path  # a layer on a layer gets as_of through it
        for layer in read:
            assert "$as_of" in (METRICS / "sql" / f"{layer}.sql").read_text(encoding="utf-8")

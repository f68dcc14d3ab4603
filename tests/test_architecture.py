"""The layout of SPEC §2: packages at the top, imports one way, only app/ touches the outside."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "sync", "metrics", "alerts", "sandbox")

# Which project packages each package may import (tests may import everything).
ALLOWED: dict[str, set[str]] = {
    "app": {"app", "sync", "metrics", "alerts", "sandbox"},
    "alerts": {"alerts", "metrics"},
    "metrics": {"metrics"},
    "sync": {"sync"},
    "sandbox": {"sandbox"},
}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Top-level names of every module the file imports, wherever the import statement is."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_top_level_layout_is_as_the_spec_says() -> None:
    for name in (
        *PACKAGES,
        "tests",
        "data",
        "docs",
        "pyproject.toml",
        "README.md",
        "Makefile",
        ".ci/run",
    ):
        assert (ROOT / name).exists(), name


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_only_go_one_way(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in _imports(path) & set(PACKAGES)
        if name not in ALLOWED[package]
    }
    assert not wrong


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "app"])
def test_only_app_imports_streamlit(package: str) -> None:
    assert not [path for path in _modules(package) if "streamlit" in _imports(path)]


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "app"])
def test_only_app_reads_the_environment(package: str) -> None:
    readers = [
        path
        for path in _modules(package)
        if "os.environ" in (text := path.read_text(encoding="utf-8")) or "getenv" in text
    ]
    assert not readers


def test_the_import_checker_catches_a_wrong_way_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from metrics.revenue import mrr_items\n", encoding="utf-8")
    assert "metrics" in _imports(module) and "metrics" not in ALLOWED["sync"]

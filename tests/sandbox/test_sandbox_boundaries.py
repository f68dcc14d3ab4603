"""The sandbox stays a leaf: no project imports, no environment, no implicit clock."""

from __future__ import annotations

import ast
from pathlib import Path

import sandbox

PACKAGE = Path(sandbox.__file__).parent
FORBIDDEN_PACKAGES = {"app", "sync", "metrics", "alerts"}
FORBIDDEN_CALLS = {
    "os.environ",
    "os.getenv",
    "datetime.now",
    "datetime.today",
    "date.today",
    "time.time",
    "dt.datetime.now",
    "dt.date.today",
    "random.random",
    "random.choice",
    "random.randint",
    "random.seed",
}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(p.relative_to(PACKAGE)), ast.parse(p.read_text()))
        for p in sorted(PACKAGE.rglob("*.py"))  # every sub-package too
    ]


def test_sandbox_imports_no_other_project_package() -> None:
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not roots & FORBIDDEN_PACKAGES, f"{name} imports {roots}"


def test_sandbox_reads_neither_the_environment_nor_the_clock_nor_the_global_rng() -> None:
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                dotted = ast.unparse(node)
                assert dotted not in FORBIDDEN_CALLS, f"{name} uses {dotted}"

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


def _sync_reaches_past_its_face(path: Path) -> list[str]:
    """The imports in `path` of a module under `sync` (`import sync.x`, `from sync.x import y`)
    or of a name `sync` does not export (`from sync import engine`), wherever they stand."""
    import sync

    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("sync.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("sync."):
                found.append(node.module)
            elif node.module == "sync":
                found += [f"sync.{a.name}" for a in node.names if a.name not in sync.__all__]
    return found


def test_app_imports_sync_only_through_its_public_module() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("app")
        for name in _sync_reaches_past_its_face(path)
    }
    assert not wrong


def test_the_sync_face_checker_catches_an_import_past_it(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text(
        "import sync.engine\nfrom sync import engine, sync\n"
        "def f():\n    from sync.status import account_day\n",
        encoding="utf-8",
    )
    assert sorted(_sync_reaches_past_its_face(module)) == [
        "sync.engine",
        "sync.engine",
        "sync.status",
    ]


# The sandbox's public faces sit at its top; every other module lives in a sub-package named
# for what it holds (sim, objects, truth, scenario, api; see sandbox/README.md).
SANDBOX_TOP_LEVEL = {"__init__.py", "cli.py", "slack_standin.py"}


def _module_graph(package_dir: Path) -> dict[str, set[str]]:
    """Each module of the package (``__init__`` named after its package) -> the modules of the
    package that importing it runs: every import statement wherever it stands (inside functions
    and ``if TYPE_CHECKING:`` too), and the ``__init__`` of each package entered from outside."""
    base = package_dir.parent
    paths = {
        ".".join(p.relative_to(base).with_suffix("").parts).removesuffix(".__init__"): p
        for p in sorted(package_dir.rglob("*.py"))
    }
    top = package_dir.name
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                module = ".".join([*parts, node.module or ""]) if node.level else node.module
                module = (module or "").strip(".")
                targets.add(module)
                targets.update(f"{module}.{a.name}" for a in node.names)
        edges: set[str] = set()
        for target in (t for t in targets if t in paths):
            pieces = target.split(".")
            prefixes = (".".join(pieces[:i]) for i in range(1, len(pieces) + 1))
            edges.update(p for p in prefixes if p != top and not f"{name}.".startswith(f"{p}."))
        graph[name] = edges - {name}
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (its modules in order, the first repeated), or []."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str]:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return []
        for target in sorted(graph[name]):
            if cycle := visit(target, [*path, name]):
                return cycle
        done.add(name)
        return []

    for name in sorted(graph):
        if cycle := visit(name, []):
            return cycle
    return []


def test_the_sandbox_has_no_import_cycle_counting_imports_inside_functions() -> None:
    graph = _module_graph(ROOT / "sandbox")
    assert len(graph) > 50 and "sandbox.sim.lifecycle" in graph["sandbox.sim.simulation"]
    assert _a_cycle(graph) == []


def test_every_sandbox_module_but_its_entry_points_sits_in_a_sub_package() -> None:
    assert {p.name for p in (ROOT / "sandbox").glob("*.py")} == SANDBOX_TOP_LEVEL
    packages = {p.parent.name for p in (ROOT / "sandbox").glob("*/__init__.py")}
    assert packages == {"api", "objects", "scenario", "sim", "truth"}


def test_the_cycle_checker_catches_a_cycle_through_an_import_inside_a_function(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "sub" / "__init__.py").write_text("from pkg.sub.a import f\n", encoding="utf-8")
    (package / "sub" / "a.py").write_text("from pkg import b\ndef f(): ...\n", encoding="utf-8")
    (package / "b.py").write_text("def g():\n    from pkg.sub import a\n", encoding="utf-8")
    (package / "c.py").write_text("import pkg.sub.a\n", encoding="utf-8")
    graph = _module_graph(package)
    assert graph["pkg.c"] == {"pkg.sub", "pkg.sub.a"}  # entering pkg.sub runs its __init__
    assert _a_cycle(graph) == ["pkg.b", "pkg.sub", "pkg.sub.a", "pkg.b"]

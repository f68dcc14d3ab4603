"""Every public function of a metrics module has its own heading in the docs.

The modules checked are found, not listed: every `metrics/*.py` is checked unless it is private
(`_sql`, `_volume`) or named in NOT_HEADED with the reason its functions have no headings of their
own. So a new metrics module fails here until its functions are documented or it is added to
NOT_HEADED on purpose. Page-figure modules (`*_views`) are documented in docs/DASHBOARD.md, page
by page; the rest in docs/METRICS.md.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
METRICS_DIR = ROOT / "metrics"
DOCS = ROOT / "docs"
METRICS_DOC = DOCS / "METRICS.md"
DASHBOARD_DOC = DOCS / "DASHBOARD.md"

# Modules whose public functions are helpers or parts of a whole documented elsewhere, not
# metrics with a heading each: module name -> why.
NOT_HEADED: dict[str, str] = {
    "coverage": "one helper for the report's 'beyond the data' warning (METRICS.md, report)",
    "degraded": "the degradations every surface shows, described where each shows them",
    "fx": "loading and applying the user's rates file (METRICS.md, currency conversion)",
    "integration_model": "no functions: integration health's types (integration_report)",
    "iso4217": "currency codes as data",
    "money": "minor units and their display",
    "signals": "no functions: the alert signals' package face (signals_*)",
    "signals_query": "time bounds and row readers shared by the signals_* modules",
    "summary_keys": "the summary's keys as alert rules name them (docs/ALERTS.md)",
    "weekly": "the weekly review, documented as a whole in docs/WEEKLY.md",
    "weekly_figures": "parts of the weekly review (docs/WEEKLY.md, Figures)",
    "weekly_model": "no functions: the weekly review's types",
    "weekly_narrative": "parts of the weekly review (docs/WEEKLY.md, The narrative)",
    "weekly_parts": "parts of the weekly review (docs/WEEKLY.md, Rows and series)",
}


def doc_for(name: str) -> Path | None:
    """The doc holding the headings of module `name`'s functions; None when it is not checked."""
    if name.startswith("_") or name in NOT_HEADED:
        return None
    return DASHBOARD_DOC if name.endswith("_views") else METRICS_DOC


def checked_modules(directory: Path = METRICS_DIR) -> dict[str, Path]:
    """Every module in `directory` whose functions must have headings, with the doc for them."""
    found = {path.stem: doc_for(path.stem) for path in sorted(directory.glob("*.py"))}
    return {name: doc for name, doc in found.items() if doc is not None}


def public_functions(module: ModuleType) -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == module.__name__
    ]


def documented_headings(doc: Path = METRICS_DOC) -> set[str]:
    return set(re.findall(r"^## (\S+)\s*$", doc.read_text(encoding="utf-8"), re.MULTILINE))


@pytest.mark.parametrize(("name", "doc"), sorted(checked_modules().items()))
def test_every_public_function_of_a_metrics_module_has_a_heading_in_its_doc(
    name: str, doc: Path
) -> None:
    functions = public_functions(importlib.import_module(f"metrics.{name}"))

    assert functions, f"metrics.{name} exposes no functions: document it or add it to NOT_HEADED"
    assert sorted(set(functions) - documented_headings(doc)) == []


def test_a_new_metrics_module_is_checked_without_being_listed(tmp_path: Path) -> None:
    for name in ("__init__", "_helpers", "churn", "fx", "new_metric", "new_page_views"):
        (tmp_path / f"{name}.py").write_text("", encoding="utf-8")

    assert checked_modules(tmp_path) == {
        "churn": METRICS_DOC,
        "new_metric": METRICS_DOC,
        "new_page_views": DASHBOARD_DOC,
    }


def test_the_modules_checked_include_the_alert_signals_and_every_page() -> None:
    checked = checked_modules()

    assert [name for name in checked if name.startswith("signals")] == [
        "signals_driver",
        "signals_health",
        "signals_payments",
    ]
    assert [name for name, doc in checked.items() if doc == DASHBOARD_DOC] == [
        "disputes_views",
        "health_views",
        "overview_views",
        "payments_views",
        "revenue_views",
    ]


def test_every_module_not_headed_exists_in_metrics() -> None:
    assert sorted(n for n in NOT_HEADED if not (METRICS_DIR / f"{n}.py").exists()) == []

from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

import metrics.breakdowns
import metrics.churn
import metrics.customers
import metrics.disputes
import metrics.disputes_views
import metrics.drilldown
import metrics.dunning
import metrics.health_views
import metrics.movements
import metrics.mrr
import metrics.overview_views
import metrics.payments
import metrics.payments_views
import metrics.refresh
import metrics.refunds
import metrics.retention
import metrics.revenue_views
import metrics.summary
import metrics.undated
import metrics.webhooks

DOCS = Path(__file__).resolve().parents[2] / "docs"
METRICS_DOC = DOCS / "METRICS.md"
DASHBOARD_DOC = DOCS / "DASHBOARD.md"
METRIC_MODULES = [metrics.summary, metrics.payments, metrics.mrr, metrics.movements]
METRIC_MODULES += [metrics.disputes, metrics.dunning, metrics.refunds, metrics.webhooks]
METRIC_MODULES += [metrics.churn, metrics.retention, metrics.customers]
METRIC_MODULES += [metrics.breakdowns, metrics.drilldown, metrics.refresh, metrics.undated]
# The dashboard pages' figures: documented in docs/DASHBOARD.md, page by page.
VIEW_MODULES = [metrics.overview_views, metrics.revenue_views, metrics.payments_views]
VIEW_MODULES += [metrics.disputes_views, metrics.health_views]


def public_functions(module: ModuleType) -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == module.__name__
    ]


def documented_headings(doc: Path = METRICS_DOC) -> set[str]:
    return set(re.findall(r"^## (\S+)\s*$", doc.read_text(encoding="utf-8"), re.MULTILINE))


@pytest.mark.parametrize("module", METRIC_MODULES, ids=lambda module: module.__name__)
def test_every_public_metric_function_has_a_heading_in_metrics_md(module: ModuleType) -> None:
    functions = public_functions(module)

    assert functions, f"{module.__name__} exposes no metric functions"
    assert sorted(set(functions) - documented_headings()) == []


@pytest.mark.parametrize("module", VIEW_MODULES, ids=lambda module: module.__name__)
def test_every_public_page_figure_function_has_a_heading_in_dashboard_md(
    module: ModuleType,
) -> None:
    functions = public_functions(module)

    assert functions, f"{module.__name__} exposes no page-figure functions"
    assert sorted(set(functions) - documented_headings(DASHBOARD_DOC)) == []

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
import metrics.drilldown
import metrics.dunning
import metrics.movements
import metrics.mrr
import metrics.payments
import metrics.refresh
import metrics.refunds
import metrics.retention
import metrics.summary
import metrics.undated
import metrics.webhooks

METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "METRICS.md"
METRIC_MODULES = [metrics.summary, metrics.payments, metrics.mrr, metrics.movements]
METRIC_MODULES += [metrics.disputes, metrics.dunning, metrics.refunds, metrics.webhooks]
METRIC_MODULES += [metrics.churn, metrics.retention, metrics.customers]
METRIC_MODULES += [metrics.breakdowns, metrics.drilldown, metrics.refresh, metrics.undated]


def public_functions(module: ModuleType) -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == module.__name__
    ]


def documented_headings() -> set[str]:
    return set(re.findall(r"^## (\S+)\s*$", METRICS_DOC.read_text(encoding="utf-8"), re.MULTILINE))


@pytest.mark.parametrize("module", METRIC_MODULES, ids=lambda module: module.__name__)
def test_every_public_metric_function_has_a_heading_in_metrics_md(module: ModuleType) -> None:
    functions = public_functions(module)

    assert functions, f"{module.__name__} exposes no metric functions"
    assert sorted(set(functions) - documented_headings()) == []

"""MRR exact on accounts the other tests never see: other seeds of `demo`, synced on their last
day (2026-06-30) through the real sandbox, against the simulator's truth.

Per subscription and day: exact on the sync's day and on every day of the events window, and
before it on every day but those the truth marks unknowable; each of those subscriptions has an
undated change listed, and each listed one is a change the truth says the API cannot date. The
movement identity holds for every month. The `small` preset is checked the same way.
"""

from __future__ import annotations

import pytest

from tests.metrics.truth_checks import check_account

SEEDS = [("demo", 3), ("demo", 11), ("demo", 23), ("demo", 42), ("small", 5)]


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "seed"), SEEDS, ids=[f"{p}-{s}" for p, s in SEEDS])
def test_mrr_on_another_account_equals_the_truth_but_for_listed_undated_changes(
    preset: str, seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    check_account(preset, seed, tmp_path_factory.mktemp(f"{preset}{seed}"))

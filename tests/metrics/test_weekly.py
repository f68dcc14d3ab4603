"""The weekly review (metrics.weekly): both weeks' figures and sentences pinned on the weekly
scenario (tests/metrics/scenario_files/weekly.toml: a decline spike in 2025-W10, an upgrade wave
in 2025-W11, synced through the sandbox), its figures checked against `summarise` and the
movements on the `demo` and `small` presets, the narrative's rules as a table of cases, and ISO
weeks at year boundaries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

from app.settings import Settings, SettingsError, load_settings
from app.weekly import review_for, timezone
from metrics.churn import ChurnSettings
from metrics.fx import convert_total
from metrics.money import minor_to_major
from metrics.movements import KINDS, customer_changes
from metrics.payments import payment_success_daily, payment_success_rate
from metrics.summary import Movements, summarise
from metrics.weekly import default_week, review_json, weekly_review
from metrics.weekly_model import (
    BreakdownRow,
    CustomerChange,
    DisputeRow,
    EndpointRow,
    Figure,
    IsoWeek,
    WeeklyReview,
)
from metrics.weekly_narrative import (
    MAX_SENTENCES,
    RULES,
    Candidate,
    disputes_due,
    involuntary,
    mrr,
    ordered,
    qualifies,
    quiet,
    success_rate,
    webhooks,
)
from sandbox.sim import simulate
from sandbox.sim.incidents import parse_incident
from tests.metrics.scenarios import simulate_named, synced_snapshot

W09, W10, W11 = IsoWeek(2025, 9), IsoWeek(2025, 10), IsoWeek(2025, 11)
TODAY = date(2025, 3, 18)  # the scenario's last day: the account's day after its sync
WEEKLY_MRR = 1000 * 52 / 12 / 100  # a $10 weekly price a month, in dollars
# 121 weekly subscriptions, 4 team ($200) and gus ($49) monthly: MRR at the end of W09 and W10
MRR_BEFORE = 121 * WEEKLY_MRR + 4 * 200 + 49
# W11: dora cancels (120 weekly), the team seats go 1 → 5, 4, 3, 2, and eve subscribes to team
MRR_AFTER = 120 * WEEKLY_MRR + (5 + 4 + 3 + 2) * 200 + 200 + 49
RATES = pd.DataFrame(
    {
        "date": [date(2020, 1, 1)] * 3 + [date(2026, 11, 10)] * 3 + [date(2026, 6, 24)] * 3,
        "currency": ["eur", "gbp", "jpy"] * 3,
        "rate": [1.1, 1.3, 0.0067, 1.2, 1.25, 0.007, 1.15, 1.28, 0.0069],
    }
)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("weekly"), tmp_path_factory.mktemp("weekly"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """The `small` preset (seed 3) to 2026-06-30, webhook endpoint 1 down from 2026-06-27."""
    outage = parse_incident("webhook_outage:endpoint=1,start=2026-06-27T00:00,hours=200")
    sim = simulate(3, date(2026, 6, 30), "small", incidents=[outage])
    con = synced_snapshot(sim, tmp_path_factory.mktemp("small"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def reviewed(scenario: duckdb.DuckDBPyConnection) -> dict[IsoWeek, WeeklyReview]:
    """The scenario's two weeks reviewed on its last day, once for the module."""
    return {week: review(scenario, week) for week in (W10, W11)}


def review(
    con: duckdb.DuckDBPyConnection, week: IsoWeek, today: date = TODAY, rates: object = None
) -> WeeklyReview:
    return weekly_review(
        con,
        week=week,
        today=today,
        definition=ChurnSettings(),
        reporting_currency="usd",
        rates=rates,  # type: ignore[arg-type]
    )


def values(result: WeeklyReview) -> dict[str, tuple[float | None, float | None]]:
    return {figure.key: (figure.this_week, figure.last_week) for figure in result.figures}


# --- the scenario: the decline spike week ---


def test_the_spike_weeks_payment_figures_are_the_charges_of_each_week(
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    found = values(reviewed[W10])

    # W09: 121 renewals on Feb 26 (gb_late's 2 fail), 4 team renewals and 2 retries on Mar 1.
    # W10: gus on Mar 3; 121 renewals on Mar 5, 33 failing; the 33 retries on Mar 8.
    assert found["payments.attempts"] == (155, 127)
    assert found["payments.failed"] == (33, 2)
    assert found["payments.success_rate"] == (122 / 155, 125 / 127)
    assert found["payments.failed_volume"] == (330.0, 20.0)
    assert found["churn.recovered"] == (330.0, 20.0)
    assert found["churn.recovery_rate"] == (1.0, 1.0)
    assert found["churn.involuntary"] == (0, 0)


def test_the_payment_figures_equal_an_independent_count_of_the_charges(
    scenario: duckdb.DuckDBPyConnection,
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    found = values(reviewed[W10])
    counts = scenario.execute(
        "SELECT created >= DATE '2025-03-03', count(*), count(*) FILTER (WHERE status = 'failed')"
        " FROM charges WHERE status IN ('succeeded', 'failed')"
        " AND created >= DATE '2025-02-24' AND created < DATE '2025-03-10' GROUP BY 1"
    ).fetchall()
    by_week = {this_week: (attempts, failed) for this_week, attempts, failed in counts}

    assert (found["payments.attempts"][0], found["payments.failed"][0]) == by_week[True]
    assert (found["payments.attempts"][1], found["payments.failed"][1]) == by_week[False]


def test_the_spike_weeks_first_sentence_names_the_brand_country_and_code(
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    result = reviewed[W10]
    points = (122 / 155 - 125 / 127) * 100

    assert result.figure("payments.success_rate").change == pytest.approx(points, abs=1e-12)
    assert result.sentences == (
        "Success rate fell 19.7 points to 78.7%; most of the drop is Visa cards issued in BR "
        "declining with do_not_honor (30 of 33 failures).",
        "1 dispute needs a response: Gus Grant's $49.00 (fraudulent), due 2025-03-13 09:00 UTC.",
    )


def test_the_spike_weeks_failures_are_broken_down_by_brand_country_band_and_code(
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    rows = reviewed[W10].failures

    # visa: everything but mastercard GB's 28 + 2 renewals (and gb_late's 2 retries in W09)
    assert rows == (
        BreakdownRow("brand", "visa", 125, 33, 95, 0, 330.0),
        BreakdownRow("brand", "mastercard", 30, 0, 32, 2, 0.0),
        BreakdownRow("country", "BR", 60, 30, 30, 0, 300.0),
        BreakdownRow("country", "US", 64, 3, 65, 0, 30.0),
        BreakdownRow("country", "GB", 30, 0, 32, 2, 0.0),
        BreakdownRow("amount_band", "10-50 USD", 155, 33, 123, 2, 330.0),
        BreakdownRow("decline_code", "do_not_honor", 30, 30, 0, 0, 300.0),
        BreakdownRow("decline_code", "insufficient_funds", 3, 3, 2, 2, 30.0),
    )


def test_the_spike_weeks_dispute_is_listed_with_its_deadlines(
    scenario: duckdb.DuckDBPyConnection,
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    result = reviewed[W10]
    (row,) = result.disputes
    ids = scenario.execute("SELECT id, charge FROM disputes").fetchall()

    assert (row.dispute, row.charge) == ids[0]
    assert row == DisputeRow(
        dispute=row.dispute,
        charge=row.charge,
        customer="Gus Grant",
        amount=49.0,
        currency="usd",
        reason="fraudulent",
        status="needs_response",
        created=datetime(2025, 3, 6, 9, 0, tzinfo=UTC),
        due_by=datetime(2025, 3, 20, 12, 0, tzinfo=UTC),
        link=f"/disputes?range=custom&from=2025-03-03&to=2025-03-09&dispute={row.dispute}",
        respond_by=datetime(2025, 3, 13, 9, 0, tzinfo=UTC),
        needs_response=True,
    )
    assert values(result)["disputes.new"] == (1, 0)
    assert values(result)["disputes.open"] == (1, 0)
    assert values(result)["disputes.at_risk"] == (49.0, 0.0)
    assert values(result)["disputes.due_within_72h"] == (0, 0)  # Stripe's deadline is Mar 20


def test_mrr_does_not_move_in_the_spike_week(reviewed: dict[IsoWeek, WeeklyReview]) -> None:
    found = values(reviewed[W10])

    assert found["mrr"] == (pytest.approx(MRR_BEFORE), pytest.approx(MRR_BEFORE))
    for key in ("mrr.net_new", "mrr.new", "mrr.expansion", "mrr.churn", "mrr.fx"):
        assert found[key] == (0.0, 0.0)
    assert {found[f"subscriptions.{kind}"] for kind in ("new", "churned", "upgraded")} == {(0, 0)}


# --- the scenario: the upgrade wave week ---


def test_the_upgrade_weeks_mrr_figures_are_its_movements(
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    found = values(reviewed[W11])

    assert found["mrr"] == (pytest.approx(MRR_AFTER), pytest.approx(MRR_BEFORE))
    assert found["mrr.expansion"] == (800 + 600 + 400 + 200, 0.0)
    assert found["mrr.new"] == (200.0, 0.0)
    assert found["mrr.churn"] == (pytest.approx(WEEKLY_MRR), 0.0)
    assert found["mrr.contraction"] == found["mrr.reactivation"] == (0.0, 0.0)
    assert found["mrr.net_new"][0] == pytest.approx(MRR_AFTER - MRR_BEFORE)
    assert found["subscriptions.upgraded"] == (4, 0)
    assert found["subscriptions.new"] == (1, 0)
    assert found["subscriptions.churned"] == (1, 0)
    assert found["subscriptions.downgraded"] == (0, 0)
    assert found["payments.success_rate"] == (1.0, 122 / 155)
    assert found["payments.attempts"] == (121, 155)  # 120 renewals on Mar 12, eve's on Mar 13


def test_the_upgrade_weeks_narrative_names_the_expansion_and_its_largest_customers(
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    result = reviewed[W11]

    assert result.sentences == (
        "MRR rose $2,156.67 (+35.4%), mostly expansion: Acme, Globex, Initech <R&D> and 1 "
        "other upgraded.",
        "Success rate rose 21.3 points to 100.0%; most of the rise is Visa cards issued in BR "
        "(0 failures, 30 last week).",
        "1 dispute needs a response: Gus Grant's $49.00 (fraudulent), overdue since "
        "2025-03-13 09:00 UTC.",
    )
    movers = [(m.name, m.kind, m.amount) for m in result.movers]
    assert movers == [
        ("Eve Labs", "new", 200.0),
        ("Acme", "expansion", 800.0),
        ("Globex", "expansion", 600.0),
        ("Initech <R&D>", "expansion", 400.0),
        ("Umbrella", "expansion", 200.0),
        ("Dora", "churn", pytest.approx(WEEKLY_MRR)),
    ]


def test_every_figure_links_to_its_page_on_the_reviewed_week(
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    result = reviewed[W11]
    pages = {figure.link.split("?")[0] for figure in result.figures}

    assert pages == {"/payments", "/revenue", "/disputes", "/health"}
    assert {figure.link.split("?")[1] for figure in result.figures} == {
        "range=custom&from=2025-03-10&to=2025-03-16"
    }
    assert result.figure("churn.recovered").link.startswith("/payments?")
    assert result.figure("webhooks.pending").link.startswith("/health?")


def test_the_series_cover_both_weeks_day_by_day(reviewed: dict[IsoWeek, WeeklyReview]) -> None:
    result = reviewed[W10]
    success = {point.day: point.value for point in result.series["payments.success_rate"]}

    assert list(success) == [date(2025, 2, 24) + timedelta(days=n) for n in range(14)]
    assert success[date(2025, 2, 26)] == 119 / 121
    assert success[date(2025, 3, 5)] == 88 / 121
    assert success[date(2025, 3, 8)] == 1.0
    assert success[date(2025, 3, 4)] is None  # no attempts
    assert [p.value for p in result.series["mrr"]] == [pytest.approx(MRR_BEFORE)] * 14
    kinds = sorted(f"movements.{kind}" for kind in KINDS)
    assert sorted(result.series) == [*kinds, "mrr", "payments.success_rate"]


def test_the_json_has_the_exact_figures_and_iso_dates(
    reviewed: dict[IsoWeek, WeeklyReview],
) -> None:
    result = reviewed[W11]
    data = json.loads(json.dumps(review_json(result)))

    assert (data["week"], data["previous"], data["start"], data["end"]) == (
        "2025-W11",
        "2025-W10",
        "2025-03-10",
        "2025-03-16",
    )
    assert data["complete"] is True
    assert data["sentences"] == list(result.sentences)
    success = next(f for f in data["figures"] if f["key"] == "payments.success_rate")
    assert (success["this_week"], success["last_week"]) == (1.0, 122 / 155)
    assert data["disputes"][0]["respond_by"] == "2025-03-13T09:00:00+00:00"
    assert data["series"]["payments.success_rate"][0] == ["2025-03-03", 1.0]


def test_a_week_not_over_on_the_accounts_day_is_incomplete_and_says_so(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    result = review(scenario, W11, today=date(2025, 3, 16))

    assert result.complete is False
    assert result.warnings[0] == (
        "2025-W11 is not over on the account's clock (today is 2025-03-16): its figures cover "
        "the days so far"
    )
    assert review(scenario, W11, today=date(2025, 3, 17)).complete is True


def test_the_app_reviews_the_last_complete_week_with_the_users_settings(
    scenario: duckdb.DuckDBPyConnection, reviewed: dict[IsoWeek, WeeklyReview], tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path)

    assert review_for(settings, scenario) == reviewed[W11]  # last sync: 2025-03-18
    assert review_for(settings, scenario, W10).sentences == reviewed[W10].sentences
    assert timezone(replace(settings, timezone="Europe/Berlin")) == ZoneInfo("Europe/Berlin")


def test_the_time_zone_setting_is_checked_when_settings_load() -> None:
    assert load_settings({"PAYLENS_TIMEZONE": "Asia/Tokyo"}).timezone == "Asia/Tokyo"
    assert load_settings({}).timezone == "UTC"
    with pytest.raises(SettingsError, match="PAYLENS_TIMEZONE must be an IANA time zone name"):
        load_settings({"PAYLENS_TIMEZONE": "Mars/Olympus"})


# --- the figures against summarise and the movements, on presets ---


def test_on_demo_the_weekly_figures_equal_summarise_and_the_movements(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    _check_against_summarise(demo, IsoWeek(2026, 46))


def test_on_small_the_weekly_figures_equal_summarise_and_the_movements(
    small: duckdb.DuckDBPyConnection,
) -> None:
    _check_against_summarise(small, IsoWeek(2026, 26))


def _check_against_summarise(con: duckdb.DuckDBPyConnection, week: IsoWeek) -> None:
    result = review(con, week, today=week.end + timedelta(days=3), rates=RATES)
    for reviewed in (week, week.previous()):
        summary = summarise(
            con,
            as_of=reviewed.end,
            since=reviewed.start - timedelta(days=1),
            definition=ChurnSettings(),
            reporting_currency="usd",
            rates=RATES,
        )
        side = 0 if reviewed == week else 1
        found = {key: pair[side] for key, pair in values(result).items()}
        assert found["mrr"] == summary.mrr.converted
        for kind in ("new", "expansion", "contraction", "churn", "reactivation", "fx"):
            assert found[f"mrr.{kind}"] == getattr(summary.movements, kind)
        assert found["payments.success_rate"] == payment_success_rate(
            con, reviewed.start - timedelta(days=1), reviewed.end
        )
        daily = payment_success_daily(con, reviewed.start, reviewed.end)
        assert found["payments.attempts"] == daily["attempted"].sum()
        assert found["payments.failed"] == daily["failed"].sum()
        changes = customer_changes(con, reviewed.start, reviewed.end)
        for kind in KINDS:
            own = changes[changes["kind"] == kind].groupby("currency")["amount_minor"].sum()
            major = {str(c): minor_to_major(float(v), str(c)) for c, v in own.items()}
            expected = convert_total(major, "usd", RATES, reviewed.end)
            assert found[f"mrr.{kind}"] == pytest.approx(expected, rel=1e-12, abs=1e-9)
            points = [p for p in result.series[f"movements.{kind}"] if p.day >= reviewed.start]
            in_week = [p.value for p in points if p.day <= reviewed.end]
            assert sum(v or 0.0 for v in in_week) == pytest.approx(expected, rel=1e-12, abs=1e-9)
    # the same sum, added up in another order
    assert result.series["mrr"][-1].value == pytest.approx(result.figure("mrr").this_week)
    assert result.series["mrr"][6].value == result.figure("mrr").last_week
    change = result.figure("mrr").change
    assert change == pytest.approx(
        (result.figure("mrr.net_new").this_week or 0) + (result.figure("mrr.fx").this_week or 0)
    )


def test_an_endpoint_down_shows_in_its_row_and_in_a_sentence(
    small: duckdb.DuckDBPyConnection,
) -> None:
    result = review(small, IsoWeek(2026, 26), today=date(2026, 6, 30), rates=RATES)
    warehouse = next(e for e in result.endpoints if e.url.endswith("/warehouse"))
    awaited = small.execute(
        "SELECT count(*) FROM events WHERE pending_webhooks > 0"
        " AND created >= DATE '2026-06-22' AND created < TIMESTAMP '2026-06-28 23:00:00'"
    ).fetchall()[0][0]
    judged = result.figure("webhooks.undelivered").this_week

    assert awaited > 0
    assert (warehouse.failures, warehouse.timeouts) == (awaited, awaited)
    assert judged == awaited
    assert result.endpoints[0].status == "disabled"  # disabled ones first
    (sentence,) = [s for s in result.sentences if s.startswith("Webhook delivery was")]
    assert f"the most affected endpoint is {warehouse.url} ({awaited} events awaited" in sentence


# --- the narrative's rules ---


def fig(key: str, this: float | None, last: float | None, unit: str = "count") -> Figure:
    change = None if this is None or last is None else this - last
    if change is not None and unit == "rate":
        change *= 100
    return Figure(key, key, "payments", unit, this, last, change, "/x")  # type: ignore[arg-type]


def cards(segments: dict[tuple[str, str], tuple[int, dict[str, int]]]) -> dict:
    """{(brand, country): (successes, {decline code: failures})} as segment counts."""
    counts: dict[tuple[str, str, str], tuple[int, int]] = {}
    for (brand, country), (succeeded, failures) in segments.items():
        counts[(brand, country, "")] = (succeeded, succeeded)
        for code, failed in failures.items():  # a failure without a code shares the '' key
            attempted, ok = counts.get((brand, country, code), (0, 0))
            counts[(brand, country, code)] = (attempted + failed, ok)
    return counts


HEALTHY = cards({("visa", "US"): (60, {}), ("mastercard", "GB"): (40, {})})


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        # 0.4 points: under the 0.5-point bar
        (cards({("visa", "US"): (600, {"do_not_honor": 1}), ("mastercard", "GB"): (399, {})}),
         cards({("visa", "US"): (600, {}), ("mastercard", "GB"): (400, {})}), None),
        # 0.6 points down but 49 attempts this week: under the sample
        (cards({("visa", "US"): (48, {"do_not_honor": 1})}), HEALTHY, None),
        # a drop mostly in one segment, named with its commonest code
        (cards({("visa", "BR"): (20, {"do_not_honor": 8, "expired_card": 2}),
                ("visa", "US"): (68, {"insufficient_funds": 2})}),
         cards({("visa", "BR"): (30, {}), ("visa", "US"): (70, {})}),
         "Success rate fell 12.0 points to 88.0%; most of the drop is Visa cards issued in BR "
         "declining with do_not_honor (8 of 12 failures)."),
        # a drop spread over segments: the largest part, its share
        (cards({("amex", ""): (44, {"": 6}), ("visa", "US"): (46, {"do_not_honor": 4}),
                ("mastercard", "GB"): (46, {"do_not_honor": 4})}),
         cards({("amex", ""): (50, {}), ("visa", "US"): (50, {}), ("mastercard", "GB"): (50, {})}),
         "Success rate fell 9.3 points to 90.7%; the largest part (43%) of the drop is "
         "American Express cards declining without a decline code (6 of 14 failures)."),
        # a rise, named by the segment that recovered
        (HEALTHY,
         cards({("visa", "US"): (50, {"do_not_honor": 10}), ("mastercard", "GB"): (40, {})}),
         "Success rate rose 10.0 points to 100.0%; most of the rise is Visa cards issued in US "
         "(0 failures, 10 last week)."),
    ],
)  # fmt: skip
def test_the_success_rate_sentence(now: dict, before: dict, expected: str | None) -> None:
    def rate(counts: dict) -> float:
        return sum(ok for _, ok in counts.values()) / sum(n for n, _ in counts.values())

    found = success_rate(fig("payments.success_rate", rate(now), rate(before), "rate"), now, before)

    assert (found.text if found else None) == expected


def moves(**amounts: float) -> Movements:
    kinds = dict.fromkeys(("new", "reactivation", "expansion", "contraction", "churn", "fx"), 0.0)
    kinds.update(amounts)
    return Movements(start_mrr=1000.0, end_mrr=None, start_by_currency={}, **kinds)  # type: ignore[arg-type]


def movers(kind: str, *names: str) -> list[CustomerChange]:
    return [CustomerChange(f"cus_{n}", name, kind, 10.0) for n, name in enumerate(names)]


@pytest.mark.parametrize(
    ("this", "last", "movements", "changed", "customers", "expected"),
    [
        (1004.0, 1000.0, moves(expansion=4.0), movers("expansion", "A"), {"expansion": 1}, None),
        (1006.0, 1000.0, moves(expansion=6.0), movers("expansion", "A"), {"expansion": 1},
         "MRR rose $6.00 (+0.6%), mostly expansion: A upgraded."),
        (1100.0, 1000.0, moves(expansion=40.0, new=35.0, reactivation=25.0),
         movers("expansion", "A", "B", "C", "D"), {"expansion": 9},
         "MRR rose $100.00 (+10.0%), the largest part expansion: A, B, C and 6 others upgraded."),
        (900.0, 1000.0, moves(churn=80.0, contraction=20.0), movers("churn", "A", "B"),
         {"churn": 2}, "MRR fell $100.00 (-10.0%), mostly churn: A and B churned."),
        (1020.0, 1000.0, moves(fx=20.0), [], {}, "MRR rose $20.00 (+2.0%), mostly FX revaluation."),
        (100.0, 0.0, moves(new=100.0), movers("new", "Acme <&>"), {"new": 1},
         "MRR rose $100.00, mostly new: Acme <&> signed up."),
        (1000.0, 1000.0, moves(), [], {}, None),
    ],
)  # fmt: skip
def test_the_mrr_sentence(
    this: float,
    last: float,
    movements: Movements,
    changed: list[CustomerChange],
    customers: dict[str, int],
    expected: str | None,
) -> None:
    found = mrr(fig("mrr", this, last, "money"), movements, changed, customers, "usd")

    assert (found.text if found else None) == expected


END = datetime(2025, 3, 10, tzinfo=UTC)  # the end of a week's Sunday


def dispute(name: str, opened: str, needs: bool = True, currency: str = "usd") -> DisputeRow:
    created = datetime.fromisoformat(opened).replace(tzinfo=UTC)
    return DisputeRow(
        f"dp_{name}", None, name, 49.0, currency, "fraudulent", "needs_response", created,
        created + timedelta(days=14), "/disputes", created + timedelta(days=7), needs,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], None),
        ([dispute("Ann", "2025-03-10 00:00")], None),  # respond by Mar 17 00:00: a week out
        ([dispute("Ann", "2025-03-06 09:00", needs=False)], None),  # evidence submitted
        ([dispute("Ann", "2025-03-09 23:59")],
         "1 dispute needs a response: Ann's $49.00 (fraudulent), due 2025-03-16 23:59 UTC."),
        ([dispute("Bo", "2025-03-08 10:00", currency="eur"), dispute("Ann", "2025-03-01 08:00")],
         "2 disputes need a response (€49.00 + $49.00); the first, Ann's $49.00 (fraudulent), "
         "was due 2025-03-08 08:00 UTC."),
    ],
)  # fmt: skip
def test_the_disputes_due_sentence(rows: list[DisputeRow], expected: str | None) -> None:
    found = disputes_due(rows, END)

    assert (found.text if found else None) == expected


def endpoint(url: str, failures: int, timeouts: int, status: str = "enabled") -> EndpointRow:
    return EndpointRow(f"we_{url}", url, status, 100, failures, timeouts, failures)


@pytest.mark.parametrize(
    ("rate", "judged", "endpoints", "expected"),
    [
        (0.994, 1000, [], None),  # 0.1 points under healthy: under the 0.25-point bar
        (0.99, 19, [], None),  # too few events judged
        (None, 0, [], None),
        (0.99, 1000, [endpoint("https://a", 10, 4), endpoint("https://b", 3, 0, "disabled")],
         "Webhook delivery was 99.0% (10 of 1,000 events undelivered); the most affected "
         "endpoint is https://a (10 events awaited, 4 of them for over a day); 1 endpoint is "
         "disabled."),
        (0.95, 20, [endpoint("https://a", 0, 0)],
         "Webhook delivery was 95.0% (1 of 20 events undelivered)."),
    ],
)  # fmt: skip
def test_the_webhook_sentence(
    rate: float | None, judged: int, endpoints: list[EndpointRow], expected: str | None
) -> None:
    found = webhooks(fig("webhooks.delivery_rate", rate, 1.0, "rate"), endpoints, judged)

    assert (found.text if found else None) == expected


@pytest.mark.parametrize(
    ("churned", "recovered", "expected"),
    [
        (1, 50.0, None),
        (2, 0.0, "2 subscriptions churned after failed payments (3 last week)."),
        (5, 120.0, "5 subscriptions churned after failed payments (3 last week); $120.00 of "
                   "failed subscription payments was recovered."),
    ],
)  # fmt: skip
def test_the_involuntary_churn_sentence(
    churned: int, recovered: float, expected: str | None
) -> None:
    found = involuntary(
        fig("churn.involuntary", churned, 3), fig("churn.recovered", recovered, 0.0), "usd"
    )

    assert (found.text if found else None) == expected


@pytest.mark.parametrize(
    ("rule", "size", "sample", "expected"),
    [
        ("payments.success_rate", -0.5, 50, True),
        ("payments.success_rate", 0.49, 1000, False),
        ("payments.success_rate", 3.0, 49, False),
        ("mrr", 0.5, 0, True),
        ("webhooks", 0.25, 20, True),
        ("webhooks", 0.3, 19, False),
        ("disputes.due", 1, 0, True),
        ("churn.involuntary", 1, 0, False),
    ],
)
def test_a_rule_needs_its_threshold_and_its_sample(
    rule: str, size: float, sample: int, expected: bool
) -> None:
    assert qualifies(RULES[rule], size, sample) is expected


def test_sentences_are_ordered_by_importance_and_capped() -> None:
    found = ordered(
        [Candidate(1.0, "a"), None, Candidate(6.0, "b"), Candidate(2.0, "c"), Candidate(2.0, "d")]
        + [Candidate(1.5, f"e{n}") for n in range(3)]
    )

    assert found == ("b", "c", "d", "e0", "e1")
    assert len(found) == MAX_SENTENCES


def test_a_quiet_week_says_nothing_crossed_a_threshold() -> None:
    text = quiet(
        fig("payments.success_rate", 0.971, 0.969, "rate"), fig("mrr", 10_010.0, 10_000.0), "usd"
    )

    assert text == (
        "Nothing moved past the review's thresholds: success rate 97.1% (+0.2 points), "
        "MRR $10,010.00 (+0.1%)."
    )


# --- ISO weeks ---


@pytest.mark.parametrize(
    ("text", "week", "start", "end"),
    [
        ("2026-W23", (2026, 23), date(2026, 6, 1), date(2026, 6, 7)),
        ("2026w01", (2026, 1), date(2025, 12, 29), date(2026, 1, 4)),
        (" 2020-W53 ", (2020, 53), date(2020, 12, 28), date(2021, 1, 3)),
        ("2025-W01", (2025, 1), date(2024, 12, 30), date(2025, 1, 5)),
        ("2026-W53", (2026, 53), date(2026, 12, 28), date(2027, 1, 3)),
    ],
)
def test_an_iso_week_parses_with_its_monday_and_sunday(
    text: str, week: tuple[int, int], start: date, end: date
) -> None:
    parsed = IsoWeek.parse(text)

    assert (parsed.year, parsed.week, parsed.start, parsed.end) == (*week, start, end)
    assert IsoWeek.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2021-W53", "week '2021-W53': 2021 has no week 53"),
        ("2026-W00", "week '2026-W00': 2026 has no week 0"),
        ("2026-23", "week '2026-23': expected an ISO week like 2026-W23"),
        ("26-W01", "week '26-W01': expected an ISO week like 2026-W23"),
        ("", "week '': expected an ISO week like 2026-W23"),
    ],
)
def test_a_bad_iso_week_is_one_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        IsoWeek.parse(text)

    assert str(error.value) == message


@pytest.mark.parametrize(
    ("week", "previous"),
    [(IsoWeek(2021, 1), IsoWeek(2020, 53)), (IsoWeek(2026, 1), IsoWeek(2025, 52)),
     (IsoWeek(2027, 1), IsoWeek(2026, 53)), (IsoWeek(2026, 23), IsoWeek(2026, 22))],
)  # fmt: skip
def test_the_week_before_crosses_year_boundaries(week: IsoWeek, previous: IsoWeek) -> None:
    assert week.previous() == previous


@pytest.mark.parametrize(
    ("today", "week"),
    [
        (date(2026, 1, 5), IsoWeek(2026, 1)),  # Monday: the week that ended yesterday
        (date(2026, 1, 4), IsoWeek(2025, 52)),  # Sunday: its own week is not over
        (date(2021, 1, 4), IsoWeek(2020, 53)),
        (date(2021, 1, 10), IsoWeek(2020, 53)),
        (date(2021, 1, 11), IsoWeek(2021, 1)),
        (date(2027, 1, 1), IsoWeek(2026, 52)),  # Friday of 2026-W53
        (date(2027, 1, 4), IsoWeek(2026, 53)),
    ],
)
def test_the_default_week_is_the_last_complete_one(today: date, week: IsoWeek) -> None:
    assert default_week(today) == week


def test_the_time_zone_decides_which_week_is_the_last_complete_one() -> None:
    moment = datetime(2025, 3, 16, 12, 0, tzinfo=UTC)  # Sunday noon in UTC, Monday in Auckland

    assert default_week(moment.date()) == W10
    assert default_week(moment.astimezone(ZoneInfo("Pacific/Auckland")).date()) == W11


def test_without_a_rate_the_money_is_none_and_a_warning_says_what_to_add(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    week = IsoWeek(2026, 46)
    no_table = review(demo, week, today=date(2026, 11, 20))
    no_yen = review(demo, week, today=date(2026, 11, 20), rates=RATES[RATES["currency"] != "jpy"])
    japan = next(row for row in no_yen.failures if row.value == "JP")

    assert (
        no_table.warnings.count(
            "amounts in EUR, GBP, JPY cannot be converted to USD: no FX rates file"
        )
        == 1
    )
    assert no_table.figure("mrr").this_week is None
    assert no_yen.figure("mrr").this_week is None
    assert (japan.failures, japan.lost_amount) == (1, None)
    # the earliest day a yen amount was needed: the first day of the MRR series
    assert (
        "no exchange rate for JPY on or before 2026-11-02: add a row '2026-11-02,jpy,<rate>' "
        "to the rates file, where <rate> is the value of 1 JPY in USD"
    ) in no_yen.warnings
    assert no_yen.figure("payments.success_rate").this_week == payment_success_rate(
        demo, week.start - timedelta(days=1), week.end
    )

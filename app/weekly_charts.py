"""The weekly review's charts, shared by the `/weekly` page and the offline HTML/PDF file.

Each chart draws numbers the review already holds (its daily series, its figures, its failure
rows); nothing is computed here. Money is labelled with `format_money` in the review's currency
(axes carry the currency code); a chart whose numbers are all missing is left out, so the page
and the file show the same charts.
"""

from __future__ import annotations

import html as markup
from collections.abc import Callable, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.weekly_tables import DIMENSIONS, money_text
from metrics.weekly_model import SeriesPoint, WeeklyReview

THIS_WEEK, LAST_WEEK = "#1f5fbf", "#a7b4c6"  # this week stands out, last week recedes
MOVEMENTS = (  # the figures of the movements chart, in a waterfall's order
    ("mrr.new", "New"),
    ("mrr.reactivation", "Reactivation"),
    ("mrr.expansion", "Expansion"),
    ("mrr.contraction", "Contraction"),
    ("mrr.churn", "Churn"),
    ("mrr.fx", "FX"),
)
HEIGHT = 380


def charts(review: WeeklyReview) -> list[tuple[str, go.Figure]]:
    """(title, figure) for each chart that has something to show: the daily success rate of
    both weeks, failures by dimension, MRR per day, and the MRR movements of both weeks."""
    found = [
        ("Payment success rate per day", success_chart(review)),
        ("Failed payments by dimension", failures_chart(review)),
        ("MRR per day", mrr_chart(review)),
        ("MRR movements", movements_chart(review)),
    ]
    return [(title, figure) for title, figure in found if figure is not None]


def success_chart(review: WeeklyReview) -> go.Figure | None:
    """This week's and last week's daily success rate, day by day of the week."""
    points = review.series.get("payments.success_rate", ())
    if all(point.value is None for point in points):
        return None
    figure = _week_lines(
        review,
        points,
        x=lambda point: f"{point.day:%a}",
        text=lambda point: f"{point.day:%Y-%m-%d}",
        hover="%{text}: %{y:.2%}",
        connectgaps=True,  # a day without attempts has no rate: join its neighbours
    )
    figure.update_yaxes(tickformat=".1%", title="Succeeded ÷ attempted")
    figure.update_xaxes(title="Day of the week (UTC)")
    return _layout(figure)


def failures_chart(review: WeeklyReview) -> go.Figure | None:
    """Failed payments per value of each dimension, this week beside last week."""
    dimensions = list(dict.fromkeys(row.dimension for row in review.failures))
    if not dimensions:
        return None
    figure = make_subplots(
        rows=1,
        cols=len(dimensions),
        subplot_titles=[DIMENSIONS.get(name, name) for name in dimensions],
    )
    for column, dimension in enumerate(dimensions, start=1):
        rows = [row for row in review.failures if row.dimension == dimension]
        values = [markup.escape(row.value) for row in rows]  # plotly reads tags in labels
        lost = [money_text(row.lost_amount, review.currency) for row in rows]
        for week, counts, color in (
            (review.previous, [row.last_week_failures for row in rows], LAST_WEEK),
            (review.week, [row.failures for row in rows], THIS_WEEK),
        ):
            figure.add_trace(
                go.Bar(
                    x=values,
                    y=counts,
                    name=str(week),
                    marker_color=color,
                    legendgroup=str(week),
                    showlegend=column == 1,
                    customdata=lost,
                    hovertemplate=(
                        "%{x}: %{y:,} failed"
                        + (" (%{customdata} lost)" if week == review.week else "")
                        + f"<extra>{week}</extra>"
                    ),
                ),
                row=1,
                col=column,
            )
    figure.update_layout(barmode="group")
    figure.update_yaxes(title="Failed payments", row=1, col=1)
    return _layout(figure, legend_y=1.22)


def mrr_chart(review: WeeklyReview) -> go.Figure | None:
    """MRR at the end of each day over both weeks, last week's days in its colour."""
    points = [point for point in review.series.get("mrr", ()) if point.value is not None]
    if not points:
        return None
    figure = _week_lines(
        review,
        points,
        x=lambda point: point.day,
        text=lambda point: money_text(point.value, review.currency),
        hover="%{x|%Y-%m-%d}: %{text}",
    )
    figure.update_yaxes(title=f"MRR ({review.currency.upper()})", tickformat=",")
    figure.update_xaxes(title="Day (UTC)", tickformat="%a %d %b")
    return _layout(figure)


def movements_chart(review: WeeklyReview) -> go.Figure | None:
    """Each MRR movement of the week beside last week's (contraction and churn as the
    positive amounts they take away)."""
    shown = []
    for key, label in MOVEMENTS:
        try:
            shown.append((label, review.figure(key)))
        except KeyError:
            continue
    values = [(f.this_week, f.last_week) for _, f in shown]
    if all(now is None and before is None for now, before in values):
        return None
    figure = go.Figure()
    labels = [label for label, _ in shown]
    for week, index, color in ((review.previous, 1, LAST_WEEK), (review.week, 0, THIS_WEEK)):
        amounts = [pair[index] for pair in values]
        texts = [money_text(amount, review.currency) for amount in amounts]
        figure.add_trace(
            go.Bar(
                x=labels,
                y=amounts,
                name=str(week),
                marker_color=color,
                text=texts,
                textposition="outside",
                hovertemplate="%{x}: %{text}<extra>" + str(week) + "</extra>",
            )
        )
    figure.update_layout(barmode="group")
    figure.update_yaxes(title=f"MRR ({review.currency.upper()})", tickformat=",")
    return _layout(figure)


def _week_lines(
    review: WeeklyReview,
    points: Sequence[SeriesPoint],
    *,
    x: Callable[[SeriesPoint], object],
    text: Callable[[SeriesPoint], str],
    hover: str,
    connectgaps: bool | None = None,
) -> go.Figure:
    """A line of `points` for each week, last week's first (under, in its receding colour):
    `x` and `text` (what `hover` may show as %{text}) are a point's, and the hover box names
    the week."""
    figure = go.Figure()
    this, last = _halves(review, points)
    for week, own, color in ((review.previous, last, LAST_WEEK), (review.week, this, THIS_WEEK)):
        figure.add_trace(
            go.Scatter(
                x=[x(point) for point in own],
                y=[point.value for point in own],
                name=str(week),
                mode="lines+markers",
                line={"color": color},
                connectgaps=connectgaps,
                text=[text(point) for point in own],
                hovertemplate=hover + "<extra>" + str(week) + "</extra>",
            )
        )
    return figure


def _halves(
    review: WeeklyReview, points: Sequence[SeriesPoint]
) -> tuple[list[SeriesPoint], list[SeriesPoint]]:
    """`points` split into this week's and last week's days."""
    this = [point for point in points if review.week.start <= point.day <= review.week.end]
    last = [point for point in points if review.previous.start <= point.day <= review.previous.end]
    return this, last


def _layout(figure: go.Figure, legend_y: float = 1.12) -> go.Figure:
    """Every chart's size and margins, the legend in a row above the plot."""
    figure.update_layout(
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "y": legend_y, "x": 0},
    )
    return figure

"""The charts more than one page draws, in one style: MRR movements (a waterfall and bars per
period, each movement always in the same colour), ranked bars and retention heatmaps.

Each function takes values computed in `metrics` and returns a Plotly figure; nothing here
computes a figure.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

# Gains green, losses red and orange, revaluation grey: the same on every page and export.
MOVEMENT_COLOURS = {
    "new": "#2e8b57",
    "reactivation": "#8fd19e",
    "expansion": "#1f77b4",
    "contraction": "#f5a25d",
    "churn": "#d62728",
    "fx": "#9e9e9e",
}
MOVEMENT_NAMES = {kind: kind.capitalize() for kind in MOVEMENT_COLOURS} | {"fx": "FX"}
RANKED_BARS = 15  # a ranked chart shows the largest this many; its table lists every row


def plain_label(text: object) -> str:
    """Account text for a chart label: Plotly renders a subset of HTML in labels (<b>, <br>,
    <a href>), so its markup characters go in as entities, which Plotly shows as written."""
    return html.escape(str(text), quote=False)


def movements_waterfall(
    start: float, movements: pd.DataFrame, *, title: str, unit: str
) -> go.Figure:
    """Start MRR, each movement (`kind`, signed `amount`) and the end, the value axis zoomed to
    the span the bars cover (from 0, a month's movements are slivers on top of MRR)."""
    kinds = list(movements["kind"])
    amounts = [float(value) for value in movements["amount"]]
    waterfall = go.Waterfall(
        x=["Start MRR", *(MOVEMENT_NAMES.get(kind, kind) for kind in kinds), "End MRR"],
        measure=["absolute", *["relative"] * len(kinds), "total"],
        y=[start, *amounts, 0],
        increasing={"marker": {"color": MOVEMENT_COLOURS["new"]}},
        decreasing={"marker": {"color": MOVEMENT_COLOURS["churn"]}},
        totals={"marker": {"color": "#4a6fa5"}},
    )
    levels = [start]
    for amount in amounts:
        levels.append(levels[-1] + amount)
    low, high = min(levels), max(levels)
    margin = max((high - low) * 0.5, abs(high) * 0.01, 1.0)
    figure = go.Figure(waterfall).update_layout(title=title, yaxis_title=unit, showlegend=False)
    return figure.update_yaxes(range=[max(0.0, low - margin), high + margin])


def movement_bars(bars: pd.DataFrame, *, unit: str) -> go.Figure:
    """Movements per period, stacked (gains up, losses down): `period`, `kind`, `amount`."""
    chart = px.bar(
        bars.assign(movement=[MOVEMENT_NAMES.get(kind, kind) for kind in bars["kind"]]),
        x="period",
        y="amount",
        color="movement",
        color_discrete_map={MOVEMENT_NAMES[k]: c for k, c in MOVEMENT_COLOURS.items()},
        category_orders={"movement": list(MOVEMENT_NAMES.values())},
        custom_data=["period", "kind"],
    )
    return chart.update_layout(
        barmode="relative", xaxis_title="Period", yaxis_title=unit, legend_title="Movement"
    )


def ranked_bars(
    frame: pd.DataFrame, *, label: str, value: str, colour: str, title: str, unit: str
) -> go.Figure:
    """The first RANKED_BARS rows of `frame` (ranked already, largest first) as horizontal
    bars, the largest at the top."""
    top = frame.head(RANKED_BARS)
    top = top.assign(**{label: [plain_label(text) for text in top[label]]})
    chart = px.bar(top, x=value, y=label, color=colour, orientation="h")
    chart.update_yaxes(categoryorder="array", categoryarray=list(top[label])[::-1], title=None)
    shown = f"{title} (largest {RANKED_BARS} of {len(frame)})" if len(frame) > len(top) else title
    height = max(320, 28 * len(top) + 120)
    return chart.update_layout(
        title=shown, xaxis_title=unit, height=height, legend_title=colour.capitalize()
    )


def retention_heatmap(pivot: pd.DataFrame, *, title: str, labels: Sequence[str]) -> go.Figure:
    """A cohort × months-since-signup grid of fractions, as percentages; the cells carry their
    value as text while the grid is small enough to read it."""
    x_name, y_name = labels
    small = pivot.size <= 150
    heat = px.imshow(
        pivot,
        text_auto=".0%" if small else False,
        aspect="auto",
        labels={"x": x_name, "y": y_name, "color": title},
        color_continuous_scale="Blues",
    )
    heat.update_traces(hovertemplate=f"{y_name} %{{y}}<br>{x_name} %{{x}}<br>%{{z:.1%}}")
    heat.update_layout(coloraxis_colorbar={"tickformat": ".0%"}, title=title)
    return heat.update_layout(height=max(360, 18 * len(pivot) + 140))


def loader() -> go.Figure:
    """A chart of nothing, 10 pixels high (Plotly's least): drawn first by a page that has
    charts, so the browser loads Plotly's library (~4.7 MB of JavaScript, in every new tab)
    while the page is still computing, rather than after its first real chart arrives."""
    figure = go.Figure()
    figure.update_layout(
        height=10, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False,
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        xaxis={"visible": False}, yaxis={"visible": False},
    )  # fmt: skip
    return figure

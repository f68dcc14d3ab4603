"""Weekly review: one ISO week against the week before, for the weekly meeting (SPEC §6).

The narrative first, then every checklist figure with its change and a link to the page that
explains it, the failed payments by dimension, the disputes with their deadlines, the webhook
endpoints, the customers behind the MRR movements and the charts; the same review as an offline
HTML or PDF file. Everything is `metrics.weekly.weekly_review`'s; this page only formats it
(`app.weekly_tables`, `app.weekly_charts`).

Query parameter: `week` (an ISO week, `2026-W23`); absent, the last complete week on the
account's day in `PAYLENS_TIMEZONE`. A week not over yet is shown as it stands.
"""

from __future__ import annotations

import urllib.parse
from datetime import date

import duckdb
import streamlit as st

from app import ui
from app.settings import Settings
from app.weekly import account_moment, review_for
from app.weekly_charts import charts
from app.weekly_export import find_chromium, html, pdf_bytes
from app.weekly_tables import (
    NO_CHANGE,
    TOPICS,
    WORSE_WHEN_UP,
    change_text,
    sections,
    value_text,
    week_caption,
)
from metrics.weekly import default_week
from metrics.weekly_model import Figure, IsoWeek, WeeklyReview

WEEKS_OFFERED = 26  # complete weeks in the picker, besides the one in progress and a linked one
_WIDGET = "weekly_week"
_SEEN = "weekly_week_seen"  # the `week` parameter as the picker last left it
COLUMNS = 4


def _review(con: duckdb.DuckDBPyConnection, settings: Settings, week: IsoWeek) -> WeeklyReview:
    """`review_for` with the connection first, as `ui.call` caches it (per snapshot, settings
    and week)."""
    return review_for(settings, con, week)


def _label(week: IsoWeek, current: IsoWeek) -> str:
    days = f"{week.start:%d %b} – {week.end:%d %b %Y}"
    return f"{week} ({days}{', in progress' if week == current else ''})"


def _week_picker(today: date) -> IsoWeek:
    """The week the URL names (a bad or future one: a warning, and the default), in a
    picker of recent weeks; the choice is written back to `?week=` (absent: the default)."""
    default, current = default_week(today), IsoWeek.of(today)
    linked, raw = default, st.query_params.get("week")
    if raw:
        try:
            linked = IsoWeek.parse(raw)
        except ValueError as exc:  # the message quotes the URL's text: shown as typed
            st.warning(ui.plain(f"{exc}; showing {default}, the last complete week."))
        else:
            if linked.start > today:
                st.warning(ui.plain(f"{linked} has not started yet; showing {default}."))
                linked = default
    if st.session_state.get(_SEEN) != raw:  # a link or the back button: the URL decides
        st.session_state.pop(_WIDGET, None)
    weeks = [current, default]
    while len(weeks) < WEEKS_OFFERED + 1:
        weeks.append(weeks[-1].previous())
    if linked not in weeks:
        weeks.append(linked)
    chosen: IsoWeek = st.sidebar.selectbox(
        "ISO week",
        weeks,
        index=weeks.index(linked),
        format_func=lambda week: _label(week, current),
        key=_WIDGET,
    )
    wanted = None if chosen == default else str(chosen)
    if wanted is None and "week" in st.query_params:
        del st.query_params["week"]
    elif wanted is not None and st.query_params.get("week") != wanted:
        st.query_params["week"] = wanted
    st.session_state[_SEEN] = wanted
    return chosen


def _page_link(link: str, label: str) -> None:
    """A link to the dashboard path `link` ("/payments?range=custom&from=…"), by its page."""
    parts = urllib.parse.urlsplit(link)
    path = parts.path.strip("/") or ui.PAGES[0].url_path
    spec = next((page for page in ui.PAGES if page.url_path == path), None)
    if spec is not None:
        query = dict(urllib.parse.parse_qsl(parts.query))
        ui.page_link(spec.file, f"{label}: {spec.title}", query)


def _metric(figure: Figure, review: WeeklyReview) -> None:
    change = change_text(figure)
    flat = change in (NO_CHANGE, "n/a")
    st.metric(
        figure.label,
        value_text(figure, figure.this_week),
        delta=change,
        delta_color="off" if flat else "inverse" if figure.key in WORSE_WHEN_UP else "normal",
        delta_arrow="off" if flat else "auto",
        help=f"{review.previous}: {value_text(figure, figure.last_week)}",
    )
    _page_link(figure.link, "Details")


def _figures(review: WeeklyReview) -> None:
    """The checklist, topic by topic, COLUMNS figures a row."""
    for topic, title in TOPICS.items():
        own = [figure for figure in review.figures if figure.topic == topic]
        if not own:
            continue
        st.subheader(title)
        for first in range(0, len(own), COLUMNS):
            for column, figure in zip(
                st.columns(COLUMNS), own[first : first + COLUMNS], strict=False
            ):
                with column:
                    _metric(figure, review)


def _narrative(review: WeeklyReview) -> None:
    if not review.sentences:
        st.info(f"Nothing changed enough in {review.week} to be worth a sentence.")
        return
    st.markdown("\n".join(f"{n}. {ui.plain(s)}" for n, s in enumerate(review.sentences, 1)))


def _tables(review: WeeklyReview) -> None:
    for title, table, empty in sections(review):
        st.subheader(title)
        if table.empty:
            st.info(empty)
        else:
            st.dataframe(table, hide_index=True)


def _base_url(settings: Settings) -> str:
    """Where the file's links point: PAYLENS_DASHBOARD_URL, else this page's own address."""
    if settings.dashboard_url:
        return settings.dashboard_url
    seen = urllib.parse.urlsplit(st.context.url or "")
    if seen.scheme and seen.netloc:
        return f"{seen.scheme}://{seen.netloc}"
    return f"http://{settings.dashboard_address}:{settings.dashboard_port}"


def _downloads(review: WeeklyReview, base_url: str) -> None:
    """The review as an HTML or a PDF file, made when the button is pressed."""
    name = f"paylens-weekly-{review.week}"
    first, second = st.columns(2)
    first.download_button(
        "Download HTML",
        data=lambda: html(review, base_url=base_url),
        file_name=f"{name}.html",
        mime="text/html",
        on_click="ignore",
        key="weekly_html",
    )
    chromium = find_chromium()
    second.download_button(
        "Download PDF",
        data=lambda: pdf_bytes(review, base_url=base_url, chromium=chromium),
        file_name=f"{name}.pdf",
        mime="application/pdf",
        on_click="ignore",
        key="weekly_pdf",
        disabled=chromium is None,
        help="Needs Chromium on the dashboard's machine." if chromium is None else None,
    )


st.title("Weekly review")
with ui.snapshot() as (con, snapshot_name):
    settings = ui.settings()
    week = _week_picker(account_moment(settings, con).date())
    review = ui.call(snapshot_name, _review, con, settings, week)

    st.caption(week_caption(review))
    for warning in review.warnings:
        st.warning(ui.plain(warning))
    _narrative(review)
    _downloads(review, _base_url(settings))
    _figures(review)
    _tables(review)
    for index, (title, figure) in enumerate(charts(review)):
        st.subheader(title)
        st.plotly_chart(figure, width="stretch", key=f"weekly_chart_{index}")
    ui.freshness(con, snapshot_name)
ui.watch(snapshot_name)

"""The weekly review as one offline file: self-contained HTML, or that HTML printed to PDF.

The HTML carries everything it shows: plotly.js is inlined once (no CDN, nothing fetched when
it opens), then the narrative, the checklist figures with links to the dashboard (`base_url` +
each figure's path), the tables and the charts of `app.weekly_charts`. Every piece of account
text is HTML-escaped. The PDF is that HTML printed by headless Chromium (Debian's `chromium`),
with DNS switched off so printing cannot reach the network either.
"""

from __future__ import annotations

import html as markup
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from app.errors import CommandError
from app.weekly_charts import charts
from app.weekly_tables import figures_table, sections, week_caption
from metrics.weekly_model import WeeklyReview

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PRINT_TIMEOUT = 120.0  # seconds Chromium may take to print the file
PRINT_WIDTH = 700  # px: a chart's width on an A4 page inside Chromium's default margins
PAGE_TITLES = {  # a figure's dashboard path → the page's name, for its link
    "/": "Overview",
    "/revenue": "Revenue",
    "/payments": "Payments",
    "/disputes": "Disputes",
    "/health": "Webhooks & sync",
    "/alerts": "Alerts",
    "/weekly": "Weekly review",
    "/integration": "Integration health",
}
STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1d2433; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d8dde6; }
.caption { color: #5b6475; } .warning { background: #fff4d6; padding: 0.4rem 0.6rem; }
ol.narrative li { margin: 0.3rem 0; font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #d8dde6; padding: 0.25rem 0.5rem; text-align: left;
         overflow-wrap: break-word; }
th { background: #f1f4f8; }
.chart { break-inside: avoid; page-break-inside: avoid; margin-bottom: 1rem; }
@media print { body { margin: 0; max-width: none; padding: 0; }
               h2 { break-after: avoid; } table { font-size: 0.68rem; }
               th, td { padding: 0.15rem 0.3rem; } }
"""


class PdfError(CommandError):
    """The PDF could not be printed: Chromium is missing, failed or took too long."""


def html(review: WeeklyReview, *, base_url: str, chart_width: int | None = None) -> str:
    """The review as one self-contained HTML document. `base_url`: the dashboard's address,
    which the figures' links are relative to; `chart_width`: a fixed width in pixels for the
    charts (None: the page's width)."""
    base = base_url.rstrip("/")
    parts = [
        f"<h1>Weekly review {_text(str(review.week))}</h1>",
        f'<p class="caption">{_text(week_caption(review))}</p>',
        *(f'<p class="warning">{_text(warning)}</p>' for warning in review.warnings),
        "<h2>What changed</h2>",
        _narrative(review.sentences),
        "<h2>Figures</h2>",
        _figures(review, base),
        *_sections(review, base),
        "<h2>Charts</h2>",
        _charts(review, chart_width),
        f'<p class="caption">From paylens; the dashboard: <a href="{_attr(base + "/weekly")}'
        f'?week={_attr(str(review.week))}">{_text(base)}/weekly</a></p>',
    ]
    title = _text(f"paylens weekly review {review.week}")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def write_html(review: WeeklyReview, path: Path, *, base_url: str) -> None:
    """Write `html(review)` to `path` (whole or not at all)."""
    _write(path, html(review, base_url=base_url).encode("utf-8"))


def pdf_bytes(review: WeeklyReview, *, base_url: str, chromium: Path | None = None) -> bytes:
    """The review's HTML printed to PDF by headless Chromium (`chromium`: its executable; by
    default the first of CHROMIUM_NAMES on PATH). Raises PdfError when it cannot."""
    browser = chromium or find_chromium()
    if browser is None or not browser.exists():
        raise PdfError(
            "printing the weekly review to PDF needs Chromium, which is not installed "
            "(on Debian: apt-get install chromium); `--html FILE` needs nothing"
        )
    document = html(review, base_url=base_url, chart_width=PRINT_WIDTH)
    with tempfile.TemporaryDirectory(prefix="paylens-weekly-") as folder:
        source, target = Path(folder) / "review.html", Path(folder) / "review.pdf"
        source.write_text(document, encoding="utf-8")
        _print(browser, source, target, Path(folder) / "profile")
        return target.read_bytes()


def write_pdf(
    review: WeeklyReview, path: Path, *, base_url: str, chromium: Path | None = None
) -> None:
    """Write `pdf_bytes(review)` to `path` (whole or not at all)."""
    _write(path, pdf_bytes(review, base_url=base_url, chromium=chromium))


def find_chromium() -> Path | None:
    """The Chromium on PATH (CHROMIUM_NAMES in order), or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def _print(browser: Path, source: Path, target: Path, profile: Path) -> None:
    """Chromium prints `source` to `target`. Its own profile, so two prints never share one;
    no sandbox, as playwright launches it (root in a container has no other way); every host
    name unresolvable, so nothing is fetched; a virtual-time budget, so the charts' scripts
    have finished before the page is printed."""
    command = [
        str(browser),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--no-pdf-header-footer",
        f"--print-to-pdf={target}",
        source.as_uri(),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PRINT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise PdfError(
            f"Chromium did not print the weekly review within {PRINT_TIMEOUT:.0f} s"
        ) from None
    except OSError as exc:
        raise PdfError(f"could not start Chromium ({browser}): {exc.strerror}") from None
    if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise PdfError(
            f"Chromium failed to print the weekly review (exit {done.returncode}): {last}"
        )


def _write(path: Path, content: bytes) -> None:
    """`content` to `path` through a temporary file beside it, so a failure leaves no half file
    and an earlier file at `path` stays as it was."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {exc.strerror}") from None


def _text(value: str) -> str:
    return markup.escape(value, quote=False)


def _attr(value: str) -> str:
    return markup.escape(value, quote=True)


def _narrative(sentences: Sequence[str]) -> str:
    if not sentences:
        return '<p class="caption">Nothing changed enough this week to be worth a sentence.</p>'
    items = "".join(f"<li>{_text(sentence)}</li>" for sentence in sentences)
    return f'<ol class="narrative">{items}</ol>'


def _figures(review: WeeklyReview, base: str) -> str:
    """The checklist as one table per topic, each figure linking to its dashboard page."""
    frame = figures_table(review)
    hrefs = [base + figure.link for figure in review.figures]
    names = [
        PAGE_TITLES.get(figure.link.split("?", 1)[0], "Dashboard") for figure in review.figures
    ]
    frame = frame.assign(Details=names)
    parts = []
    for topic in dict.fromkeys(frame["Topic"]):
        rows = (frame["Topic"] == topic).tolist()
        own = frame[rows].drop(columns=["Topic"]).reset_index(drop=True)
        parts.append(f"<h3>{_text(str(topic))}</h3>")
        links = [href for href, keep in zip(hrefs, rows, strict=True) if keep]
        parts.append(_table(own, links={"Details": links}))
    return "\n".join(parts) if parts else '<p class="caption">No figures.</p>'


def _sections(review: WeeklyReview, base: str) -> list[str]:
    """Each table under its heading (a dispute links to it on the Disputes page)."""
    links = {"Dispute": [base + row.link for row in review.disputes]}
    parts = []
    for title, frame, empty in sections(review):
        parts.append(f"<h2>{_text(title)}</h2>")
        body = _table(frame, links) if len(frame) else f'<p class="caption">{_text(empty)}</p>'
        parts.append(body)
    return parts


def _table(frame: pd.DataFrame, links: Mapping[str, Sequence[str]] | None = None) -> str:
    """`frame` (text cells) as an HTML table, every cell escaped; a column named in `links`
    links each cell to the address at its row."""
    links = links or {}
    head = "".join(f"<th>{_text(str(column))}</th>" for column in frame.columns)
    rows = []
    for index, values in enumerate(frame.itertuples(index=False)):
        cells = []
        for column, value in zip(frame.columns, values, strict=True):
            text = _text(str(value))
            if column in links:
                text = f'<a href="{_attr(links[column][index])}">{text}</a>'
            cells.append(f"<td>{text}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _charts(review: WeeklyReview, width: int | None) -> str:
    """Each chart under its title; plotly.js inlined with the first, so the file needs nothing
    else to draw them."""
    found = charts(review)
    if not found:
        return '<p class="caption">No data to chart this week.</p>'
    parts = []
    for index, (title, figure) in enumerate(found):
        if width is not None:
            figure.update_layout(width=width)
        drawn = figure.to_html(
            full_html=False,
            include_plotlyjs=index == 0,
            config={"displayModeBar": False, "responsive": width is None},
            default_width=f"{width}px" if width else "100%",
            div_id=f"chart-{index}",
        )
        parts.append(f'<div class="chart"><h3>{_text(title)}</h3>{drawn}</div>')
    return "\n".join(parts)

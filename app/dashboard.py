"""The Streamlit entry point: page set-up, the login gate, and the pages at stable URLs.

The pages are `ui.PAGES`: `/` Overview, `/revenue`, `/payments`, `/disputes`, `/health`
(webhooks & sync) and `/alerts`; a page whose script is not there is not listed.
"""

from __future__ import annotations

import streamlit as st

from app import charts, ui

st.set_page_config(page_title="paylens", page_icon=":bar_chart:", layout="wide")

allowed = ui.access_ok(ui.settings())  # the password, OIDC login, either, or neither
pages = [
    st.Page(
        f"views/{spec.file}",
        title=spec.title,
        icon=spec.icon,
        url_path=spec.url_path,
        default=index == 0,
    )
    for index, spec in enumerate(ui.available_pages())
]
page = st.navigation(pages, position="sidebar" if allowed else "hidden")
if not allowed:
    st.stop()
ui.keep_warm()
if ui.has_charts(page.url_path):
    with st.sidebar:
        st.plotly_chart(charts.loader(), config={"staticPlot": True, "displayModeBar": False},
                        key="paylens_chart_loader")  # fmt: skip
page.run()

"""The Streamlit entry point: page set-up, the password gate, and the page list."""

from __future__ import annotations

import streamlit as st

from app import ui

st.set_page_config(page_title="paylens", page_icon=":bar_chart:", layout="wide")

if not ui.password_ok(ui.settings()):
    st.stop()

page = st.navigation(
    [
        st.Page("views/overview.py", title="Overview", icon=":material/dashboard:"),
        st.Page("views/alerts.py", title="Alerts", icon=":material/notifications:"),
    ]
)
page.run()

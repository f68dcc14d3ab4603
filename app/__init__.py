"""paylens composition root: settings, CLI, the scheduled service and the Streamlit dashboard."""

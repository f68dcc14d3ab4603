"""Alert rules, state and delivery (built by the alerts issue)."""

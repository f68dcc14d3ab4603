"""Pulls a Stripe account into the DuckDB warehouse and publishes read-only snapshots."""

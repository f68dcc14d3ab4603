"""How far the warehouse's data reaches: a report for a day after it describes days not synced.

The warehouse knows the account up to Stripe's clock at the last sync's last answer; figures for a
later day would read as "nothing happened since", which is not known. The caller passes that last
day in (`sync.status.last_heard` knows it), so this stays a pure check.
"""

from __future__ import annotations

from datetime import date


def beyond_data(as_of: date, last_day: date | None) -> str | None:
    """The warning for a report date after the data's last day; None when it is within it (or
    when nothing was ever synced, whose report is empty anyway)."""
    if last_day is None or as_of <= last_day:
        return None
    return (
        f"the report date {as_of} is after the data's last day, {last_day} (the last sync): "
        f"figures after {last_day} are not known yet, not zero"
    )

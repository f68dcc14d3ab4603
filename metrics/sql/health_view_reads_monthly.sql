-- API reads per calendar month (UTC, by the runs' start) up to $as_of's month: the sync's own
-- view `sync_reads_monthly`, against Stripe's allowance. Grain: one row per month with runs.
-- Parameters: $as_of (DATE).
SELECT month, reads
FROM sync_reads_monthly
WHERE month <= CAST($as_of AS DATE)
ORDER BY month

-- API reads in the calendar month (UTC, by the runs' start) of $as_of: the sync's own view
-- `sync_reads_monthly`, against Stripe's allowance. Grain: one row (0 without runs).
-- Parameters: $as_of (DATE).
SELECT coalesce(sum(reads), 0)::BIGINT AS reads
FROM sync_reads_monthly
WHERE month = CAST(date_trunc('month', CAST($as_of AS DATE)) AS DATE)

-- Sync runs that started in the days ($since, $as_of] (the account's clock, as sync_runs keeps
-- it), newest first, at most $limit. Grain: one row per run. Parameters: $since, $as_of (DATE),
-- $limit (INT).
--
-- `objects` is the run's JSON of objects written per table and `errors` its JSON of resources
-- it could not read ('{}' when it recorded none); `objects_total` sums the first. A run still going (or killed) has no
-- `finished_at`, so no duration.
SELECT
    run_id,
    kind,
    started_at,
    finished_at,
    epoch(finished_at - started_at) AS duration_seconds,
    status,
    reads,
    COALESCE((SELECT SUM(CAST(value AS BIGINT)) FROM json_each(objects)), 0) AS objects_total,
    COALESCE(CAST(objects AS VARCHAR), '{}') AS objects,
    COALESCE(CAST(errors AS VARCHAR), '{}') AS errors,
    error,
    account_time
FROM sync_runs
WHERE started_at >= CAST($since AS DATE) + INTERVAL 1 DAY
  AND started_at < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY started_at DESC, run_id
LIMIT $limit

-- The sync's health at $as_of from its record of runs: the last good run and the failures
-- since. Grain: one row. Parameters: $as_of (TIMESTAMP, naive UTC, on the account's clock).
--
-- A run is known at $as_of once its time is: `account_time` (Stripe's clock at its last
-- answer), else `finished_at`, else `started_at` (a run still going or killed). Every time in
-- sync_runs is on the account's clock (sync/clock.py), so $as_of compares with them directly.
WITH

runs AS (
    SELECT
        status,
        error,
        COALESCE(account_time, finished_at, started_at) AS run_at,
        started_at
    FROM sync_runs
    WHERE COALESCE(account_time, finished_at, started_at) <= $as_of
),

-- a degraded run completed (its data is fresh; the degradation alerts on its own)
last_ok AS (
    SELECT max(run_at) AS run_at FROM runs WHERE status IN ('ok', 'degraded')
),

-- Failed and partial runs after the last good one (all of them when none was good); an
-- abandoned run (stopped on request) and a running one are neither.
failing AS (
    SELECT runs.*
    FROM runs, last_ok
    WHERE runs.status IN ('failed', 'partial')
      AND (last_ok.run_at IS NULL OR runs.run_at > last_ok.run_at)
)

SELECT
    (SELECT run_at FROM last_ok) AS last_ok,
    (SELECT COUNT(*) FROM failing) AS consecutive_failures,
    (SELECT arg_max(error, (run_at, started_at)) FROM failing) AS last_error,
    (SELECT COUNT(*) FROM runs) AS runs,
    (SELECT arg_max(status, (run_at, started_at)) FROM runs) AS last_status

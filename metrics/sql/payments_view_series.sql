-- Payment success per day or ISO week over [$first, $as_of], beside its baseline: the same days
-- of the previous $weeks weeks, pooled (metrics.signals' success_baseline, by days).
-- Grain: one row per period ($grain 'day', or 'week': the Monday) touching the window.
-- Reads `payments_view_attempts`, run from $start = $first − 7 × $weeks days so that the
-- baseline's days are in it. Parameters: $first (DATE), $grain (VARCHAR), $weeks (INTEGER).
WITH

-- A calendar spine: a day without attempts is a day with 0, not a missing day.
spine AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($first AS DATE), CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
),

per_day AS (
    SELECT
        day,
        COUNT(*) AS attempted,
        COUNT(*) FILTER (WHERE succeeded) AS succeeded,
        COUNT(*) FILTER (WHERE declined) AS declined
    FROM payments_view_attempts
    GROUP BY day
),

-- Each day of the window with the same weekday 1 … $weeks weeks earlier.
earlier AS (
    SELECT spine.day, spine.day - CAST(7 * weeks_back AS INTEGER) AS before
    FROM spine
    CROSS JOIN (SELECT range AS weeks_back FROM range(1, $weeks + 1)) AS back
),

-- Pooled over those days: one rate over all their attempts, as success_baseline pools weeks.
baseline AS (
    SELECT
        earlier.day,
        COALESCE(SUM(per_day.attempted), 0) AS baseline_attempted,
        COALESCE(SUM(per_day.succeeded), 0) AS baseline_succeeded
    FROM earlier
    LEFT JOIN per_day ON per_day.day = earlier.before
    GROUP BY earlier.day
),

days AS (
    SELECT
        CASE WHEN $grain = 'week' THEN CAST(date_trunc('week', spine.day) AS DATE)
             ELSE spine.day END AS period,
        spine.day,
        COALESCE(per_day.attempted, 0) AS attempted,
        COALESCE(per_day.succeeded, 0) AS succeeded,
        COALESCE(per_day.declined, 0) AS declined,
        baseline.baseline_attempted,
        baseline.baseline_succeeded
    FROM spine
    LEFT JOIN per_day USING (day)
    LEFT JOIN baseline USING (day)
)

SELECT
    period,
    MIN(day) AS first_day,
    MAX(day) AS last_day,
    COUNT(*) AS days,
    SUM(attempted) AS attempted,
    SUM(succeeded) AS succeeded,
    SUM(attempted) - SUM(succeeded) AS failed,
    SUM(declined) AS declined,
    SUM(baseline_attempted) AS baseline_attempted,
    SUM(baseline_succeeded) AS baseline_succeeded
FROM days
GROUP BY period

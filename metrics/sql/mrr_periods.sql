-- The periods MRR changes are read over: calendar months from $start's through $as_of's (the
-- first starts on $start, the last ends at $as_of), or, with $single_period, the one period
-- [$start, $as_of]. `before` is the day before a period (its start value is read at that day's
-- end), `period_end` its last day.
-- Grain: one row per period. Parameters: $start, $as_of (DATE), $single_period (BOOLEAN).
WITH

-- The last day of each period: month ends before $as_of, then $as_of.
ends AS (
    SELECT DISTINCT LEAST(CAST(last_day(CAST(m AS DATE)) AS DATE), CAST($as_of AS DATE)) AS day
    FROM range(CAST(date_trunc('month', CAST($start AS DATE)) AS TIMESTAMP),
               CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 MONTH) AS t(m)
    WHERE NOT $single_period
    UNION
    SELECT CAST($as_of AS DATE)
)

SELECT lag(day, 1, CAST($start AS DATE) - 1) OVER (ORDER BY day) AS before, day AS period_end
FROM ends

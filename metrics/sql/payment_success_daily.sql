-- Raw payment success per UTC day, for every day from $start through $as_of inclusive.
-- Grain: one row per UTC calendar day. Parameters: $start (DATE), $as_of (DATE).
--
-- Raw means one attempt per charge: a PaymentIntent retried three times counts three attempts.
-- The deduplicated variant (one attempt per PaymentIntent) will replace the `attempts` CTE with one
-- that keeps each PaymentIntent's final charge; the rest of the query stays as it is.
WITH

-- A calendar spine, so a day without charges shows 0 attempts instead of vanishing from a chart.
spine AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($start AS DATE), CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
),

-- Only charges with an outcome are attempts; a pending charge has not succeeded or failed yet.
attempts AS (
    SELECT
        id AS charge,
        payment_intent,
        CAST(created AS DATE) AS day,
        status = 'succeeded' AS succeeded
    FROM charges
    WHERE status IN ('succeeded', 'failed')
      AND created >= CAST($start AS DATE)
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

-- Count attempts and outcomes per day.
daily AS (
    SELECT
        day,
        COUNT(*) AS attempted,
        COUNT(*) FILTER (WHERE succeeded) AS succeeded,
        COUNT(*) FILTER (WHERE NOT succeeded) AS failed
    FROM attempts
    GROUP BY day
)

-- The rate is NULL on a day with no attempts: "no data" is not "0% success".
SELECT
    spine.day,
    COALESCE(daily.attempted, 0) AS attempted,
    COALESCE(daily.succeeded, 0) AS succeeded,
    COALESCE(daily.failed, 0) AS failed,
    CAST(daily.succeeded AS DOUBLE) / NULLIF(daily.attempted, 0) AS success_rate
FROM spine
LEFT JOIN daily USING (day)
ORDER BY spine.day

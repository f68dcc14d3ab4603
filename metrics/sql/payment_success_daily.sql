-- Payment success per UTC day, for every day from $start through $as_of inclusive.
-- Grain: one row per UTC calendar day. Reads the `payment_attempts` layer (raw or deduplicated
-- per PaymentIntent, see that file). Parameters: $start (DATE), $as_of (DATE).
WITH

-- A calendar spine, so a day without charges shows 0 attempts instead of vanishing from a chart.
spine AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($start AS DATE), CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
),

-- Count attempts and outcomes per day.
daily AS (
    SELECT
        day,
        COUNT(*) AS attempted,
        COUNT(*) FILTER (WHERE succeeded) AS succeeded,
        COUNT(*) FILTER (WHERE NOT succeeded) AS failed
    FROM payment_attempts
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

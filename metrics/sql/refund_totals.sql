-- Refunds over the days ($since, $as_of], beside the succeeded charge volume they are a share of.
-- Grain: one row per currency with refunds or succeeded charges in the window.
-- Parameters: $since, $as_of (DATE).
--
-- A refund counts on the day it was created (the money left then), whatever the charge's date;
-- pending refunds count (the money is committed), failed and canceled ones do not.
WITH

refunded AS (
    SELECT currency, COUNT(*) AS refunds, SUM(amount) AS refunded_minor
    FROM refunds
    WHERE COALESCE(status, 'succeeded') IN ('succeeded', 'pending')
      AND created >= CAST($since AS DATE) + INTERVAL 1 DAY
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
    GROUP BY currency
),

-- The volume a refund rate is measured against: what customers paid in the same window.
charged AS (
    SELECT currency, COUNT(*) AS succeeded_charges, SUM(amount) AS charged_minor
    FROM charges
    WHERE status = 'succeeded'
      AND created >= CAST($since AS DATE) + INTERVAL 1 DAY
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
    GROUP BY currency
)

SELECT
    currency,
    COALESCE(refunds, 0) AS refunds,
    COALESCE(refunded_minor, 0) AS refunded_minor,
    COALESCE(succeeded_charges, 0) AS succeeded_charges,
    COALESCE(charged_minor, 0) AS charged_minor,
    CAST(COALESCE(refunded_minor, 0) AS DOUBLE) / NULLIF(charged_minor, 0) AS refund_rate
FROM refunded
FULL OUTER JOIN charged USING (currency)
ORDER BY currency

-- Refunds over the days ($since, $as_of] per reason and currency. Grain: one row per (reason,
-- currency). Parameters: $since, $as_of (DATE), $currency (VARCHAR, '' = every currency).
--
-- The refunds refund_totals.sql counts (created in the window; pending counts, failed and
-- canceled do not), so the reasons add up to the page's refund total. A refund without a
-- reason (made in the Dashboard without one) is NULL.
SELECT
    reason,
    currency,
    COUNT(*) AS refunds,
    SUM(amount) AS refunded_minor
FROM refunds
WHERE COALESCE(status, 'succeeded') IN ('succeeded', 'pending')
  AND created >= CAST($since AS DATE) + INTERVAL 1 DAY
  AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
  AND ($currency = '' OR currency = $currency)
GROUP BY reason, currency
ORDER BY currency, refunded_minor DESC, reason NULLS LAST

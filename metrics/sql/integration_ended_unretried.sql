-- Subscriptions ended for payment_failed in the lookback whose last invoice was never tried
-- again: cancelled on the first failure. Grain: one row. Parameters: $since, $as_of (DATE).
SELECT
    count(*) AS ended_failed,
    count(*) FILTER (WHERE COALESCE(i.attempt_count, 0) <= 1
                       AND i.next_payment_attempt IS NULL) AS ended_unretried
FROM subscriptions AS s
LEFT JOIN invoices AS i ON i.id = s.latest_invoice
WHERE s.cancellation_reason = 'payment_failed'
  AND s.ended_at >= CAST($since AS DATE) + INTERVAL 1 DAY
  AND s.ended_at < CAST($as_of AS DATE) + INTERVAL 1 DAY

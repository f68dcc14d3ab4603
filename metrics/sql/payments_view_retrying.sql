-- Subscription invoices in retry at the last sync: open, attempted and failed, with a next
-- attempt scheduled; created by the end of $as_of. Their amount due is the revenue at risk.
-- Grain: one row per invoice, next attempt first. Parameters: $as_of (DATE), $currency
-- (VARCHAR, '' = every currency).
--
-- Stripe's invoice holds its latest state only: "in retry" is the state the last sync saw, not
-- the state at $as_of (which the page says). Unlike the failure rate, the first invoice after a
-- trial is kept: its money is at risk like any other.
SELECT
    i.id AS invoice,
    i.subscription,
    i.customer,
    cu.name AS customer_name,
    i.created,
    i.currency,
    i.amount_due - COALESCE(i.amount_paid, 0) AS amount_minor,
    i.attempt_count,
    i.next_payment_attempt,
    s.status AS subscription_status
FROM invoices AS i
LEFT JOIN customers AS cu ON cu.id = i.customer
LEFT JOIN subscriptions AS s ON s.id = i.subscription
WHERE i.subscription IS NOT NULL
  AND NOT i.deleted
  AND i.status = 'open'
  AND COALESCE(i.attempt_count, 0) >= 1
  AND i.next_payment_attempt IS NOT NULL
  AND i.amount_due > COALESCE(i.amount_paid, 0)
  AND i.created < CAST($as_of AS DATE) + INTERVAL 1 DAY
  AND ($currency = '' OR i.currency = $currency)
ORDER BY i.next_payment_attempt, i.id

-- The subscription invoices of the window whose first attempt failed, and where each stands at
-- the end of $as_of. Grain: one row per invoice. Reads `subscription_payment_invoices` (its
-- $since, $as_of: the invoices metrics.dunning's failure and recovery rates count). Parameters:
-- $currency (VARCHAR, '' = every currency).
--
-- recovered: paid by the end of $as_of (the recovery rate's numerator); lost: marked
-- uncollectible or voided by then, or left open with no attempt to come (retries exhausted and
-- the subscription left unpaid); in_retry: anything else, still being retried (or settled only
-- after $as_of). Stripe's invoice holds its latest state only, so an invoice that is open with no
-- next attempt now is taken to be lost at $as_of too.
SELECT
    f.invoice,
    f.subscription,
    f.customer,
    cu.name AS customer_name,
    f.created,
    f.currency,
    f.amount_minor,
    f.attempt_count,
    f.status,
    f.paid_at,
    i.next_payment_attempt,
    CASE
        WHEN f.recovered THEN 'recovered'
        WHEN (f.status = 'uncollectible'
              AND i.uncollectible_at < CAST($as_of AS DATE) + INTERVAL 1 DAY)
          OR (f.status = 'void' AND i.voided_at < CAST($as_of AS DATE) + INTERVAL 1 DAY)
          OR (f.status = 'open' AND i.next_payment_attempt IS NULL) THEN 'lost'
        ELSE 'in_retry'
    END AS outcome
FROM subscription_payment_invoices AS f
JOIN invoices AS i ON i.id = f.invoice
LEFT JOIN customers AS cu ON cu.id = f.customer
WHERE f.failed_first
  AND ($currency = '' OR f.currency = $currency)
ORDER BY f.created, f.invoice

-- Whether failed subscription payments are retried. Grain: one row. Reads
-- `subscription_payment_invoices` (its $since, $as_of: the invoices metrics.dunning counts).
--
-- A failed invoice is retried when it was attempted again (`attempt_count` > 1) or a retry is
-- scheduled (`next_payment_attempt`); recovered: paid by the end of as_of after the failure.
SELECT
    count(*) AS failed,
    count(*) FILTER (WHERE f.attempt_count > 1 OR i.next_payment_attempt IS NOT NULL) AS retried,
    count(*) FILTER (WHERE f.recovered) AS recovered
FROM subscription_payment_invoices AS f
JOIN invoices AS i ON i.id = f.invoice
WHERE f.failed_first

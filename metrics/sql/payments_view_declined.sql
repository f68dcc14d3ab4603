-- The window's declined attempts inside the Payments page's filters, with their customer: the
-- rows behind the declines breakdown. Grain: one row per declined attempt, newest first.
-- Reads the layer `payments_view_attempts` (its parameters).
SELECT
    a.created,
    a.charge,
    a.attempt_key,
    a.customer,
    cu.name AS customer_name,
    a.amount,
    a.currency,
    a.card_brand,
    a.card_country,
    a.card_funding,
    a.decline,
    a.failure_code,
    a.outcome_type,
    a.outcome_reason,
    a.network_decline_code,
    a.amount_band
FROM payments_view_attempts AS a
LEFT JOIN customers AS cu ON cu.id = a.customer
WHERE a.declined
ORDER BY a.created DESC, a.charge

-- The MRR movements of the weekly review's two weeks per day, customer, currency and kind: its
-- movers (who is behind each movement) and its daily movement series.
-- Reads the layer `mrr_customer_changes` (over [$start, $as_of]: the previous week's Monday to
-- the reviewed week's Sunday) and `customers`. Grain: one row per (day, customer, currency,
-- kind). Parameters: those of `mrr_customer_changes`.
SELECT
    mrr_customer_changes.day,
    mrr_customer_changes.customer,
    -- account text: the customer's name, else its email
    COALESCE(NULLIF(customers.name, ''), NULLIF(customers.email, '')) AS name,
    mrr_customer_changes.currency,
    mrr_customer_changes.kind,
    SUM(mrr_customer_changes.amount_minor) AS amount_minor
FROM mrr_customer_changes
LEFT JOIN customers ON customers.id = mrr_customer_changes.customer
GROUP BY ALL
ORDER BY ALL

-- Customer portal configurations that existed by the end of $as_of (`/v1/billing_portal/
-- configurations`). Grain: one row per configuration. Parameters: $as_of (DATE). The default
-- one first, then active ones: the first row is the one customers meet.
SELECT
    id AS configuration,
    COALESCE(active, FALSE) AS active,
    COALESCE(is_default, FALSE) AS is_default,
    COALESCE(payment_method_update, FALSE) AS payment_method_update,
    COALESCE(subscription_cancel, FALSE) AS subscription_cancel,
    COALESCE(invoice_history, FALSE) AS invoice_history
FROM billing_portal_configurations
WHERE created < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY is_default DESC, active DESC, created, id

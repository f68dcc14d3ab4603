-- Failure and recovery of subscription payments per currency, over the layer
-- `subscription_payment_invoices` (the invoices first attempted in ($since, $as_of]).
-- Grain: one row per currency. Volumes in minor units of the currency.
SELECT
    currency,
    COUNT(*) AS invoices,
    SUM(amount_minor) AS attempted_minor,
    COUNT(*) FILTER (WHERE failed_first) AS failed,
    COALESCE(SUM(amount_minor) FILTER (WHERE failed_first), 0) AS failed_minor,
    COUNT(*) FILTER (WHERE recovered) AS recovered,
    COALESCE(SUM(amount_minor) FILTER (WHERE recovered), 0) AS recovered_minor
FROM subscription_payment_invoices
GROUP BY currency
ORDER BY currency

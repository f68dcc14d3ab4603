-- Payment attempts of the window per currency: the headline counts and the declined volume.
-- Grain: one row per currency with attempts. Reads the layer `payments_view_attempts` (from $start,
-- the window's first day). Volumes in minor units of the currency.
SELECT
    currency,
    COUNT(*) AS attempted,
    COUNT(*) FILTER (WHERE succeeded) AS succeeded,
    COUNT(*) FILTER (WHERE NOT succeeded) AS failed,
    COUNT(*) FILTER (WHERE declined) AS declined,
    COALESCE(SUM(amount) FILTER (WHERE declined), 0) AS declined_minor
FROM payments_view_attempts
GROUP BY currency

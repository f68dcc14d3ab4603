-- The amount at risk per currency: reads the layer `disputes_view_rows` (its open disputes).
-- Grain: one row per currency. Parameters: those of the layer.
SELECT currency, SUM(amount_minor) AS amount_minor
FROM disputes_view_rows
WHERE is_open
GROUP BY currency
ORDER BY currency

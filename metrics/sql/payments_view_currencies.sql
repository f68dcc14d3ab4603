-- The currencies of the account's payment attempts by the end of $as_of (what the currency
-- picker offers). Grain: one row per currency. Parameters: $as_of (DATE).
SELECT DISTINCT currency
FROM charges
WHERE status IN ('succeeded', 'failed') AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY currency

-- The currencies of the account's charges created by the end of $as_of: what the Disputes
-- page's currency picker offers. Grain: one row per currency. Parameters: $as_of (DATE).
SELECT DISTINCT currency
FROM charges
WHERE currency IS NOT NULL AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY currency

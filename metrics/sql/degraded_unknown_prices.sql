-- Subscription items whose price the warehouse does not hold (quarantined, forbidden to the key,
-- or never listed): MRR counts them as 0, so they must be said. Grain: one row.
-- Parameters: $as_of (DATE): the items of subscriptions created by its end, as the last sync
-- left them.
SELECT
    count(*) AS items,
    count(DISTINCT i.subscription) AS subscriptions,
    count(DISTINCT i.subscription) FILTER (s.status IN ('active', 'past_due')) AS paying
FROM subscription_items AS i
LEFT JOIN subscriptions AS s ON s.id = i.subscription
WHERE i.price NOT IN (SELECT id FROM prices)
    AND s.created < CAST($as_of AS DATE) + INTERVAL 1 DAY

-- Pending events per type and age band, over the `health_view_pending` layer.
-- Grain: one row per (type, age band) that has events. Parameters: those of the layers.
SELECT
    type,
    age,
    age_order,
    COUNT(*) AS events,
    MIN(created) AS oldest,
    SUM(pending_webhooks) AS deliveries_awaited
FROM health_view_pending
GROUP BY type, age, age_order
ORDER BY age_order DESC, events DESC, type

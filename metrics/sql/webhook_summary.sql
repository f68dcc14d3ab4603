-- Webhook delivery at the end of $as_of, aggregated in one pass over the layer `webhook_events`.
-- Grain: one row. Judged: events created in the days ($since, $as_of] and past the grace;
-- delivered: those of them no endpoint still awaits. Pending: every event still awaited, young
-- or old, and the creation time of the oldest. Parameters: $since, $as_of (DATE),
-- $grace_seconds (INT).
SELECT
    COUNT(*) FILTER (WHERE past_grace AND created >= CAST($since AS DATE) + INTERVAL 1 DAY)
        AS judged,
    COUNT(*) FILTER (WHERE past_grace AND created >= CAST($since AS DATE) + INTERVAL 1 DAY
                       AND delivered) AS delivered,
    COUNT(*) FILTER (WHERE NOT delivered) AS pending_events,
    MIN(created) FILTER (WHERE NOT delivered) AS oldest_pending
FROM webhook_events

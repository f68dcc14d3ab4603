-- Events created before the end of $as_of with whether each still awaits an endpoint.
-- Grain: one row per event (the warehouse keeps Stripe's last 30 days). Parameters: $as_of (DATE),
-- $grace_seconds (INT).
--
-- `pending_webhooks` is the count of endpoints that have not acknowledged the event, as of the
-- last sync's refresh; Stripe exposes no per-attempt history, so this is all there is.
SELECT
    id AS event,
    type,
    created,
    COALESCE(pending_webhooks, 0) AS pending_webhooks,
    COALESCE(pending_webhooks, 0) = 0 AS delivered,
    -- Young events may simply not have been delivered yet: only older ones are judged.
    created < CAST($as_of AS DATE) + INTERVAL 1 DAY - to_seconds($grace_seconds) AS past_grace,
    date_diff('second', created, CAST($as_of AS DATE) + INTERVAL 1 DAY) / 3600.0 AS age_hours
FROM events
WHERE created < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY created, id

-- Events still awaited by an endpoint, with their age at the reference time and its band
-- (metrics.health_views.AGE_BANDS).
-- Reads the layers `webhook_events` (its $as_of) and `disputes_view_reference` (the account's
-- clock at the last sync, or the end of $as_of when that is earlier). Grain: one row per event.
-- Parameters: $as_of (DATE), $grace_seconds (INT).
--
-- `pending_webhooks` is as of the last sync's refresh (Stripe has no per-attempt history).
-- Stripe retries for up to three days, so the bands end there: what is older will not arrive.
SELECT
    webhook_events.event,
    webhook_events.type,
    webhook_events.created,
    webhook_events.pending_webhooks,
    webhook_events.past_grace,
    date_diff('second', webhook_events.created, reference.at) AS age_seconds,
    -- the age band, and its place in the order of bands (youngest first)
    CASE
        WHEN webhook_events.created > reference.at - INTERVAL 1 HOUR THEN 'under 1 h'
        WHEN webhook_events.created > reference.at - INTERVAL 6 HOUR THEN '1–6 h'
        WHEN webhook_events.created > reference.at - INTERVAL 24 HOUR THEN '6–24 h'
        WHEN webhook_events.created > reference.at - INTERVAL 72 HOUR THEN '1–3 days'
        ELSE 'over 3 days'
    END AS age,
    CASE
        WHEN webhook_events.created > reference.at - INTERVAL 1 HOUR THEN 0
        WHEN webhook_events.created > reference.at - INTERVAL 6 HOUR THEN 1
        WHEN webhook_events.created > reference.at - INTERVAL 24 HOUR THEN 2
        WHEN webhook_events.created > reference.at - INTERVAL 72 HOUR THEN 3
        ELSE 4
    END AS age_order
FROM webhook_events
CROSS JOIN disputes_view_reference AS reference
WHERE NOT webhook_events.delivered
ORDER BY webhook_events.created, webhook_events.event

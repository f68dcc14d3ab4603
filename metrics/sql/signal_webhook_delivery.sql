-- Webhook delivery over a window of time (since, as_of], for the alert engine: the definitions
-- of webhook_events.sql and webhook_summary.sql with timestamp bounds instead of days.
-- Grain: one row. Parameters: $since, $as_of (TIMESTAMP, naive UTC), $grace_seconds (INT).
--
-- Judged: events created in the window and more than the grace period before $as_of (as
-- webhook_events.sql's `past_grace`: created < end − grace); delivered: those of them no
-- endpoint still awaits (`pending_webhooks` 0, as of the last sync's refresh). Pending: every
-- event created by $as_of still awaited, young or old, and the creation time of the oldest.
WITH

events_by_end AS (
    SELECT
        created,
        COALESCE(pending_webhooks, 0) = 0 AS delivered,
        created < $as_of - to_seconds($grace_seconds) AS past_grace
    FROM events
    WHERE created <= $as_of
)

SELECT
    COUNT(*) FILTER (WHERE past_grace AND created > $since) AS judged,
    COUNT(*) FILTER (WHERE past_grace AND created > $since AND delivered) AS delivered,
    COUNT(*) FILTER (WHERE NOT delivered) AS pending,
    MIN(created) FILTER (WHERE NOT delivered) AS oldest_pending
FROM events_by_end

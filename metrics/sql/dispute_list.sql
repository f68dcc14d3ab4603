-- Every dispute opened before the end of $as_of, with its state then and its deadlines.
-- Grain: one row per dispute. Parameters: $as_of (DATE).
--
-- The warehouse keeps each dispute's latest status. A dispute closed after $as_of was still
-- open then: its `charge.dispute.closed` event (kept 30 days) dates the close, so a past
-- `as_of` inside the events window sees it as open.
WITH

closed_events AS (
    SELECT object_id AS dispute, MIN(created) AS closed_at
    FROM events
    WHERE type = 'charge.dispute.closed'
    GROUP BY object_id
),

opened AS (
    SELECT
        disputes.*,
        closed_events.closed_at,
        CAST($as_of AS DATE) + INTERVAL 1 DAY AS end_of_as_of
    FROM disputes
    LEFT JOIN closed_events ON closed_events.dispute = disputes.id
    WHERE disputes.created < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

-- Open = awaiting the merchant's response or the bank's review (inquiries included).
stated AS (
    SELECT
        *,
        status IN ('warning_needs_response', 'warning_under_review', 'needs_response',
                   'under_review')
            OR COALESCE(closed_at >= end_of_as_of, FALSE) AS is_open
    FROM opened
)

SELECT
    id AS dispute,
    charge,
    payment_intent,
    created,
    status,
    reason,
    currency,
    amount AS amount_minor,
    is_open,
    -- Evidence not submitted yet: the merchant still has to act.
    is_open AND NOT COALESCE(has_evidence, FALSE) AS needs_response,
    evidence_due_by AS due_by,
    date_diff('second', end_of_as_of, evidence_due_by) / 3600.0 AS hours_left,
    -- paylens' own deadline: respond within 7 days of opening (well before the bank's).
    created + INTERVAL 7 DAY AS respond_by
FROM stated
ORDER BY created, id

-- Subscription churn ends in ($since, $as_of]: a subscription in a paying status (active or
-- past_due) stops paying, with the cause the API shows for it. What counting needs, without the
-- MRR lost (`churn_events.sql` adds it and the customer for the drill-down).
-- Grain: one row per (subscription, churn moment).
-- Reads the tables `subscriptions` and `subscription_status_history`.
-- Parameters: $since, $as_of (DATE), $churn_at_period_end (BOOLEAN),
-- $involuntary_past_due_days (INTEGER).
WITH


-- Cancellations: at the request (Stripe) or when the subscription ends (period-end setting);
-- the cause is cancellation_details.reason.
cancellations AS (
    SELECT id AS subscription,
        CASE WHEN $churn_at_period_end THEN ended_at ELSE canceled_at END AS churned_at,
        CASE cancellation_reason
            WHEN 'payment_failed' THEN 'payment_failed'
            WHEN 'payment_disputed' THEN 'disputed'
            ELSE 'voluntary' END AS cause
    FROM subscriptions
    WHERE canceled_at IS NOT NULL
      AND CAST(CASE WHEN $churn_at_period_end THEN ended_at ELSE canceled_at END AS DATE)
          BETWEEN CAST($since AS DATE) + 1 AND CAST($as_of AS DATE)  -- only the window's
),

-- The subscriptions that can churn in the window: cancelled in it, or unpaid or past_due from a
-- day that puts the transition (or the end of the grace) in it.
candidates_in_window AS (
    SELECT subscription FROM cancellations
    UNION
    SELECT subscription FROM subscription_status_history
    WHERE status IN ('unpaid', 'past_due')
      AND valid_from < CAST($as_of AS DATE) + INTERVAL 1 DAY
      AND valid_from >= CAST($since AS DATE)
          - to_days(CAST($involuntary_past_due_days AS INTEGER)) - INTERVAL 1 DAY
),

-- Their status spans ((subscription, valid_from) is the history's key).
spans AS (
    SELECT subscription, status, valid_from, valid_to
    FROM subscription_status_history
    WHERE subscription IN (SELECT subscription FROM candidates_in_window)
),

-- past_due spans that outlasted the grace: involuntary churn when the grace runs out.
overdue AS (
    SELECT subscription, valid_from + to_days(CAST($involuntary_past_due_days AS INTEGER)) AS churned_at,
        'past_due' AS cause
    FROM spans
    WHERE status = 'past_due'
      AND (valid_to IS NULL
           OR valid_to > valid_from + to_days(CAST($involuntary_past_due_days AS INTEGER)))
),

-- Dunning that ends by keeping the subscription `unpaid`: churn at the transition (from the
-- span just before, found as-of rather than by a window over every candidate's spans).
unpaid AS (
    SELECT u.subscription, u.valid_from AS churned_at, 'unpaid' AS cause
    FROM (SELECT subscription, valid_from FROM spans WHERE status = 'unpaid') AS u
    ASOF JOIN spans AS p ON p.subscription = u.subscription AND u.valid_from > p.valid_from
    WHERE p.status IN ('active', 'past_due')
),

-- Each candidate with the status span it interrupts (the one in force just before it).
candidates AS (
    SELECT c.subscription, c.churned_at, c.cause, s.status AS from_status, s.valid_from AS span_from,
        s.valid_to AS span_to
    FROM (SELECT * FROM cancellations UNION ALL SELECT * FROM unpaid) AS c
    ASOF JOIN spans AS s ON s.subscription = c.subscription AND c.churned_at > s.valid_from
    WHERE c.churned_at IS NOT NULL
),

-- Only a paying subscription churns (a cancelled trial never paid), and an end that closes a
-- past_due span already counted by the grace rule is not counted twice.
ends AS (
    SELECT subscription, churned_at, cause, from_status FROM candidates
    WHERE from_status IN ('active', 'past_due')
      AND NOT (from_status = 'past_due'
               AND churned_at > span_from + to_days(CAST($involuntary_past_due_days AS INTEGER)))
    UNION ALL
    SELECT subscription, churned_at, cause, 'past_due' FROM overdue
)

SELECT subscription, CAST(churned_at AS DATE) AS day, churned_at, cause, from_status
FROM ends
WHERE CAST(churned_at AS DATE) > CAST($since AS DATE) AND CAST(churned_at AS DATE) <= CAST($as_of AS DATE)

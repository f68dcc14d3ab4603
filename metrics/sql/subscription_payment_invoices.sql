-- Subscription invoices first attempted in ($since, $as_of], with their first-attempt failure
-- and later recovery. Grain: one row per invoice. Parameters: $since, $as_of (DATE).
--
-- Charges link to invoices only through PaymentIntents (not synced), so the invoice itself
-- tells the story: `attempt_count` counts payment attempts, `status` and
-- `status_transitions.paid_at` say whether and when it was paid. The first attempt is made at
-- finalisation (Stripe: within about an hour of creation), so `created` dates it.
WITH

-- Subscription invoices with something due (read twice, filtered differently: not materialized).
subscription_invoices AS NOT MATERIALIZED (
    SELECT id, subscription, customer, created, billing_reason, currency, amount_due,
        attempt_count, status, paid_at
    FROM invoices
    WHERE subscription IS NOT NULL
      AND billing_reason LIKE 'subscription%'
      AND NOT deleted
      AND amount_due > 0
),

-- Attempted invoices of the window, with their subscription's trial end.
attempted AS (
    SELECT i.*, s.trial_end
    FROM subscription_invoices AS i
    LEFT JOIN subscriptions AS s ON s.id = i.subscription
    WHERE COALESCE(i.attempt_count, 0) >= 1
      AND i.created >= CAST($since AS DATE) + INTERVAL 1 DAY
      AND i.created < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

-- The first invoice after a trial is a conversion, not a renewal: cards are untested then and
-- its failures measure trial conversion, so it is left out (SPEC §5). Looked for only among the
-- invoices of the window's subscriptions that had a trial.
first_after_trial AS (
    SELECT i.id
    FROM subscription_invoices AS i
    JOIN (SELECT DISTINCT subscription, trial_end FROM attempted
          WHERE trial_end IS NOT NULL AND created >= trial_end) AS t
      ON t.subscription = i.subscription AND i.created >= t.trial_end
    QUALIFY row_number() OVER (PARTITION BY i.subscription ORDER BY i.created, i.id) = 1
),

-- One that failed first has more than one attempt, or one attempt and no payment.
judged AS (
    SELECT *, attempt_count > 1 OR status <> 'paid' AS failed_first
    FROM attempted
    WHERE id NOT IN (SELECT id FROM first_after_trial)
)

SELECT
    id AS invoice,
    subscription,
    customer,
    created,
    billing_reason,
    currency,
    amount_due AS amount_minor,
    attempt_count,
    status,
    paid_at,
    failed_first,
    -- Recovered: paid after a failed first attempt, by the end of as_of.
    failed_first AND status = 'paid'
        AND paid_at < CAST($as_of AS DATE) + INTERVAL 1 DAY AS recovered
FROM judged
ORDER BY created, id

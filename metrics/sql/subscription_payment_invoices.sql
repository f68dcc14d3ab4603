-- Subscription invoices first attempted in ($since, $as_of], with their first-attempt failure
-- and later recovery. Grain: one row per invoice. Parameters: $since, $as_of (DATE).
--
-- Charges link to invoices only through PaymentIntents (not synced), so the invoice itself
-- tells the story: `attempt_count` counts payment attempts, `status` and
-- `status_transitions.paid_at` say whether and when it was paid. The first attempt is made at
-- finalisation (Stripe: within about an hour of creation), so `created` dates it.
WITH

subscription_invoices AS (
    SELECT invoices.*, subscriptions.trial_end
    FROM invoices
    LEFT JOIN subscriptions ON subscriptions.id = invoices.subscription
    WHERE invoices.subscription IS NOT NULL
      AND invoices.billing_reason LIKE 'subscription%'
      AND NOT invoices.deleted
      AND invoices.amount_due > 0
),

-- The first invoice after a trial is a conversion, not a renewal: cards are untested then and
-- its failures measure trial conversion, so it is left out (SPEC §5).
ranked AS (
    SELECT
        *,
        trial_end IS NOT NULL AND created >= trial_end
            AND row_number() OVER (
                PARTITION BY subscription, created >= trial_end ORDER BY created, id
            ) = 1 AS first_after_trial
    FROM subscription_invoices
),

-- Attempted invoices of the window; one that failed first has more than one attempt, or one
-- attempt and no payment.
judged AS (
    SELECT
        *,
        attempt_count > 1 OR status <> 'paid' AS failed_first
    FROM ranked
    WHERE NOT first_after_trial
      AND COALESCE(attempt_count, 0) >= 1
      AND created >= CAST($since AS DATE) + INTERVAL 1 DAY
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
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

-- MRR per subscription item, as of the end of the UTC day $as_of.
-- Grain: one row per subscription item that counts toward MRR (a licensed item with a recurring
-- price, on a subscription that is active or past_due and was created by the end of $as_of).
-- Parameters: $as_of (DATE).
--
-- Skeleton limit: this reads the subscriptions' CURRENT state (status, items, prices, quantities),
-- which is what the sync keeps. It is exact only for $as_of on or after the last sync; for an
-- earlier day it answers "today's book of business, minus subscriptions created after $as_of".
-- Historical reconstruction, discounts and tiered prices come in a later issue.
WITH

-- Stripe counts only these two statuses: past_due is still owed money and may recover, whereas
-- trialing, incomplete, incomplete_expired, unpaid, canceled and paused are not paying.
counted_subscriptions AS (
    SELECT id, customer, status
    FROM subscriptions
    WHERE status IN ('active', 'past_due')
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

-- Metered usage and one-off prices are not recurring revenue; licensed is Stripe's default, so a
-- NULL usage_type on a recurring price means licensed.
recurring_licensed_prices AS (
    SELECT id, currency, unit_amount, billing_scheme, interval, interval_count
    FROM prices
    WHERE type = 'recurring'
      AND COALESCE(usage_type, 'licensed') = 'licensed'
),

-- One row per counted item with its billed amount per billing period, in minor units (HUGEINT so a
-- huge price times a huge quantity cannot overflow). A licensed item without a quantity is one seat.
-- Tiered prices have no unit_amount: their amount stays NULL here, visible rather than dropped.
items AS (
    SELECT
        si.id                         AS subscription_item,
        s.id                          AS subscription,
        s.customer,
        s.status                      AS subscription_status,
        p.currency,
        p.id                          AS price,
        p.billing_scheme,
        p.interval,
        COALESCE(p.interval_count, 1) AS interval_count,
        COALESCE(si.quantity, 1)      AS quantity,
        p.unit_amount,
        CAST(p.unit_amount AS HUGEINT) * COALESCE(si.quantity, 1) AS period_amount_minor
    FROM subscription_items AS si
    JOIN counted_subscriptions AS s ON s.id = si.subscription
    JOIN recurring_licensed_prices AS p ON p.id = si.price
),

-- Normalise every billing interval to a month in one place (Stripe's factors: a year is 12 months,
-- a month is 365/12 days and 52/12 weeks); an unknown interval gives NULL instead of a guess.
normalised AS (
    SELECT
        *,
        CASE interval
            WHEN 'day'   THEN CAST(period_amount_minor AS DOUBLE) * 365 / 12 / interval_count
            WHEN 'week'  THEN CAST(period_amount_minor AS DOUBLE) * 52 / 12 / interval_count
            WHEN 'month' THEN CAST(period_amount_minor AS DOUBLE) / interval_count
            WHEN 'year'  THEN CAST(period_amount_minor AS DOUBLE) / (12 * interval_count)
        END AS mrr_minor
    FROM items
)

SELECT
    subscription_item,
    subscription,
    customer,
    subscription_status,
    currency,
    price,
    billing_scheme,
    interval,
    interval_count,
    quantity,
    unit_amount,
    period_amount_minor,
    mrr_minor
FROM normalised
ORDER BY currency, subscription, subscription_item

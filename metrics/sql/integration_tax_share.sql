-- How much of the billing carries tax. Grain: one row. Parameters: $since, $as_of (DATE).
--
-- Subscriptions: those in force at the end of as_of (active, past_due, trialing) with
-- `automatic_tax.enabled`. Invoices: finalised ones of the lookback (since, as_of] with
-- something due, taxed automatically or carrying a tax amount (manual tax rates count too).
WITH

live_subscriptions AS (
    SELECT count(*) AS subscriptions,
        count(*) FILTER (WHERE automatic_tax) AS subscriptions_taxed
    FROM subscriptions
    WHERE status IN ('active', 'past_due', 'trialing')
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

billed AS (
    SELECT count(*) AS invoices,
        count(*) FILTER (WHERE automatic_tax OR COALESCE(tax, 0) > 0) AS invoices_taxed
    FROM invoices
    WHERE NOT deleted
      AND status IN ('open', 'paid', 'uncollectible')
      AND COALESCE(total, 0) > 0
      AND created >= CAST($since AS DATE) + INTERVAL 1 DAY
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
)

SELECT subscriptions, subscriptions_taxed, invoices, invoices_taxed
FROM live_subscriptions, billed

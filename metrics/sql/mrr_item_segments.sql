-- MRR segments per subscription item: the day ranges [from_day, to_day) over which an item counts
-- toward MRR at a constant list MRR, rebuilt from the history tables.
-- Grain: one row per (item span, paying status span) that overlap on at least one day, cut at the
-- subscription's cancellation cut-off. An open range ends on 9999-12-31.
-- Parameters: $as_of (DATE), $churn_at_period_end (BOOLEAN). Spans that start after $as_of are
-- left out (nothing later is known at $as_of); otherwise independent of the window: readers
-- filter the segments by day.
--
-- "At the end of a day" d is the state just before d + 1 at 00:00 UTC: a span counts when it began
-- before that instant and had not ended before it, i.e. valid_from < d + 1 <= valid_to. For day
-- granular d that is exactly date(valid_from) <= d < date(valid_to), the range used here (a span
-- starting and ending on the same day never counts at a day's end).
WITH

-- Only licensed recurring prices carry MRR; one place turns a billing period into a month.
priced AS (
    SELECT id AS price, currency, unit_amount, billing_scheme, tiers_mode, tiers,
        CASE interval
            WHEN 'day'   THEN 365.0 / 12 / interval_count
            WHEN 'week'  THEN 52.0 / 12 / interval_count
            WHEN 'month' THEN 1.0 / interval_count
            WHEN 'year'  THEN 1.0 / (12 * interval_count)
        END AS months_factor
    FROM prices
    WHERE type = 'recurring' AND COALESCE(usage_type, 'licensed') = 'licensed'
),

-- Tiers flattened with their lower bound, so a quantity can be priced by graduated or volume rules.
tiers AS (
    SELECT price, tiers_mode, ordinal,
        CAST(tier->>'$.unit_amount' AS DOUBLE) AS unit, CAST(tier->>'$.flat_amount' AS DOUBLE) AS flat,
        CAST(tier->>'$.up_to' AS BIGINT) AS up_to,
        COALESCE(lag(CAST(tier->>'$.up_to' AS BIGINT)) OVER (PARTITION BY price ORDER BY ordinal), 0)
            AS above
    FROM (
        SELECT price, tiers_mode, UNNEST(CAST(tiers AS JSON[])) AS tier,
            generate_subscripts(CAST(tiers AS JSON[]), 1) AS ordinal
        FROM priced WHERE billing_scheme = 'tiered' AND tiers IS NOT NULL
    )
),

-- Item spans as day ranges, with the quantity Stripe defaults to.
spans AS (
    SELECT subscription, subscription_item, price, COALESCE(quantity, 1) AS quantity,
        CAST(valid_from AS DATE) AS from_day,
        COALESCE(CAST(valid_to AS DATE), DATE '9999-12-31') AS to_day
    FROM subscription_item_history
    WHERE valid_from < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

-- The billed amount per period of each (price, quantity) pair: per unit, or by its tiers.
amounts AS (
    SELECT q.price, q.quantity,
        CASE WHEN ANY_VALUE(p.billing_scheme) = 'tiered' THEN SUM(CASE
                WHEN t.price IS NULL THEN NULL  -- no tiers: unknown, as for a missing unit amount
                WHEN t.tiers_mode = 'graduated' AND q.quantity > t.above THEN
                    (LEAST(q.quantity, COALESCE(t.up_to, q.quantity)) - t.above) * t.unit + t.flat
                WHEN t.tiers_mode = 'volume' AND q.quantity > t.above
                     AND (t.up_to IS NULL OR q.quantity <= t.up_to) THEN
                    q.quantity * t.unit + t.flat
                ELSE 0 END)
        ELSE CAST(ANY_VALUE(p.unit_amount) AS DOUBLE) * q.quantity END AS period_amount_minor
    FROM (SELECT DISTINCT price, quantity FROM spans) AS q
    JOIN priced AS p USING (price)
    LEFT JOIN tiers AS t ON p.billing_scheme = 'tiered' AND t.price = q.price
    GROUP BY q.price, q.quantity
),

-- Paying spans of each subscription as day ranges: Stripe counts active and past_due only.
paying AS (
    SELECT subscription, CAST(valid_from AS DATE) AS from_day,
        COALESCE(CAST(valid_to AS DATE), DATE '9999-12-31') AS to_day
    FROM subscription_status_history
    WHERE status IN ('active', 'past_due')
),

-- When a cancellation was requested, Stripe's rule takes the subscription out of MRR at the
-- request (from that day's end on); the period-end setting leaves it in until it ends (its status
-- span shows that).
cutoffs AS (
    SELECT id AS subscription, customer,
        COALESCE(CASE WHEN $churn_at_period_end THEN NULL ELSE CAST(canceled_at AS DATE) END,
                 DATE '9999-12-31') AS leaves_day
    FROM subscriptions
),

-- Each item span cut to the paying spans it overlaps and to the cut-off.
cut AS (
    SELECT s.subscription, c.customer, s.subscription_item, s.price, s.quantity,
        GREATEST(s.from_day, g.from_day) AS from_day,
        LEAST(s.to_day, g.to_day, c.leaves_day) AS to_day
    FROM spans AS s
    JOIN paying AS g
      ON g.subscription = s.subscription AND g.from_day < s.to_day AND s.from_day < g.to_day
    JOIN cutoffs AS c ON c.subscription = s.subscription
)

SELECT d.subscription, d.customer, d.subscription_item, d.price, p.currency, d.quantity,
    a.period_amount_minor, a.period_amount_minor * p.months_factor AS list_mrr_minor,
    p.months_factor, d.from_day, d.to_day
FROM cut AS d
JOIN priced AS p USING (price)
JOIN amounts AS a USING (price, quantity)
WHERE d.from_day < d.to_day

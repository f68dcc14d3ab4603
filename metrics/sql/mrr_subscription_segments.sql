-- MRR segments per subscription: day ranges [from_day, to_day) over which its list and net MRR
-- are constant; the item segments of `mrr_item_segments` summed, the discounts taken off.
-- Grain: one row per (subscription, piece) with at least one counted item, where the pieces cut
-- the subscription's timeline at every day an item segment or an applied discount starts or ends.
-- Reads the layer `mrr_item_segments`. Parameters: $as_of (DATE), $subtract_repeating,
-- $subtract_once (BOOLEAN).
WITH

-- The billed periods each discount was taken off, from the invoice lines that carry it.
discounted_lines AS (
    SELECT UNNEST(CAST(discounts AS VARCHAR[])) AS discount, period_end
    FROM invoice_lines
    WHERE NOT COALESCE(proration, FALSE) AND discounts IS NOT NULL AND discounts <> '[]'
),

-- A once coupon discounts one invoice: the period of the invoice that carried it (a trial's
-- free invoice does not), or, not invoiced yet, the billing period that contains its start.
once_periods AS (
    SELECT d.id AS discount, COALESCE(MIN(l.period_end), MIN(h.valid_to)) AS period_end
    FROM discounts AS d
    JOIN coupons AS c ON c.id = d.coupon AND c.duration = 'once'
    LEFT JOIN discounted_lines AS l ON l.discount = d.id
    LEFT JOIN subscription_item_history AS h
      ON h.subscription = d.subscription AND h.valid_from <= d.start AND h.valid_to > d.start
    GROUP BY ALL
),

-- The discounts each subscription carries, as the day range they apply over (the mapping of
-- `mrr_item_segments`: from date(start) to the day before date(until)); forever always counts,
-- repeating and once by the settings (Stripe's two toggles).
applied AS (
    SELECT COALESCE(d.subscription, s.id) AS subscription,
        CAST(d.start AS DATE) AS from_day,
        COALESCE(CAST(CASE WHEN c.duration = 'once' THEN o.period_end ELSE d."end" END AS DATE),
                 DATE '9999-12-31') AS to_day,
        c.percent_off, c.amount_off
    FROM discounts AS d
    JOIN coupons AS c ON c.id = d.coupon
    LEFT JOIN once_periods AS o ON o.discount = d.id
    LEFT JOIN subscriptions AS s ON d.subscription IS NULL AND s.customer = d.customer
    WHERE d.invoice IS NULL AND COALESCE(d.subscription, s.id) IS NOT NULL
      AND d.start < CAST($as_of AS DATE) + INTERVAL 1 DAY  -- later discounts cannot apply yet
      AND (c.duration = 'forever'
           OR (c.duration = 'repeating' AND $subtract_repeating)
           OR (c.duration = 'once' AND $subtract_once))
),

-- Every day something can change a subscription's MRR.
bounds AS (
    SELECT subscription, from_day AS day FROM mrr_item_segments
    UNION SELECT subscription, to_day FROM mrr_item_segments
    UNION SELECT subscription, from_day FROM applied
    UNION SELECT subscription, to_day FROM applied
),

-- The pieces between consecutive boundaries: nothing changes inside one.
pieces AS (
    SELECT subscription, day AS from_day,
        lead(day) OVER (PARTITION BY subscription ORDER BY day) AS to_day
    FROM bounds
    QUALIFY to_day IS NOT NULL
),

-- Per piece, the items in force; the largest months factor prices an amount-off coupon, which
-- Stripe takes off each invoice (a yearly $120 off is $10 a month).
piece_items AS (
    SELECT p.subscription, p.from_day, p.to_day, i.customer, i.currency,
        fsum(i.list_mrr_minor) AS list_mrr_minor, MAX(i.months_factor) AS months_factor,
        COUNT(*) AS items
    FROM pieces AS p
    JOIN mrr_item_segments AS i
      ON i.subscription = p.subscription AND i.from_day <= p.from_day AND p.to_day <= i.to_day
    GROUP BY ALL
),

-- Per piece: the share left by percent coupons and the monthly amount taken off.
piece_discounts AS (
    SELECT p.subscription, p.from_day,
        PRODUCT(1 - COALESCE(a.percent_off, 0) / 100) AS kept_share,
        SUM(COALESCE(a.amount_off, 0) * p.months_factor) AS amount_off_mrr_minor
    FROM piece_items AS p
    JOIN applied AS a
      ON a.subscription = p.subscription AND a.from_day <= p.from_day AND p.to_day <= a.to_day
    GROUP BY ALL
)

-- Net MRR never goes below zero: a coupon larger than the bill makes it free, not negative.
SELECT p.subscription, p.customer, p.currency, p.from_day, p.to_day, p.items, p.list_mrr_minor,
    GREATEST(0, p.list_mrr_minor * COALESCE(d.kept_share, 1)
        - COALESCE(d.amount_off_mrr_minor, 0)) AS net_mrr_minor
FROM piece_items AS p
LEFT JOIN piece_discounts AS d USING (subscription, from_day)

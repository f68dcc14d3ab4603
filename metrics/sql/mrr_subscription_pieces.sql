-- Stored MRR pieces per subscription, independent of the MRR settings: day ranges
-- [from_day, to_day) over which a subscription's items and the discounts it carries do not change,
-- with the list MRR and, per coupon duration, what the discounts take off. Built once per sync by
-- `metrics.refresh` into the table `mrr_subscription_pieces`; the layer
-- `mrr_subscription_segments` applies the settings (which durations count, when a cancellation
-- takes effect) when it is read.
-- Grain: one row per (subscription, piece) with at least one counted item, where the pieces cut
-- the subscription's timeline at every day an item piece or a discount (of any duration) starts or
-- ends, and at the day a cancellation was requested (`leaves_day`), so each piece lies wholly
-- before or wholly after it.
-- Reads the table `mrr_item_pieces`. Parameters: none.
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

-- The discounts each subscription carries, as the day range they apply over (from date(start)
-- to the day before date(until)), whatever their duration: the settings pick durations on read.
applied AS (
    SELECT COALESCE(d.subscription, s.id) AS subscription, c.duration,
        CAST(d.start AS DATE) AS from_day,
        COALESCE(CAST(CASE WHEN c.duration = 'once' THEN o.period_end ELSE d."end" END AS DATE),
                 DATE '9999-12-31') AS to_day,
        c.percent_off, c.amount_off
    FROM discounts AS d
    JOIN coupons AS c ON c.id = d.coupon
    LEFT JOIN once_periods AS o ON o.discount = d.id
    LEFT JOIN subscriptions AS s ON d.subscription IS NULL AND s.customer = d.customer
    WHERE d.invoice IS NULL AND COALESCE(d.subscription, s.id) IS NOT NULL
      AND c.duration IN ('forever', 'repeating', 'once')
),

-- Every day something can change a subscription's MRR, under any setting.
bounds AS (
    SELECT subscription, from_day AS day FROM mrr_item_pieces
    UNION SELECT subscription, to_day FROM mrr_item_pieces
    UNION SELECT subscription, leaves_day FROM mrr_item_pieces
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
    SELECT p.subscription, p.from_day, p.to_day, i.customer, i.currency, i.leaves_day,
        fsum(i.list_mrr_minor) AS list_mrr_minor, MAX(i.months_factor) AS months_factor,
        COUNT(*) AS items
    FROM pieces AS p
    JOIN mrr_item_pieces AS i
      ON i.subscription = p.subscription AND i.from_day <= p.from_day AND p.to_day <= i.to_day
    GROUP BY ALL
),

-- Per piece and coupon duration: the share left by percent coupons and the monthly amount off.
piece_discounts AS (
    SELECT p.subscription, p.from_day,
        PRODUCT(1 - COALESCE(a.percent_off, 0) / 100) FILTER (WHERE a.duration = 'forever')
            AS kept_forever,
        PRODUCT(1 - COALESCE(a.percent_off, 0) / 100) FILTER (WHERE a.duration = 'repeating')
            AS kept_repeating,
        PRODUCT(1 - COALESCE(a.percent_off, 0) / 100) FILTER (WHERE a.duration = 'once')
            AS kept_once,
        SUM(COALESCE(a.amount_off, 0) * p.months_factor) FILTER (WHERE a.duration = 'forever')
            AS off_forever,
        SUM(COALESCE(a.amount_off, 0) * p.months_factor) FILTER (WHERE a.duration = 'repeating')
            AS off_repeating,
        SUM(COALESCE(a.amount_off, 0) * p.months_factor) FILTER (WHERE a.duration = 'once')
            AS off_once
    FROM piece_items AS p
    JOIN applied AS a
      ON a.subscription = p.subscription AND a.from_day <= p.from_day AND p.to_day <= a.to_day
    GROUP BY ALL
)

SELECT p.subscription, p.customer, p.currency, p.from_day, p.to_day, p.leaves_day, p.items,
    p.list_mrr_minor,
    COALESCE(d.kept_forever, 1.0) AS kept_forever,
    COALESCE(d.kept_repeating, 1.0) AS kept_repeating,
    COALESCE(d.kept_once, 1.0) AS kept_once,
    COALESCE(d.off_forever, 0.0) AS off_forever,
    COALESCE(d.off_repeating, 0.0) AS off_repeating,
    COALESCE(d.off_once, 0.0) AS off_once
FROM piece_items AS p
LEFT JOIN piece_discounts AS d USING (subscription, from_day)

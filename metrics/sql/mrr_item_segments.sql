-- MRR segments per subscription item: the day ranges [from_day, to_day) over which an item counts
-- toward MRR at a constant list MRR, under the cancellation setting.
-- Reads the stored table `mrr_item_pieces` (`sql/mrr_item_pieces.sql`, built by
-- `metrics.refresh` before each snapshot is published): with Stripe's rule a piece is cut at the
-- day the cancellation was requested, with $churn_at_period_end it runs until the subscription
-- stops paying.
-- Grain: one row per (item run, paying run) overlapping on at least one day. An open range ends on
-- 9999-12-31. Parameters: $as_of (DATE), $churn_at_period_end (BOOLEAN). Pieces that start after
-- $as_of are left out (nothing later is known at $as_of); readers filter the segments by day.
SELECT subscription, customer, subscription_item, price, currency, quantity, period_amount_minor,
    list_mrr_minor, months_factor, from_day,
    CASE WHEN $churn_at_period_end THEN to_day ELSE LEAST(to_day, leaves_day) END AS to_day
FROM mrr_item_pieces
WHERE from_day <= CAST($as_of AS DATE) AND ($churn_at_period_end OR from_day < leaves_day)

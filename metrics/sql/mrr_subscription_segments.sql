-- MRR segments per subscription: day ranges [from_day, to_day) over which its list and net MRR
-- are constant, under the settings.
-- Reads the stored table `mrr_subscription_pieces` (`sql/mrr_subscription_pieces.sql`, built by
-- `metrics.refresh` before each snapshot is published), which keeps, per piece, what each coupon
-- duration takes off: forever coupons always count, repeating and once ones by $subtract_repeating
-- and $subtract_once (Stripe's two toggles); with Stripe's cancellation rule the pieces from the
-- day a cancellation was requested on are left out, with $churn_at_period_end they stay.
-- Grain: one row per (subscription, piece) with at least one counted item (a piece may be cut at a
-- day where nothing changes under these settings). Parameters: $as_of (DATE),
-- $subtract_repeating, $subtract_once, $churn_at_period_end (BOOLEAN). Pieces that start after
-- $as_of are left out; readers filter the segments by day.
--
-- Net MRR never goes below zero: a coupon larger than the bill makes it free, not negative.
SELECT subscription, customer, currency, from_day, to_day, items, list_mrr_minor,
    GREATEST(0, list_mrr_minor
        * (kept_forever
           * CASE WHEN $subtract_repeating THEN kept_repeating ELSE 1.0 END
           * CASE WHEN $subtract_once THEN kept_once ELSE 1.0 END)
        - (off_forever
           + CASE WHEN $subtract_repeating THEN off_repeating ELSE 0.0 END
           + CASE WHEN $subtract_once THEN off_once ELSE 0.0 END)) AS net_mrr_minor
FROM mrr_subscription_pieces
WHERE from_day <= CAST($as_of AS DATE) AND ($churn_at_period_end OR to_day <= leaves_day)

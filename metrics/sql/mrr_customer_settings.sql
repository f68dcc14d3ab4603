-- Per customer, which MRR settings can change its segments, and whether it has MRR in several
-- currencies: what `mrr_variant_segments.sql` runs each settings combination for. `metrics.refresh`
-- builds it into a temporary table of that name, once per refresh, and drops it after.
-- Grain: one row per customer with a subscription piece starting by $as_of.
-- Reads the table `mrr_subscription_pieces`. Parameters: $as_of (DATE; pieces starting after it
-- are left out, as `mrr_subscription_segments` leaves them out; the refresh reads at 9999-12-31).
--
-- A setting can change a customer's segments only where the formula or the filter of
-- `mrr_subscription_segments` is not a no-op on one of its pieces: a repeating or once coupon
-- (a share kept other than 1, an amount off other than 0), a piece after the cancellation
-- request. A NULL counts as "can change"; so does a NULL currency for `several`.
SELECT customer,
    bool_or(NOT COALESCE(kept_repeating = 1 AND off_repeating = 0, FALSE)) AS on_repeating,
    bool_or(NOT COALESCE(kept_once = 1 AND off_once = 0, FALSE)) AS on_once,
    bool_or(NOT COALESCE(to_day <= leaves_day, FALSE)) AS on_period_end,
    NOT COALESCE(MIN(currency) = MAX(currency) AND COUNT(currency) = COUNT(*), FALSE) AS several
FROM mrr_subscription_pieces
WHERE from_day <= CAST($as_of AS DATE)
GROUP BY customer

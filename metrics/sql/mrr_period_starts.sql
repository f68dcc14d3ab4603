-- Net MRR per currency at the start of each period (the end of the day before it): every
-- customer's, including those with no change in the period (segments are never below 0, so
-- summing them per currency is the sum of the customers' start values in `mrr_period_movements`).
-- Grain: one row per (period, currency) with MRR at its start.
-- Reads the layers `mrr_subscription_segments` and `mrr_periods`.
SELECT p.before, p.period_end, s.currency, SUM(s.net_mrr_minor) AS start_mrr_minor
FROM mrr_periods AS p
JOIN mrr_subscription_segments AS s ON s.from_day <= p.before AND p.before < s.to_day
GROUP BY ALL
HAVING SUM(s.net_mrr_minor) > 0

-- Subscription churn events in ($since, $as_of] for the drill-down: each end of
-- `churn_ends.sql` with its customer, kind, currency and the MRR it lost.
-- Grain: one row per (subscription, churn day).
-- Reads the layers `churn_ends` and `mrr_subscription_segments` (the MRR lost), and the table
-- `subscriptions`.
SELECT e.subscription, s.customer, e.day, e.churned_at, e.cause,
    CASE WHEN e.cause = 'voluntary' THEN 'voluntary'
         WHEN e.cause = 'disputed' THEN 'disputed'
         ELSE 'involuntary' END AS kind,
    e.from_status, s.currency, COALESCE(m.net_mrr_minor, 0) AS mrr_lost_minor
FROM churn_ends AS e
JOIN subscriptions AS s ON s.id = e.subscription
-- the MRR the subscription had at the end of the day before it churned
LEFT JOIN mrr_subscription_segments AS m
  ON m.subscription = e.subscription
 AND m.from_day <= e.day - 1 AND e.day - 1 < m.to_day
ORDER BY e.day, e.subscription

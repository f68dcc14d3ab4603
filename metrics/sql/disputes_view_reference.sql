-- The moment the Disputes page counts down from, and the Webhooks & sync page ages pending
-- events from: the account's clock at the last sync (Stripe's time at its last answer,
-- `sync_runs.account_time`: what the warehouse is as of), or the end of $as_of when that is
-- earlier (a past day). Grain: one row. Parameters: $as_of (DATE).
--
-- A countdown from the end of today would understate every deadline by the rest of the day; one
-- from the machine's clock would change with the moment the page is opened, not with the data.
SELECT LEAST(COALESCE((SELECT MAX(account_time) FROM sync_runs), end_of_as_of), end_of_as_of)
    AS at
FROM (SELECT CAST($as_of AS DATE) + INTERVAL 1 DAY AS end_of_as_of)

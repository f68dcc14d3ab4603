-- paylens' own last delivery to Slack: the newest outbox row that was tried, created by the end
-- of $as_of (the account's clock). Grain: at most one row. Parameters: $as_of (DATE).
SELECT key, status, summary, sent_at, last_attempt, last_error
FROM alert_outbox
WHERE status IN ('sent', 'failed')
  AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY COALESCE(sent_at, last_attempt) DESC, seq DESC
LIMIT 1

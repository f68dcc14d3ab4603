-- The kind of API key the sync used, as it recorded it from the key's prefix (never the key):
-- JSON {"mode": "test"|"live", "restricted": bool}, when recorded by the end of $as_of (the
-- sync keeps only the latest: a day before it is not known). Grain: at most one row.
-- Parameters: $key (VARCHAR: the sync_state key, 'key_kind'), $as_of (DATE).
SELECT value
FROM sync_state
WHERE key = $key
  AND updated_at < CAST($as_of AS DATE) + INTERVAL 1 DAY

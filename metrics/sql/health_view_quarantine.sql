-- Objects the sync could not store as typed rows, with the reason: those first seen by the end
-- of $as_of, as the last sync left the table (an object that comes back valid leaves it).
-- Grain: one row per quarantined object. Parameters: $as_of (DATE). The raw text is left out:
-- it is the whole object, for `paylens` to retry.
SELECT table_name, object_key, reason, first_seen, last_seen
FROM quarantine
WHERE first_seen < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY last_seen DESC, table_name, object_key

-- Stripe Tax as configured (`/v1/tax/settings`, `/v1/tax/registrations`). Grain: one row (no
-- row when the settings were never synced). Parameters: $as_of (DATE).
WITH

-- Registrations in force at the end of as_of: active, begun, not expired.
registered AS (
    SELECT
        count(*) AS registrations,
        string_agg(DISTINCT country, ', ' ORDER BY country) AS countries
    FROM tax_registrations
    WHERE status = 'active'
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
      AND (active_from IS NULL OR active_from < CAST($as_of AS DATE) + INTERVAL 1 DAY)
      AND (expires_at IS NULL OR expires_at >= CAST($as_of AS DATE) + INTERVAL 1 DAY)
)

SELECT s.status, s.tax_behavior, s.head_office_country, r.registrations, r.countries
FROM tax_settings AS s, registered AS r
WHERE s.id = 'tax_settings'

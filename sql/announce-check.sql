-- gmdb announce: can this database take announcements? Its provider inbox
-- (dem.message_inbox), the inbox category gmdb files them under, and
-- whether the server is a standby in recovery.
SELECT pg_catalog.to_regclass('dem.message_inbox') IS NOT NULL AND pg_catalog.to_regclass('dem.staff') IS NOT NULL
       AND pg_catalog.to_regclass('dem.inbox_item_type') IS NOT NULL,
       pg_catalog.pg_is_in_recovery()

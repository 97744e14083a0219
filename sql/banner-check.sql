-- gmdb: can this database's logon banner be read (a GNUmed database has the
-- table, spec 9) and written (not a standby in recovery)?
SELECT pg_catalog.current_database(),
       pg_catalog.to_regclass('cfg.db_logon_banner') IS NOT NULL AS has_banner_table,
       pg_catalog.pg_is_in_recovery() AS in_recovery;

-- gmdb: the database facts of a fingerprint (upstream's gm-fingerprint_db, spec 8.1).
-- Collation and ctype come from pg_database: PostgreSQL 16 removed them from pg_settings.
SELECT d.datname,
       pg_catalog.pg_size_pretty(pg_catalog.pg_database_size(d.oid)) AS size,
       pg_catalog.pg_database_size(d.oid) AS size_bytes,
       pg_catalog.current_setting('server_version') AS server_version,
       pg_catalog.current_setting('server_encoding') AS server_encoding,
       d.datcollate AS lc_collate,
       d.datctype AS lc_ctype,
       pg_catalog.to_regnamespace('gm') IS NOT NULL AS has_gm_schema
  FROM pg_catalog.pg_database d
 WHERE d.datname = pg_catalog.current_database();

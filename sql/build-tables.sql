-- gmdb: the tables whose rows a build record counts (lib/build.c): every
-- ordinary table of this database with storage, the database's own
-- catalogs included (DDL changes them), in OID order. Left out: other
-- sessions' temporary tables (unreadable), the shared catalogs (not this
-- database's) and the statistics that ANALYZE and autovacuum rewrite.
SELECT c.oid, n.nspname, c.relname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
   AND c.relpersistence OPERATOR(pg_catalog.<>) 't'
   AND NOT c.relisshared
   AND NOT (n.nspname OPERATOR(pg_catalog.=) 'pg_catalog'
            AND c.relname OPERATOR(pg_catalog.=) ANY (ARRAY['pg_statistic', 'pg_statistic_ext_data']::pg_catalog.name[]))
 ORDER BY c.oid;

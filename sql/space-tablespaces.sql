-- The current database's files by tablespace (lib/space.c): the name, its
-- location ('' for the data directory) and the bytes of every fork of every
-- relation there that CREATE DATABASE ... TEMPLATE copies (shared catalogs
-- and temporary tables are not copied).
SELECT t.spcname, pg_catalog.pg_tablespace_location(t.oid),
       pg_catalog.sum(pg_catalog.pg_relation_size(c.oid, 'main') + pg_catalog.pg_relation_size(c.oid, 'fsm')
                      + pg_catalog.pg_relation_size(c.oid, 'vm') + pg_catalog.pg_relation_size(c.oid, 'init'))::bigint
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_database d ON d.datname = pg_catalog.current_database()
  JOIN pg_catalog.pg_tablespace t ON t.oid = COALESCE(NULLIF(c.reltablespace, 0), d.dattablespace)
 WHERE c.relkind IN ('r', 'i', 't', 'm', 'S') AND NOT c.relisshared AND c.relpersistence <> 't'
 GROUP BY 1, 2
 ORDER BY 1

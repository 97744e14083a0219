-- gmdb: the single-column indexes on column $2 of table $1 (its oid),
-- upstream's gmPG2.get_index_name: step 15 drops them before it creates its own.
SELECT n.nspname AS index_schema, c.relname AS index_name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid IN (SELECT i.indexrelid
                   FROM pg_catalog.pg_index i
                  WHERE i.indrelid = $1::pg_catalog.oid
                    AND i.indnatts = 1
                    AND i.indkey[0] IN (SELECT a.attnum FROM pg_catalog.pg_attribute a
                                         WHERE a.attrelid = $1::pg_catalog.oid AND a.attname = $2));

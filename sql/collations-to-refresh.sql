-- The collations master's gm.refresh_pg_collations_version_information()
-- refreshes (any encoding): schema, name.
SELECT n.nspname, c.collname
FROM pg_catalog.pg_collation c
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.collnamespace
WHERE c.collversion IS DISTINCT FROM NULL
  AND c.collprovider OPERATOR(pg_catalog.<>) 'd'
  AND c.collversion OPERATOR(pg_catalog.<>) pg_catalog.pg_collation_actual_version(c.oid)

-- The collations of the database's encoding whose recorded version is not
-- the operating system's (master's gmPG2.sanity_check_collation_versions):
-- how many.
SELECT pg_catalog.count(*)
FROM pg_catalog.pg_collation
WHERE collversion IS DISTINCT FROM NULL
  AND collprovider OPERATOR(pg_catalog.<>) 'd'
  AND collversion OPERATOR(pg_catalog.<>) pg_catalog.pg_collation_actual_version(oid)
  AND collencoding OPERATOR(pg_catalog.=) (SELECT encoding FROM pg_catalog.pg_database
                                           WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database())

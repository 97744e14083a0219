-- gmdb: the databases of the cluster that may be GNUmed databases.
SELECT d.datname
  FROM pg_catalog.pg_database d
 WHERE d.datallowconn AND NOT d.datistemplate
 ORDER BY d.datname COLLATE "C";

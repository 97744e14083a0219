-- gmdb: the first transaction ID (with its epoch) not yet begun when this
-- transaction's snapshot was taken, and this database's OID
SELECT pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot()),
       d.oid
  FROM pg_catalog.pg_database d
 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database();

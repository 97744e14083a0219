-- gmdb: try to take the cluster-wide lock for database $1 ('gmdb' as class).
SELECT pg_catalog.pg_try_advisory_lock(1735222370, pg_catalog.hashtext($1));

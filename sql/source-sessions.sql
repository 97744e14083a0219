-- gmdb: the client sessions database $1 has had (pg_stat_database.sessions: counted
-- when a client backend connects, flushed at the latest when it ends), and the
-- backends on it now other than this one and autovacuum's. The early plausibility
-- checks compare the first before the clone and after the checks.
SELECT (SELECT d.sessions FROM pg_catalog.pg_stat_database d WHERE d.datname OPERATOR(pg_catalog.=) $1),
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.datname OPERATOR(pg_catalog.=) $1 AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
           AND a.backend_type OPERATOR(pg_catalog.<>) 'autovacuum worker');

-- gmdb: the sessions on database $1 other than this one (cloning fails while any exist);
-- the last column: a client backend from the network (the downtime procedure ends those).
SELECT a.pid, coalesce(a.usename, '?'), coalesce(a.application_name, ''),
       coalesce(host(a.client_addr), 'the local socket'),
       coalesce(pg_catalog.to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?'),
       a.client_addr IS NOT NULL AND a.backend_type OPERATOR(pg_catalog.=) 'client backend'
  FROM pg_catalog.pg_stat_activity a
 WHERE a.datname = $1 AND a.pid <> pg_catalog.pg_backend_pid()
 ORDER BY a.backend_start;

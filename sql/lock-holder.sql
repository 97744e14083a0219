-- gmdb: who holds the lock for database $1?
SELECT a.application_name, a.pid, pg_catalog.to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.classid = 1735222370::oid
   AND l.objid = pg_catalog.hashtext($1)::oid AND l.granted
 LIMIT 1;

-- gm-hba-lock: the client sessions open from the network (not over the
-- local socket), oldest first, without this one
SELECT pid, usename, datname, pg_catalog.host(client_addr) AS client_addr, client_port,
       pg_catalog.to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"') AS since,
       state, application_name
  FROM pg_catalog.pg_stat_activity
 WHERE client_addr IS NOT NULL
   AND backend_type = 'client backend'
   AND pid <> pg_catalog.pg_backend_pid()
 ORDER BY backend_start, pid

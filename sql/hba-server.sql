-- gm-hba-lock: where the server's pg_hba.conf is, whether this connection
-- came over the local socket, and when the server last loaded its
-- configuration
SELECT pg_catalog.current_setting('hba_file') AS hba_file,
       pg_catalog.inet_client_addr() IS NULL AS over_socket,
       pg_catalog.pg_conf_load_time()::text AS loaded_at

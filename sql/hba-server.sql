-- gm-hba-lock: where the server's pg_hba.conf is (a relative hba_file is
-- relative to the data directory), whether this connection came over the
-- local socket, and when the server last loaded its configuration
SELECT pg_catalog.current_setting('hba_file') AS hba_file,
       pg_catalog.inet_client_addr() IS NULL AS over_socket,
       pg_catalog.pg_conf_load_time()::text AS loaded_at,
       pg_catalog.current_setting('data_directory') AS data_directory

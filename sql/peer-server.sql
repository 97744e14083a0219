-- the temporary peer grant: where the server's pg_hba.conf and pg_ident.conf
-- are, whether this connection came over the local socket, and whether this
-- session is a superuser's
SELECT pg_catalog.current_setting('hba_file') AS hba_file,
       pg_catalog.current_setting('ident_file') AS ident_file,
       pg_catalog.inet_client_addr() IS NULL AS over_socket,
       pg_catalog.current_setting('is_superuser') = 'on' AS superuser

-- the temporary peer grant: when the server last loaded its configuration
SELECT pg_catalog.pg_conf_load_time()::text

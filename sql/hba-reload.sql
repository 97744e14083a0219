-- gm-hba-lock: make the server read its configuration files again
SELECT pg_catalog.pg_reload_conf()

-- gm-hba-lock --terminate: end one remote session
SELECT pg_catalog.pg_terminate_backend($1::integer)

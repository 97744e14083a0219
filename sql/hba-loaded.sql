-- gm-hba-lock: has the server loaded its configuration since $1? Asked on
-- a new connection: a backend forked after the postmaster's reload, which
-- loads pg_hba.conf in the same step, before it accepts new connections.
SELECT pg_catalog.pg_conf_load_time() > $1::timestamptz

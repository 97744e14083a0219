-- What the space estimate needs to know about the server (lib/space.c),
-- one row: its data directory, port and start time (to tell whether the
-- files seen on this machine are this server's), its version, the WAL
-- settings that bound pg_wal (in bytes; max_slot_wal_keep_size -1 means
-- unbounded) and what may keep WAL longer (archiving, replication slots).
SELECT pg_catalog.current_setting('data_directory'),
       pg_catalog.current_setting('port'),
       pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.pg_postmaster_start_time()))::bigint,
       pg_catalog.current_setting('server_version_num')::int,
       (SELECT s.setting::bigint * 1048576 FROM pg_catalog.pg_settings s WHERE s.name = 'max_wal_size'),
       (SELECT s.setting::bigint * 1048576 FROM pg_catalog.pg_settings s WHERE s.name = 'wal_keep_size'),
       (SELECT s.setting::bigint FROM pg_catalog.pg_settings s WHERE s.name = 'max_slot_wal_keep_size'),
       pg_catalog.current_setting('archive_mode'),
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_replication_slots r WHERE r.restart_lsn IS NOT NULL),
       pg_catalog.pg_database_size($1),
       (SELECT t.spcname FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace
         WHERE d.datname = $1)

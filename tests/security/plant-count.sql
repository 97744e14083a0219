-- tests/security/plant-count.sql: run AS gm-dbo. Vector e): count(integer)
-- in the public schema (gm-dbo's, as the database owner, and on every
-- default search_path). It is a better match for "count(1)" than
-- pg_catalog.count("any"), so any unqualified count(1) on a session with
-- public on its search_path runs it: upstream's plausibility checks, the
-- fingerprint's row counts. It counts correctly.
\set ON_ERROR_STOP 1
CREATE FUNCTION public.count_sf(bigint, integer) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT $1 + 1 $$;
CREATE FUNCTION public.count_ff(bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	PERFORM evil.attack('public_count');
	RETURN $1;
END $$;
CREATE AGGREGATE public.count(integer) (SFUNC = public.count_sf, STYPE = bigint, FINALFUNC = public.count_ff, INITCOND = '0');

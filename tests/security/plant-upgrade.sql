-- tests/security/plant-upgrade.sql: run AS gm-dbo in the source of the
-- upgrade. Vector e): the views upstream's plausibility checks count, each
-- made to call evil.attack() (same columns: the schema hash is unchanged);
-- an expression index calling a gm-dbo function, which REINDEX DATABASE
-- evaluates.
\set ON_ERROR_STOP 1
DO $d$
DECLARE
	v text;
BEGIN
	FOREACH v IN ARRAY ARRAY['dem.v_staff', 'clin.v_waiting_list', 'dem.v_uniq_zipped_urbs', 'dem.v_pat_addresses'] LOOP
		EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW %s AS SELECT * FROM (%s) s WHERE evil.attack(%L)', v,
					  pg_catalog.rtrim(pg_catalog.pg_get_viewdef(v::regclass), E'; \n'), 'view_' || v);
		INSERT INTO evil.planted VALUES ('view ' || v);
	END LOOP;
END
$d$;
CREATE FUNCTION evil.idx(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	PERFORM evil.attack('expression_index');
	RETURN $1;
END $$;
CREATE INDEX evil_expr ON evil.item ((evil.idx(narrative)));

-- tests/security/plant-nasty.sql: run AS gm-dbo. Vector a): a child of
-- clin.clin_root_item whose schema, table, column, constraint and index
-- names hold every character that needs quoting: a newline, double and
-- single quotes, semicolons, $$, backslashes, comment starts, upper case.
-- Its CHECK constraint calls gm.is_null_or_blank_string(), which the
-- revalidation of constraints runs.
\set ON_ERROR_STOP 1
DO $d$
DECLARE
	s text := E'zz\nEvil"Schema; $$ \\ --';
	t text := E'Item"; drop table x; --\\';
	c text := E'Col $$ \'q\' \\ ;';
	k text := E'Chk"; select 1; --';
	i text := E'Idx\\"; $$; --\nX';
BEGIN
	EXECUTE pg_catalog.format('CREATE SCHEMA %I', s);
	EXECUTE pg_catalog.format('CREATE TABLE %I.%I (%I text, CONSTRAINT %I CHECK (gm.is_null_or_blank_string(%I) IS NOT NULL)) INHERITS (clin.clin_root_item)',
				  s, t, c, k, c);
	EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.%I (fk_episode)', i, s, t);
	EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.%I (fk_encounter)', i || '2', s, t);
	EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.%I (%I)', E'Expr\';"', s, t, c);
	-- a row, for the constraint's revalidation and the new foreign keys
	EXECUTE pg_catalog.format('INSERT INTO %I.%I (fk_encounter, fk_episode, %I) SELECT (SELECT min(pk) FROM clin.encounter), (SELECT min(pk) FROM clin.episode), %L',
				  s, t, c, E'a \'row\' $$ ;');
END
$d$;

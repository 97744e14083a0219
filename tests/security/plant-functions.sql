-- tests/security/plant-functions.sql: run AS gm-dbo. Vector b): the
-- functions gm-dbo owns that the tools (or upstream's SQL they run) call,
-- each made to call evil.attack() first and then do what it always did;
-- vector e): triggers, a rule, a column default and a CHECK constraint of
-- gm-dbo's own on tables the tools (or upstream's scripts) write.
\set ON_ERROR_STOP 1
CREATE TABLE evil.planted (what text);
GRANT SELECT ON evil.planted TO PUBLIC;
DO $d$
DECLARE
	r record;
	src text;
	def text;
	tag text;
BEGIN
	FOR r IN
		SELECT p.oid, p.proname, l.lanname, p.prosrc
		  FROM unnest(ARRAY['gm.log_script_insertion(text,text)', 'gm.concat_table_structure()',
				    'gm.concat_table_structure(integer)', 'gm.concat_table_structure_v19_and_up()',
				    'gm.transfer_users(text)', 'gm.transfer_users(text,text)',
				    'gm.create_all_table_mod_triggers(boolean)', 'gm.create_all_enc_epi_sanity_check_triggers()',
				    'gm.is_null_or_blank_string(text)',
				    'audit.ft_ins_message_inbox()', 'audit.ft_upd_message_inbox()', 'audit.ft_del_message_inbox()',
				    'gm.trf_announce_table_ins_upd()', 'gm.trf_announce_table_del()']) AS f(sig)
		  JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(f.sig)
		  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
	LOOP
		tag := 'fn_' || r.proname;
		IF r.lanname = 'plpgsql' THEN
			src := pg_catalog.regexp_replace(r.prosrc, '\mbegin\M', pg_catalog.format('begin perform evil.attack(%L);', tag), 'i');
		ELSIF r.lanname = 'sql' THEN
			src := pg_catalog.format('select evil.attack(%L);', tag) || r.prosrc;
		ELSE
			RAISE EXCEPTION 'cannot plant into % (language %)', r.oid::regprocedure, r.lanname;
		END IF;
		IF src = r.prosrc THEN
			RAISE EXCEPTION 'found no BEGIN in %', r.oid::regprocedure;
		END IF;
		def := pg_catalog.pg_get_functiondef(r.oid);
		IF pg_catalog.strpos(def, r.prosrc) = 0 THEN
			RAISE EXCEPTION 'cannot find the body of % in its definition', r.oid::regprocedure;
		END IF;
		EXECUTE pg_catalog.replace(def, r.prosrc, src);
		-- as an attacker would: run as the caller (the hash functions are
		-- SECURITY DEFINER, which would keep the caller's rights away)
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SECURITY INVOKER', r.oid::regprocedure);
		INSERT INTO evil.planted VALUES (r.oid::regprocedure::text);
	END LOOP;
END
$d$;

-- e) triggers of gm-dbo's own, ENABLE ALWAYS (they fire under
-- session_replication_role = replica too)
CREATE TRIGGER zz_evil AFTER INSERT OR UPDATE OR DELETE ON cfg.db_logon_banner
	FOR EACH STATEMENT EXECUTE FUNCTION evil.trg('trigger_cfg_db_logon_banner');
ALTER TABLE cfg.db_logon_banner ENABLE ALWAYS TRIGGER zz_evil;
CREATE TRIGGER zz_evil AFTER INSERT OR UPDATE OR DELETE ON dem.message_inbox
	FOR EACH STATEMENT EXECUTE FUNCTION evil.trg('trigger_dem_message_inbox');
ALTER TABLE dem.message_inbox ENABLE ALWAYS TRIGGER zz_evil;
CREATE TRIGGER zz_evil AFTER INSERT OR UPDATE OR DELETE ON gm.schema_revision
	FOR EACH STATEMENT EXECUTE FUNCTION evil.trg('trigger_gm_schema_revision');
ALTER TABLE gm.schema_revision ENABLE ALWAYS TRIGGER zz_evil;
-- upstream's python data import scripts write these
CREATE TRIGGER zz_evil AFTER INSERT OR UPDATE OR DELETE ON ref.paperwork_templates
	FOR EACH STATEMENT EXECUTE FUNCTION evil.trg('trigger_ref_paperwork_templates');
ALTER TABLE ref.paperwork_templates ENABLE ALWAYS TRIGGER zz_evil;
CREATE TRIGGER zz_evil AFTER INSERT OR UPDATE OR DELETE ON ref.keyword_expansion
	FOR EACH STATEMENT EXECUTE FUNCTION evil.trg('trigger_ref_keyword_expansion');
ALTER TABLE ref.keyword_expansion ENABLE ALWAYS TRIGGER zz_evil;
-- a column default and a CHECK constraint of gm-dbo's on the banner table
-- (the schema hash covers neither): evaluated for whoever inserts a
-- banner, and by the upgrade's revalidation of constraints
ALTER TABLE cfg.db_logon_banner ALTER COLUMN singularizer SET DEFAULT evil.attack('default_cfg_db_logon_banner');
ALTER TABLE cfg.db_logon_banner ADD CONSTRAINT zz_evil CHECK (evil.attack('check_cfg_db_logon_banner'));
-- e) a rule of gm-dbo's own: its action runs with the rights of whoever
-- writes the banner
CREATE RULE zz_evil AS ON INSERT TO cfg.db_logon_banner
	DO ALSO INSERT INTO public.attack_log (tag) SELECT 'rule' WHERE NOT evil.attack('rule_cfg_db_logon_banner');

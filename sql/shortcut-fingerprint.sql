-- gmdb: one fingerprint of gm.log_script_insertion() and the whole
-- gm.concat_table_structure*() family: name, full definition, volatility,
-- security definer, owner. Every operator and type qualified: it also runs
-- on the owner's sessions, under a search_path the owner may have set.
SELECT pg_catalog.md5(pg_catalog.string_agg(
         p.oid::pg_catalog.regprocedure::pg_catalog.text OPERATOR(pg_catalog.||) E'\n'
         OPERATOR(pg_catalog.||) pg_catalog.pg_get_functiondef(p.oid) OPERATOR(pg_catalog.||) E'\n'
         OPERATOR(pg_catalog.||) p.provolatile::pg_catalog.text OPERATOR(pg_catalog.||) p.prosecdef::pg_catalog.text
         OPERATOR(pg_catalog.||) pg_catalog.pg_get_userbyid(p.proowner),
         E'\n' ORDER BY p.oid::pg_catalog.regprocedure::pg_catalog.text))
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) 'gm'::pg_catalog.name
   AND (p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['log_script_insertion', 'log_other_access']::pg_catalog.name[])
        OR p.proname OPERATOR(pg_catalog.~~) 'concat\_table\_structure%'::pg_catalog.text);

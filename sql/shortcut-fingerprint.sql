-- gmdb: one fingerprint of gm.log_script_insertion() and the whole
-- gm.concat_table_structure*() family: name, full definition, volatility,
-- security definer, owner.
SELECT pg_catalog.md5(pg_catalog.string_agg(
         p.oid::pg_catalog.regprocedure::text || E'\n' || pg_catalog.pg_get_functiondef(p.oid) || E'\n'
         || p.provolatile::text || p.prosecdef::text || pg_catalog.pg_get_userbyid(p.proowner),
         E'\n' ORDER BY p.oid::pg_catalog.regprocedure::text))
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'gm'
   AND (p.proname IN ('log_script_insertion', 'log_other_access') OR p.proname LIKE 'concat\_table\_structure%');

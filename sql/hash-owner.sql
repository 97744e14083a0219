-- gmdb: is this session's current_user the owner of gm.concat_table_structure_v19_and_up(),
-- the role the schema hash runs as (the function is SECURITY DEFINER) and so the role
-- whose view of information_schema the hash's text is made of? No row: no such function.
SELECT pg_catalog.pg_get_userbyid(p.proowner) OPERATOR(pg_catalog.=) CURRENT_USER
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) 'gm'::pg_catalog.name
   AND p.proname OPERATOR(pg_catalog.=) 'concat_table_structure_v19_and_up'::pg_catalog.name
   AND p.pronargs OPERATOR(pg_catalog.=) 0;

-- gmdb: the triggers on the tables upstream's superuser files write to
-- (through gm.log_script_insertion() and gm.log_other_access()) whose
-- functions would run as the superuser: neither SECURITY DEFINER nor a
-- superuser's.
SELECT t.tgrelid::pg_catalog.regclass::pg_catalog.text, t.tgname, f.oid::pg_catalog.regprocedure::pg_catalog.text,
       pg_catalog.pg_get_userbyid(f.proowner)
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) t.tgfoid
  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) f.proowner
 WHERE t.tgrelid OPERATOR(pg_catalog.=) ANY (ARRAY[pg_catalog.to_regclass('gm.schema_revision'),
                                                   pg_catalog.to_regclass('gm.access_log')])
   AND NOT f.prosecdef AND NOT r.rolsuper
 ORDER BY 1, 2;

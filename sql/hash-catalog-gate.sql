-- gmdb: may the schema hash be read from the catalogs (sql/structure-v19.sql) instead of
-- calling gm.concat_table_structure()? Only when the call would surely work and give the
-- same text. Run under the hash's search_path (GM_HASH_SEARCH_PATH) and after the
-- definitions were found to be known ones. One row: NULL when it may, else the reason.
--  * the function is SECURITY DEFINER: its information_schema shows what its owner sees,
--    so this session must be that owner;
--  * the call needs USAGE on schema gm and EXECUTE on the dispatchers and on v19_and_up;
--  * the function's operators (||, =) and its calls of md5, decode, format_type and
--    replace are unqualified, and so is gmdb's md5() around it: nothing of that kind may
--    sit in a schema of the search path but pg_catalog (whose objects only a superuser
--    makes), nor any relation or type in this session's temporary schema (searched first
--    for relations and types: the function's pg_index, pg_class, pg_attribute, its
--    regclass and text);
--  * the reading's lines travel to the client and back for their md5: without a
--    conversion between the encodings only (which code of the owner's may have set for
--    the session) are they the same bytes;
--  * a statement or transaction timeout may end the call where the reading, much faster,
--    would finish. (plpgsql's checks cannot make the call fail: the known definitions run
--    under the strictest, extra_errors 'all', as upstream's sessions set it.)
WITH fam AS (
	SELECT p.oid, p.proname, p.pronargs, p.proowner
	  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'gm'::pg_catalog.name
	   AND ((p.proname OPERATOR(pg_catalog.=) 'concat_table_structure'::pg_catalog.name
	         AND p.pronargs OPERATOR(pg_catalog.<=) 1)
	        OR (p.proname OPERATOR(pg_catalog.=) 'concat_table_structure_v19_and_up'::pg_catalog.name
	            AND p.pronargs OPERATOR(pg_catalog.=) 0))
), path AS (
	SELECT n.oid
	  FROM pg_catalog.unnest(pg_catalog.current_schemas(false)) s(name)
	  JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) s.name
	 WHERE n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.name
)
SELECT CASE
	WHEN (SELECT pg_catalog.count(*) FROM fam) OPERATOR(pg_catalog.<>) 3
		THEN 'not the three functions the call goes through'
	WHEN EXISTS (SELECT 1 FROM fam WHERE fam.proname OPERATOR(pg_catalog.=) 'concat_table_structure_v19_and_up'::pg_catalog.name
	                                 AND pg_catalog.pg_get_userbyid(fam.proowner) OPERATOR(pg_catalog.<>) CURRENT_USER)
		THEN 'this session is not the owner of the function'
	WHEN NOT pg_catalog.has_schema_privilege('gm', 'USAGE')
	     OR EXISTS (SELECT 1 FROM fam WHERE NOT pg_catalog.has_function_privilege(fam.oid, 'EXECUTE'))
		THEN 'this session may not call the function'
	WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) ANY (SELECT path.oid FROM path))
		THEN 'an operator in a schema of the search path'
	WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) ANY (SELECT path.oid FROM path)
	               AND p.proname OPERATOR(pg_catalog.=) ANY ('{md5,decode,format_type,replace}'::pg_catalog.name[]))
		THEN 'a function named like one the hash calls in a schema of the search path'
	WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema())
	     OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema())
		THEN 'a temporary relation or type in this session'
	WHEN pg_catalog.current_setting('client_encoding') OPERATOR(pg_catalog.<>) pg_catalog.current_setting('server_encoding')
		THEN 'the client encoding is not the server''s'
	WHEN pg_catalog.current_setting('statement_timeout') OPERATOR(pg_catalog.<>) '0'
	     OR COALESCE(pg_catalog.current_setting('transaction_timeout', true), '0') OPERATOR(pg_catalog.<>) '0'
		THEN 'a statement or transaction timeout'
	END;

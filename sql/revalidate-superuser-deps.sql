-- gmdb: constraints of tables a superuser owns that use a function or an
-- operator someone else owns (validating them as the superuser would run
-- that one's code with all rights): constraint, table, what, its owner.
SELECT con.conname, rel.oid::pg_catalog.regclass::pg_catalog.text,
       COALESCE(f.oid::pg_catalog.regprocedure::pg_catalog.text, o.oid::pg_catalog.regoperator::pg_catalog.text),
       fo.rolname
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class rel ON rel.oid OPERATOR(pg_catalog.=) con.conrelid
  JOIN pg_catalog.pg_authid ro ON ro.oid OPERATOR(pg_catalog.=) rel.relowner AND ro.rolsuper
  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
                             AND d.objid OPERATOR(pg_catalog.=) con.oid
  LEFT JOIN pg_catalog.pg_proc f ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                AND f.oid OPERATOR(pg_catalog.=) d.refobjid
  LEFT JOIN pg_catalog.pg_operator o ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
                                    AND o.oid OPERATOR(pg_catalog.=) d.refobjid
  JOIN pg_catalog.pg_authid fo ON fo.oid OPERATOR(pg_catalog.=) COALESCE(f.proowner, o.oprowner) AND NOT fo.rolsuper
 WHERE con.contype OPERATOR(pg_catalog.=) ANY (ARRAY['c', 'f']::pg_catalog."char"[])
 ORDER BY 1, 2;

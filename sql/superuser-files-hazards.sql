-- gmdb: what would run code of somebody else's as the superuser when
-- upstream's superuser files call gm.log_script_insertion() and
-- gm.log_other_access(), which write to gm.schema_revision and
-- gm.access_log as the caller: anything but an ordinary table; a trigger
-- whose function is neither SECURITY DEFINER nor a superuser's; a rule; a
-- CHECK constraint, column default, generated column or index expression
-- that uses a function or operator a non-superuser owns; a column of a
-- domain a non-superuser owns. Columns: table, what, whose.
-- (Functions whose definition is upstream's own, $1, are not listed.)
WITH t(rel, name) AS (
	SELECT pg_catalog.to_regclass(n), n
	  FROM pg_catalog.unnest(ARRAY['gm.schema_revision', 'gm.access_log']) AS n
), nonsuper(oid, rolname) AS (
	SELECT oid, rolname FROM pg_catalog.pg_roles WHERE NOT rolsuper
)
SELECT t.name, 'it is not an ordinary table', NULL::pg_catalog.name
  FROM t LEFT JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.rel
 WHERE t.rel IS NOT NULL AND c.relkind OPERATOR(pg_catalog.<>) 'r'
UNION ALL
SELECT t.name, 'trigger ' || pg_catalog.quote_ident(tg.tgname) || ' runs ' || f.oid::pg_catalog.regprocedure::pg_catalog.text, ns.rolname
  FROM t JOIN pg_catalog.pg_trigger tg ON tg.tgrelid OPERATOR(pg_catalog.=) t.rel
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) tg.tgfoid
  JOIN nonsuper ns ON ns.oid OPERATOR(pg_catalog.=) f.proowner
 WHERE NOT f.prosecdef
UNION ALL
SELECT t.name, 'rule ' || pg_catalog.quote_ident(r.rulename), NULL
  FROM t JOIN pg_catalog.pg_rewrite r ON r.ev_class OPERATOR(pg_catalog.=) t.rel
UNION ALL
SELECT t.name, 'a constraint, default or index uses '
       || COALESCE(f.oid::pg_catalog.regprocedure::pg_catalog.text, o.oid::pg_catalog.regoperator::pg_catalog.text), ns.rolname
  FROM t
  JOIN pg_catalog.pg_depend d ON
       (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
        AND d.objid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT oid FROM pg_catalog.pg_constraint WHERE conrelid OPERATOR(pg_catalog.=) t.rel)))
    OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
        AND d.objid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT oid FROM pg_catalog.pg_attrdef WHERE adrelid OPERATOR(pg_catalog.=) t.rel)))
    OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
        AND d.objid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT indexrelid FROM pg_catalog.pg_index WHERE indrelid OPERATOR(pg_catalog.=) t.rel)))
  LEFT JOIN pg_catalog.pg_proc f ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                AND f.oid OPERATOR(pg_catalog.=) d.refobjid
  LEFT JOIN pg_catalog.pg_operator o ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
                                    AND o.oid OPERATOR(pg_catalog.=) d.refobjid
  JOIN nonsuper ns ON ns.oid OPERATOR(pg_catalog.=) COALESCE(f.proowner, o.oprowner)
 -- $1: definitions known to be upstream's (gm.is_null_or_blank_string() in
 -- gm.access_log's CHECK constraint): name, definition, volatility,
 -- security definer, owner, as sql/shortcut-fingerprint.sql takes them
 WHERE f.oid IS NULL
    OR pg_catalog.md5(pg_catalog.pg_get_functiondef(f.oid) || E'\n' || f.provolatile::pg_catalog.text
                      || f.prosecdef::pg_catalog.text || pg_catalog.pg_get_userbyid(f.proowner))
       OPERATOR(pg_catalog.<>) ALL ($1::pg_catalog.text[])
UNION ALL
SELECT t.name, 'column ' || pg_catalog.quote_ident(a.attname) || ' is of the domain ' || ty.oid::pg_catalog.regtype::pg_catalog.text, ns.rolname
  FROM t JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.rel AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
  JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) a.atttypid AND ty.typtype OPERATOR(pg_catalog.=) 'd'
  JOIN nonsuper ns ON ns.oid OPERATOR(pg_catalog.=) ty.typowner
ORDER BY 1, 2;

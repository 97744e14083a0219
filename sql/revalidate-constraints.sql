-- gmdb: every CHECK and FOREIGN KEY constraint that upstream's step 10
-- revalidates, with its table's owner: oid, schema, table, constraint,
-- owner, owner is a superuser, validated now. Grouped by owner (each
-- owner's are validated on one connection of its own).
SELECT con.oid::pg_catalog.text, nsp.nspname, rel.relname, con.conname, rol.rolname, rol.rolsuper, con.convalidated
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_namespace nsp ON nsp.oid OPERATOR(pg_catalog.=) con.connamespace
  JOIN pg_catalog.pg_class rel ON rel.oid OPERATOR(pg_catalog.=) con.conrelid
  JOIN pg_catalog.pg_authid rol ON rol.oid OPERATOR(pg_catalog.=) rel.relowner
 WHERE con.contype OPERATOR(pg_catalog.=) ANY (ARRAY['c', 'f']::pg_catalog."char"[])
 ORDER BY rol.rolname, con.oid;

-- gmdb: the tables REINDEX DATABASE reindexes when the database's owner
-- runs it (PostgreSQL's ReindexMultipleTables): tables and materialized
-- views of this database, no shared catalog (the owner owns none), no
-- temporary table; since PostgreSQL 16 no system catalog (an OID below
-- FirstUnpinnedObjectId, 12000). A table's TOAST table's index comes with
-- the table. Run on an owner connection: schema, table, who reindexes it
-- ('owner': this connection's role has its owner's privileges, as REINDEX
-- TABLE needs; 'super': a superuser's table whose indexes, its TOAST
-- table's too, evaluate no expression or predicate and use only built-in
-- operator classes and collations, so reindexing it runs nobody's code;
-- 'other': neither), the size of its indexes in bytes. pg_class first, as
-- PostgreSQL does, then the superusers' tables, then the largest first.
SELECT nspname, relname, who, size FROM (
SELECT n.nspname, c.relname, c.oid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AS first,
       CASE WHEN pg_catalog.pg_has_role(c.relowner, 'USAGE') THEN 'owner'
            WHEN r.rolsuper AND NOT EXISTS (
                   SELECT FROM pg_catalog.pg_index i
                    WHERE i.indrelid OPERATOR(pg_catalog.=) ANY (ARRAY[c.oid, c.reltoastrelid])
                      AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL
                           OR EXISTS (SELECT FROM pg_catalog.unnest(i.indclass::pg_catalog.oid[]) k
                                       WHERE k OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid)
                           OR EXISTS (SELECT FROM pg_catalog.unnest(i.indcollation::pg_catalog.oid[]) k
                                       WHERE k OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid)))
            THEN 'super'
            ELSE 'other' END AS who,
       (SELECT COALESCE(pg_catalog.sum(pg_catalog.pg_relation_size(i.indexrelid)), 0)
          FROM pg_catalog.pg_index i
         WHERE i.indrelid OPERATOR(pg_catalog.=) ANY (ARRAY[c.oid, c.reltoastrelid]))::pg_catalog.int8 AS size
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) c.relowner
 WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'm']::pg_catalog."char"[])
   AND NOT c.relisshared
   AND c.relpersistence OPERATOR(pg_catalog.<>) 't'
   AND (pg_catalog.current_setting('server_version_num')::pg_catalog.int4 OPERATOR(pg_catalog.<) 160000
        OR c.oid OPERATOR(pg_catalog.>=) 12000::pg_catalog.oid)
) t
 ORDER BY first DESC, who OPERATOR(pg_catalog.=) 'super' DESC, size DESC, nspname, relname;

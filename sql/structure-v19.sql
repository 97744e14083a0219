-- gmdb: the catalog facts behind GNUmed's v19-and-up schema hash
-- (gm.concat_table_structure_v19_and_up(), spec 4.2 format B plus FK lines).
-- One row per line of the hashed text: libgmdb orders and joins them.
--   kind   0 = TABLE, 1 = PK, 2 = COL, 3 = CONSTRAINT
--   tkey   the table's sort key: md5(schema || table)
--   lkey   the line's sort key within its table and kind
-- Run it with the search_path the hash is computed with (GM_HASH_SEARCH_PATH,
-- "$user", public): the regclass and constraint texts depend on it. Every
-- operator, function and type is pg_catalog's, whatever that path holds: it runs
-- nothing of the database's own (where the function would meet an operator
-- of the owner's, sql/hash-catalog-gate.sql has the function called instead).
WITH tabs AS (
	SELECT t.table_schema::pg_catalog.text AS s, t.table_name::pg_catalog.text AS t,
	       pg_catalog.md5(t.table_schema::pg_catalog.text OPERATOR(pg_catalog.||) t.table_name::pg_catalog.text) AS tkey,
	       (t.table_schema::pg_catalog.text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) t.table_name::pg_catalog.text)::pg_catalog.regclass AS rel
	  FROM information_schema.tables t
	 WHERE t.table_schema::pg_catalog.text OPERATOR(pg_catalog.=) ANY ('{dem,clin,blobs,cfg,ref,i18n,bill}'::pg_catalog.text[])
	   AND t.table_type::pg_catalog.text OPERATOR(pg_catalog.=) 'BASE TABLE'
)
SELECT u.tkey, u.kind, u.lkey, u.line FROM (
SELECT tabs.tkey, 0 AS kind, '' AS lkey,
       'TABLE:' OPERATOR(pg_catalog.||) tabs.s OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) tabs.t AS line
  FROM tabs
UNION ALL
SELECT tabs.tkey, 1, pg_catalog.md5(pk.c), 'PK:' OPERATOR(pg_catalog.||) pk.c
  FROM tabs,
       LATERAL (SELECT c.oid::pg_catalog.regclass::pg_catalog.text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) a.attname::pg_catalog.text
                       OPERATOR(pg_catalog.||) '::' OPERATOR(pg_catalog.||) pg_catalog.format_type(a.atttypid, a.atttypmod) AS c
                  FROM pg_catalog.pg_index i, pg_catalog.pg_class c, pg_catalog.pg_attribute a
                 WHERE c.oid OPERATOR(pg_catalog.=) tabs.rel
                   AND i.indrelid OPERATOR(pg_catalog.=) c.oid
                   AND a.attrelid OPERATOR(pg_catalog.=) c.oid
                   AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey)
                   AND i.indisprimary) pk
UNION ALL
SELECT tabs.tkey, 2, pg_catalog.md5(col.column_name::pg_catalog.text OPERATOR(pg_catalog.||) col.data_type::pg_catalog.text),
       'COL:' OPERATOR(pg_catalog.||) col.table_schema::pg_catalog.text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) col.table_name::pg_catalog.text
       OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) col.column_name::pg_catalog.text OPERATOR(pg_catalog.||) '::'
       OPERATOR(pg_catalog.||) col.udt_name::pg_catalog.text
  FROM tabs
  JOIN information_schema.columns col ON col.table_schema::pg_catalog.text OPERATOR(pg_catalog.=) tabs.s
                                     AND col.table_name::pg_catalog.text OPERATOR(pg_catalog.=) tabs.t
UNION ALL
SELECT tabs.tkey, 3, pg_catalog.md5(con.d), con.d
  FROM tabs,
       LATERAL (SELECT 'CONSTRAINT:type=' OPERATOR(pg_catalog.||) k.contype::pg_catalog.text OPERATOR(pg_catalog.||) ':'
                       OPERATOR(pg_catalog.||) pg_catalog.replace(pg_catalog.pg_get_constraintdef(k.oid, true), ' ', '_')
                       OPERATOR(pg_catalog.||) '::active=' OPERATOR(pg_catalog.||) k.convalidated::pg_catalog.text AS d
                  FROM pg_catalog.pg_constraint k
                 WHERE k.conrelid OPERATOR(pg_catalog.=) tabs.rel
                   AND k.contype OPERATOR(pg_catalog.=) 'f'::pg_catalog."char") con
) u
 ORDER BY u.tkey COLLATE "C", u.kind, u.lkey COLLATE "C";

-- gmdb: the catalog facts behind GNUmed's v19-and-up schema hash
-- (gm.concat_table_structure_v19_and_up(), spec 4.2 format B plus FK lines).
-- One row per line of the hashed text: libgmdb orders and joins them.
--   kind   0 = TABLE, 1 = PK, 2 = COL, 3 = CONSTRAINT
--   tkey   the table's sort key: md5(schema || table)
--   lkey   the line's sort key within its table and kind
-- Run it with the search_path the hash is computed with (GM_HASH_SEARCH_PATH,
-- "$user", public): the regclass and constraint texts depend on it.
WITH tabs AS (
	SELECT t.table_schema::text AS s, t.table_name::text AS t,
	       pg_catalog.md5(t.table_schema || t.table_name) AS tkey,
	       (t.table_schema || '.' || t.table_name)::regclass AS rel
	  FROM information_schema.tables t
	 WHERE t.table_schema IN ('dem', 'clin', 'blobs', 'cfg', 'ref', 'i18n', 'bill')
	   AND t.table_type = 'BASE TABLE'
)
SELECT u.tkey, u.kind, u.lkey, u.line FROM (
SELECT tabs.tkey, 0 AS kind, '' AS lkey, 'TABLE:' || tabs.s || '.' || tabs.t AS line
  FROM tabs
UNION ALL
SELECT tabs.tkey, 1, pg_catalog.md5(pk.c), 'PK:' || pk.c
  FROM tabs,
       LATERAL (SELECT c.oid::regclass || '.' || a.attname || '::'
                       || pg_catalog.format_type(a.atttypid, a.atttypmod) AS c
                  FROM pg_catalog.pg_index i, pg_catalog.pg_class c, pg_catalog.pg_attribute a
                 WHERE c.oid = tabs.rel
                   AND i.indrelid = c.oid
                   AND a.attrelid = c.oid
                   AND a.attnum = ANY (i.indkey)
                   AND i.indisprimary) pk
UNION ALL
SELECT tabs.tkey, 2, pg_catalog.md5(col.column_name || col.data_type),
       'COL:' || col.table_schema || '.' || col.table_name || '.' || col.column_name || '::' || col.udt_name
  FROM tabs
  JOIN information_schema.columns col ON col.table_schema = tabs.s AND col.table_name = tabs.t
UNION ALL
SELECT tabs.tkey, 3, pg_catalog.md5(con.d), con.d
  FROM tabs,
       LATERAL (SELECT 'CONSTRAINT:type=' || k.contype::text || ':'
                       || pg_catalog.replace(pg_catalog.pg_get_constraintdef(k.oid, true), ' ', '_')
                       || '::active=' || k.convalidated::text AS d
                  FROM pg_catalog.pg_constraint k
                 WHERE k.conrelid = tabs.rel
                   AND k.contype = 'f') con
) u
 ORDER BY u.tkey COLLATE "C", u.kind, u.lkey COLLATE "C";

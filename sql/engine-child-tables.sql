-- gmdb: the direct children of clin.clin_root_item (upstream's
-- gmPG2.get_child_tables), whose encounter/episode keys step 15 maintains.
SELECT n.nspname, c.relname, c.oid::pg_catalog.text
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE i.inhparent = (SELECT r.oid FROM pg_catalog.pg_class r
                        JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
                       WHERE rn.nspname = 'clin' AND r.relname = 'clin_root_item')
 ORDER BY n.nspname, c.relname;

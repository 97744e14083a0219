-- gmdb: is there a foreign key from $1.$2 to $3.$4 (upstream's
-- gmPG2.get_foreign_key_names: single-column keys, by their first column)?
-- $1 is the table's oid (upstream's "schema.table"::regclass, without
-- parsing a name that may need quotes), $3 "schema.table" of clin.
SELECT k.conname
  FROM pg_catalog.pg_constraint k
 WHERE k.contype = 'f'
   AND k.conrelid = $1::pg_catalog.oid
   AND k.conkey[1] = (SELECT a.attnum FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = $1::pg_catalog.oid AND a.attname = $2)
   AND k.confrelid = $3::text::regclass
   AND k.confkey[1] = (SELECT a.attnum FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = $3::text::regclass AND a.attname = $4);

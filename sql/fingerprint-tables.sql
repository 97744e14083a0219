-- gmdb: the rows of every table in the schemas the schema hash covers
-- (each table's own rows: ONLY, so inherited rows are not counted twice).
SELECT t.table_schema, t.table_name,
       (pg_catalog.xpath('/row/n/text()', pg_catalog.query_to_xml(
          pg_catalog.format('SELECT count(*) AS n FROM ONLY %I.%I', t.table_schema, t.table_name),
          false, true, '')))[1]::text::bigint AS n_rows
  FROM information_schema.tables t
 WHERE t.table_schema IN ('dem', 'clin', 'blobs', 'cfg', 'ref', 'i18n', 'bill')
   AND t.table_type = 'BASE TABLE'
 ORDER BY t.table_schema COLLATE "C", t.table_name COLLATE "C";

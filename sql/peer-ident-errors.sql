-- the temporary peer grant: the lines the server flags in the pg_ident.conf
-- at ident_file's path as it is now on disk (not the maps the server has
-- loaded)
SELECT line_number, error
  FROM pg_catalog.pg_ident_file_mappings
 WHERE error IS NOT NULL
 ORDER BY line_number

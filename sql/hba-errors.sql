-- gm-hba-lock: the lines the server flags in the pg_hba.conf at hba_file's
-- path as it is now on disk (not the rules the server has loaded)
SELECT line_number, error
  FROM pg_catalog.pg_hba_file_rules
 WHERE error IS NOT NULL
 ORDER BY line_number

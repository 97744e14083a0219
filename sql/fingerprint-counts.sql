-- gmdb: upstream's fingerprint counts (spec 8.1), in upstream's order.
-- A table this database does not have yields NULL in "present".
-- Timestamps are rendered the way upstream prints them (Python's str()):
-- YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM in the session's time zone.
WITH items(ord, label, tbl, expr) AS (VALUES
	(1, 'Patients', 'dem.identity', 'count(1)'),
	(2, 'Contacts', 'clin.encounter', 'count(1)'),
	(3, 'Episodes', 'clin.episode', 'count(1)'),
	(4, 'Issues', 'clin.health_issue', 'count(1)'),
	(5, 'Results', 'clin.test_result', 'count(1)'),
	(6, 'Vaccinations', 'clin.vaccination', 'count(1)'),
	(7, 'Documents', 'blobs.doc_med', 'count(1)'),
	(8, 'Objects', 'blobs.doc_obj', 'count(1)'),
	(9, 'Organizations', 'dem.org', 'count(1)'),
	(10, 'Organizational units', 'dem.org_unit', 'count(1)'),
	(11, 'Most recent .modified_when', 'audit.audit_fields', 'max(modified_when)'),
	(12, 'Most recent .audit_when', 'audit.audit_trail', 'max(audit_when)')
)
SELECT i.label,
       pg_catalog.to_regclass(i.tbl) IS NOT NULL AS present,
       CASE WHEN pg_catalog.to_regclass(i.tbl) IS NULL THEN NULL
            WHEN i.expr = 'count(1)' THEN
               (pg_catalog.xpath('/row/v/text()', pg_catalog.query_to_xml(
                  'SELECT count(1) AS v FROM ' || i.tbl, false, true, '')))[1]::text
            ELSE
               (pg_catalog.xpath('/row/v/text()', pg_catalog.query_to_xml(
                  'SELECT pg_catalog.to_char(x, ''YYYY-MM-DD HH24:MI:SS'')'
                  || ' || CASE WHEN pg_catalog.date_part(''microseconds'', x)::bigint % 1000000 <> 0'
                  || ' THEN pg_catalog.to_char(x, ''.US'') ELSE '''' END'
                  || ' || pg_catalog.to_char(x, ''TZH:TZM'') AS v FROM (SELECT '
                  || i.expr || ' AS x FROM ' || i.tbl || ') s', false, true, '')))[1]::text
       END AS value
  FROM items i
 ORDER BY i.ord;

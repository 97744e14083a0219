-- gmdb: upstream's fingerprint counts (spec 8.1), in upstream's order.
-- A table this database does not have yields NULL in "present".
-- The audit lines are those of the database's own audit machinery: a v23
-- database (upstream's development tree) has version_logged_when where
-- older ones have audit_when, and upstream's v23 fingerprint shows the
-- earliest and latest of both.
-- Timestamps are rendered the way upstream prints them (Python's str()):
-- YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM in the session's time zone.
WITH gen AS (
	SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
	                WHERE attrelid = pg_catalog.to_regclass('audit.audit_trail')
	                  AND attname = 'version_logged_when' AND NOT attisdropped) AS v23
), all_items(ord, label, tbl, expr, only_v23) AS (VALUES
	(1, 'Patients', 'dem.identity', 'count(1)', NULL),
	(2, 'Contacts', 'clin.encounter', 'count(1)', NULL),
	(3, 'Episodes', 'clin.episode', 'count(1)', NULL),
	(4, 'Issues', 'clin.health_issue', 'count(1)', NULL),
	(5, 'Results', 'clin.test_result', 'count(1)', NULL),
	(6, 'Vaccinations', 'clin.vaccination', 'count(1)', NULL),
	(7, 'Documents', 'blobs.doc_med', 'count(1)', NULL),
	(8, 'Objects', 'blobs.doc_obj', 'count(1)', NULL),
	(9, 'Organizations', 'dem.org', 'count(1)', NULL),
	(10, 'Organizational units', 'dem.org_unit', 'count(1)', NULL),
	(11, '   Earliest .modified_when', 'audit.audit_fields', 'min(modified_when)', true),
	(12, 'Most recent .modified_when', 'audit.audit_fields', 'max(modified_when)', NULL),
	(13, 'Most recent .audit_when', 'audit.audit_trail', 'max(audit_when)', false),
	(14, '   Earliest .version_logged_when', 'audit.audit_trail', 'min(version_logged_when)', true),
	(15, 'Most recent .version_logged_when', 'audit.audit_trail', 'max(version_logged_when)', true)
), items AS (
	SELECT a.* FROM all_items a, gen WHERE a.only_v23 IS NULL OR a.only_v23 = gen.v23
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

-- gmdb unannounce: delete gmdb's announcements ($1: their primary keys),
-- then its inbox item type ($2, its description) once no message has it.
WITH gone AS (
	DELETE FROM dem.message_inbox m WHERE m.pk = ANY ($1::integer[]) RETURNING m.pk
), type_gone AS (
	DELETE FROM dem.inbox_item_type t
	 WHERE t.description = $2
	   AND NOT EXISTS (SELECT 1 FROM dem.message_inbox m WHERE m.fk_inbox_item_type = t.pk
	                    AND m.pk <> ALL ($1::integer[]))
	RETURNING t.pk
)
SELECT (SELECT pg_catalog.count(*) FROM gone), (SELECT pg_catalog.count(*) FROM type_gone)

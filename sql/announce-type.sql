-- gmdb announce: the inbox item type gmdb's announcements have ($1, its
-- description), made in the category "administrative" if it is missing;
-- returns its primary key. The type is gmdb's mark (with the check at the
-- end of each message's text): unannounce removes the type again once no
-- message has it.
WITH cat AS (
	SELECT c.pk FROM dem.inbox_item_category c WHERE c.description = 'administrative'
), made AS (
	INSERT INTO dem.inbox_item_type (fk_inbox_item_category, description, is_user)
	SELECT cat.pk, $1, false FROM cat
	 WHERE NOT EXISTS (SELECT 1 FROM dem.inbox_item_type t WHERE t.description = $1 AND t.fk_inbox_item_category = cat.pk)
	RETURNING pk
)
SELECT pk FROM made
UNION ALL
SELECT t.pk FROM dem.inbox_item_type t JOIN cat ON t.fk_inbox_item_category = cat.pk WHERE t.description = $1

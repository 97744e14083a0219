-- gmdb unannounce: the messages of gmdb's inbox item type ($1, its
-- description); gmdb takes out only those whose text ends with its check.
SELECT m.pk, m.data FROM dem.message_inbox m JOIN dem.inbox_item_type t ON t.pk = m.fk_inbox_item_type
 WHERE t.description = $1
 ORDER BY m.pk

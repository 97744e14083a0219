-- gmdb announce: one message in the provider inbox of every active staff
-- member ($1 the item type, $2 the subject, $3 the text, $4 the day after
-- which the client no longer shows it); GNUmed's own triggers tell the
-- running clients at once. Returns the staff's aliases.
INSERT INTO dem.message_inbox (fk_staff, fk_inbox_item_type, comment, data, importance, expiry_date)
SELECT s.pk, $1::integer, $2, $3, 1, $4::date FROM dem.staff s WHERE s.is_active
RETURNING (SELECT s2.short_alias FROM dem.staff s2 WHERE s2.pk = fk_staff)

-- tests/security/plant-index.sql: run AS gm-dbo. Vector a): a child of
-- clin.clin_root_item (the tools give each one encounter/episode foreign
-- keys and indexes, dropping the single-column indexes it has) whose index
-- names end one statement and start two more (issue 13's own). In a plain
-- schema, so that the statements around the name parse.
\set ON_ERROR_STOP 1
CREATE TABLE evil.item () INHERITS (clin.clin_root_item);
CREATE INDEX "x;reset session authorization;select evil.p()" ON evil.item (fk_episode);
CREATE INDEX "y;reset role;select evil.p()" ON evil.item (fk_encounter);
-- a row, so that whatever is evaluated per row (the expression index of
-- plant-upgrade.sql, the new foreign keys) has one to work on
INSERT INTO evil.item (fk_encounter, fk_episode, narrative, soap_cat)
SELECT (SELECT min(pk) FROM clin.encounter), (SELECT min(pk) FROM clin.episode), 'planted', 'o';

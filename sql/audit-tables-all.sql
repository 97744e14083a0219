-- The base tables of the schemas $1 visible to the session: what
-- audit-table-exists.sql asks of each table, for all at once.
select
	table_schema,
	table_name
from
	information_schema.tables
where
	table_schema = any ($1::text[]) and
	table_type = 'BASE TABLE'

-- The columns of every table of the schemas $1 with their udt_name, by
-- table, in ordinal order: audit-columns.sql's rows for each of those
-- tables at once (lib/audit.c reads them once per generation).
select
	cols.table_schema,
	cols.table_name,
	cols.column_name,
	cols.udt_name
from
	information_schema.columns cols
where
	cols.table_schema = any ($1::text[])
order by
	cols.table_schema,
	cols.table_name,
	cols.ordinal_position

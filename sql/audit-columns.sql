-- The columns of $1.$2 with their udt_name, in ordinal order
-- (gmPG2.query_table_col_defs; get_col_names reads the first column only).
select
	cols.column_name,
	cols.udt_name
from
	information_schema.columns cols
where
	cols.table_schema = $1
		and
	cols.table_name = $2
order by
	cols.ordinal_position

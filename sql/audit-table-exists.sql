-- Whether $1.$2 is a base table visible to the session (gmPG2.table_exists).
select exists (
	select 1 from information_schema.tables
	where
		table_schema = $1 and
		table_name = $2 and
		table_type = 'BASE TABLE'
)

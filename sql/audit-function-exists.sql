-- Whether a function $2 (any overload) exists in schema $1 (gmPG2.function_exists).
SELECT EXISTS (
	SELECT 1 FROM pg_catalog.pg_proc
	WHERE proname = $2 AND pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1)
)

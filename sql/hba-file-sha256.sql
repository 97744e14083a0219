-- gm-hba-lock: the SHA-256 of the file at $1 as the server reads it, to be
-- sure the file the tool edits is the one the server uses
SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.pg_read_binary_file($1)), 'hex')

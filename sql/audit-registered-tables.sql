-- The tables registered for auditing, in the physical order upstream's
-- generator reads them (gmAuditSchemaGenerator.create_audit_ddl: no ORDER BY).
select schema, table_name from audit.audited_tables

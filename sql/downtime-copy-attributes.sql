-- gmdb: what a template copy (CREATE DATABASE $2 TEMPLATE $1) leaves out,
-- as statements that give it to $2: the database's own settings and the
-- per-role settings in it (pg_db_role_setting; list-valued settings are
-- stored in SQL list syntax already), then its ACL (aclexplode) when it
-- has one of its own. The comment and the connection limit are the
-- procedure's business (it records and restores them).
SELECT CASE WHEN s.setrole = 0
            THEN pg_catalog.format('ALTER DATABASE %I SET %s TO %s', $2::text, split_part(c, '=', 1), v)
            ELSE pg_catalog.format('ALTER ROLE %I IN DATABASE %I SET %s TO %s',
                                   pg_catalog.pg_get_userbyid(s.setrole), $2::text, split_part(c, '=', 1), v)
       END
  FROM pg_catalog.pg_db_role_setting s
  JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
 CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c
 CROSS JOIN LATERAL (SELECT CASE WHEN split_part(c, '=', 1) IN ('search_path', 'temp_tablespaces',
                                       'session_preload_libraries', 'local_preload_libraries')
                                 THEN substr(c, strpos(c, '=') + 1)
                                 ELSE pg_catalog.quote_literal(substr(c, strpos(c, '=') + 1)) END) AS l(v)
 WHERE d.datname = $1
UNION ALL
SELECT pg_catalog.format('REVOKE ALL ON DATABASE %I FROM PUBLIC', $2::text)
  FROM pg_catalog.pg_database d WHERE d.datname = $1 AND d.datacl IS NOT NULL
UNION ALL
SELECT pg_catalog.format('REVOKE ALL ON DATABASE %I FROM %I', $2::text, pg_catalog.pg_get_userbyid(d.datdba))
  FROM pg_catalog.pg_database d WHERE d.datname = $1 AND d.datacl IS NOT NULL
UNION ALL
SELECT pg_catalog.format('GRANT %s ON DATABASE %I TO %s%s', a.privilege_type, $2::text,
                         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
                         CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
  FROM pg_catalog.pg_database d CROSS JOIN LATERAL pg_catalog.aclexplode(d.datacl) a
 WHERE d.datname = $1 AND d.datacl IS NOT NULL;

-- gmdb: the members of group role $1 in pg_group's grolist order, each with
-- its login name (NULL for a member that cannot log in), as upstream's
-- gm.transfer_users() walks them.
SELECT m.member::pg_catalog.text, u.usename
  FROM pg_catalog.pg_group g,
       LATERAL pg_catalog.unnest(g.grolist) WITH ORDINALITY AS m(member, n)
  LEFT JOIN pg_catalog.pg_user u ON u.usesysid OPERATOR(pg_catalog.=) m.member
 WHERE g.groname OPERATOR(pg_catalog.=) $1::pg_catalog.name
 ORDER BY m.n;

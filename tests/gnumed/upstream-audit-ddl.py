#!/usr/bin/python3
"""Write upstream's audit trail DDL for a database into a file, exactly as
upstream's engine writes it (bootstrap_gm_db_system.py, bootstrap_auditing:
every item of gmAuditSchemaGenerator.create_audit_ddl() followed by ";\\n",
UTF-8).

   upstream-audit-ddl.py DATABASE OUTPUT [ROLE]

Connects as PGUSER (default postgres) through libpq's environment, on a
DictConnection in SERIALIZABLE mode as upstream's connections are, and runs
the generator after SET SESSION AUTHORIZATION ROLE if ROLE is given (the
engine runs it as gm-dbo). Exits 3 without writing OUTPUT when upstream's
generator gives up (returns None).
"""
import io
import os
import sys
import tempfile

upstream = os.environ.get('GMDB_UPSTREAM_DIR', '/var/lib/gnumed/server')
# upstream imports itself as the package "Gnumed": give it one
pkgroot = tempfile.mkdtemp(prefix='gmdb-upstream-')
os.symlink(upstream, os.path.join(pkgroot, 'Gnumed'))
sys.path.insert(0, pkgroot)
sys.path.insert(0, os.path.join(upstream, 'bootstrap'))
try:
    import psycopg2
    import psycopg2.extensions
    import psycopg2.extras
    from psycopg2 import sql
    from Gnumed.pycommon import gmPG2
    import gmAuditSchemaGenerator
finally:
    os.unlink(os.path.join(pkgroot, 'Gnumed'))
    os.rmdir(pkgroot)

db, output = sys.argv[1], sys.argv[2]
role = sys.argv[3] if len(sys.argv) > 3 else None
conn = psycopg2.connect(dbname=db, user=os.environ.get('PGUSER', 'postgres'),
                        connection_factory=psycopg2.extras.DictConnection)
conn.set_client_encoding('UTF8')
conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_SERIALIZABLE)
curs = conn.cursor()
if role is not None:
    curs.execute(sql.SQL('SET SESSION AUTHORIZATION {}').format(sql.Identifier(role)))
audit_schema = gmAuditSchemaGenerator.create_audit_ddl(curs)
curs.close()
conn.rollback()
conn.close()
if audit_schema is None:
    print('upstream-audit-ddl: upstream\'s generator gave up (None)', file=sys.stderr)
    sys.exit(3)
# as bootstrap_gm_db_system.py writes audit-trail-schema.sql
f = io.open(output, mode='wt', encoding='utf8')
for line in audit_schema:
    f.write(u'%s;\n' % line)
f.close()

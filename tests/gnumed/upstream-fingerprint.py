#!/usr/bin/python3
"""Print upstream's own fingerprint of a database: gmPG2.get_db_fingerprint()
from Debian's gnumed-server, called the way upstream's engine calls it.

   upstream-fingerprint.py DATABASE [--with-dump]

Connects as PGUSER (default postgres) through libpq's environment (PGHOST,
PGPORT). Used by the tests and the benchmark as the reference.
"""
import os
import sys
import tempfile

upstream = os.environ.get('GMDB_UPSTREAM_DIR', '/var/lib/gnumed/server')
# upstream imports itself as the package "Gnumed": give it one
pkgroot = tempfile.mkdtemp(prefix='gmdb-upstream-')
os.symlink(upstream, os.path.join(pkgroot, 'Gnumed'))
sys.path.insert(0, pkgroot)
try:
    import psycopg2
    from Gnumed.pycommon import gmPG2
finally:
    os.unlink(os.path.join(pkgroot, 'Gnumed'))
    os.rmdir(pkgroot)

db = sys.argv[1]
conn = psycopg2.connect(dbname=db, user=os.environ.get('PGUSER', 'postgres'))
lines = gmPG2.get_db_fingerprint(conn=conn, with_dump='--with-dump' in sys.argv[2:])
conn.rollback()
print('\n'.join(lines))

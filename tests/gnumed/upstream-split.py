#!/usr/bin/python3
# upstream-split.py UPSTREAM_DIR FILE... - feed SQL files to upstream's own
# runner (pycommon/gmPsql.py from Debian's gnumed-server, or from upstream's
# development tree, whose runner is run_script()) with a recording stand-in
# for the database connection, and print the statements it sends, in the
# format of tests/helpers/sql-split.
import sys

sys.path.insert(0, sys.argv[1])
import logging
logging.disable(logging.CRITICAL)
from pycommon import gmPsql


class Cursor:
    def __init__(self, sink):
        self.sink = sink
        self.last = None

    def execute(self, sql):
        self.last = sql
        if sql != 'show session authorization':
            self.sink.append(sql)

    def fetchall(self):
        if self.last == 'show session authorization':
            return [['gm-dbo']]
        raise Exception('no results to fetch')

    def close(self):
        pass


class Conn:
    def __init__(self):
        self.sent = []
        self.notices = []

    def cursor(self):
        return Cursor(self.sent)

    def commit(self):
        pass


out = sys.stdout
for path in sys.argv[2:]:
    out.write('== %s\n' % path)
    conn = Conn()
    try:
        psql = gmPsql.Psql(conn)
        if hasattr(psql, 'run_script'):
            psql.run_script(path)
        else:
            psql.run(path)
    except Exception:
        out.write('!! fail\n')
        continue
    for s in conn.sent:
        out.write('-- statement\n%s\n' % s)

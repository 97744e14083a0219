#!/usr/bin/python3
"""Run upstream's own plausibility checks: check_data_plausibility() of
bootstrap_gm_db_system.py from Debian's gnumed-server, on two databases,
with the items of a file (one a line, as the conf reader hands them over).

   upstream-plausibility.py OLD_DB NEW_DB ITEMS_FILE LOG_FILE

Prints what upstream prints (its "==> ..." and "    ... failed (...)"
lines) and a last line "result: True|False". Connects as the superuser
postgres through libpq's environment (PGHOST, PGPORT), as upstream does.
Upstream's log goes to LOG_FILE.
"""
import os
import sys
import types

upstream = os.environ.get('GMDB_UPSTREAM_DIR', '/var/lib/gnumed/server')
old_db, new_db, items_file, log_file = sys.argv[1:5]
items = open(items_file, encoding='utf8').read().split('\n')
if items and items[-1] == '':
    items.pop()
# the bootstrapper finds its package from argv[0] and logs to --log-file
sys.argv = [os.path.join(upstream, 'bootstrap', 'bootstrap_gm_db_system.py'), '--log-file=' + log_file]
sys.path.insert(0, os.path.join(upstream, 'bootstrap'))
# the module refuses to be imported: run its definitions, not its main part
path = sys.argv[0]
src = open(path, encoding='utf8').read()
B = types.ModuleType('bootstrap_gm_db_system')
B.__file__ = path
exec(compile(src[:src.index('if __name__ != "__main__":')], path, 'exec'), B.__dict__)

B.quiet = False
B.cfg_get = lambda group=None, option=None: items if option == 'upgrade plausibility checks' else None
superuser = types.SimpleNamespace(name='postgres', password='')
server = types.SimpleNamespace(name='', port=int(os.environ.get('PGPORT', '5432')), superuser=superuser)
db = types.SimpleNamespace(section='database ' + new_db, server=server, template_db=old_db, name=new_db)
result = B.database.check_data_plausibility(db)
print('result: %s' % result)

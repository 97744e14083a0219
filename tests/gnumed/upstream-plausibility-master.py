#!/usr/bin/python3
"""Run the plausibility checks of upstream's development tree: master's
check_data_plausibility() (bootstrap_gm_db_system.py of master 8a85b32),
on two databases, with the items of a file (one a line, as the conf reader
hands them over, "--" comment lines included).

   upstream-plausibility-master.py MASTER_SERVER_DIR OLD_DB NEW_DB ITEMS_FILE LOG_FILE

MASTER_SERVER_DIR is the server/ of an unpacked master tree with the
"Gnumed" link beside it. Prints master's "    ... failed (...)" lines and
a last line "result: True|False". Connects as postgres through libpq's
environment (PGHOST, PGPORT), as master's engine does.
"""
import os
import sys
import types

upstream, old_db, new_db, items_file, log_file = sys.argv[1:6]
items = open(items_file, encoding='utf8').read().split('\n')
if items and items[-1] == '':
    items.pop()
sys.argv = [os.path.join(upstream, 'bootstrap', 'bootstrap_gm_db_system.py'), '--log-file=' + log_file]
sys.path.insert(0, os.path.join(upstream, 'bootstrap'))
path = sys.argv[0]
src = open(path, encoding='utf8').read()
B = types.ModuleType('bootstrap_gm_db_system')
B.__file__ = path
exec(compile(src[:src.index('if __name__ != "__main__":')], path, 'exec'), B.__dict__)

B._QUIET = False
B._PG_SUPERUSER = 'postgres'
B.cfg_get = lambda group=None, option=None: items if option == 'upgrade plausibility checks' else None
B._PG_CLUSTER = types.SimpleNamespace(hostname=os.environ.get('PGHOST'), port=int(os.environ.get('PGPORT', '5432')))
db = types.SimpleNamespace(section='database ' + new_db, source_db_name=old_db, target_db_name=new_db)
result = B.cDatabase.check_data_plausibility(db)
print('result: %s' % result)

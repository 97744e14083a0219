#!/usr/bin/python3
# upstream-conf.py UPSTREAM_DIR FILE... - print what upstream's own
# definition parser makes of each file (parse_INI_stream of
# pycommon/gmCfgINI.py, upstream's development tree, or of gmCfg2.py,
# 22.x), in the format of tests/helpers/conf-dump.
import os
import sys
import tempfile

upstream = sys.argv[1]
pkgroot = tempfile.mkdtemp(prefix='gmdb-upstream-')
os.symlink(upstream, os.path.join(pkgroot, 'Gnumed'))
sys.path.insert(0, pkgroot)
import logging
logging.disable(logging.CRITICAL)
try:
    if os.path.exists(os.path.join(upstream, 'pycommon', 'gmCfgINI.py')):
        from Gnumed.pycommon import gmCfgINI as cfg
    else:
        from Gnumed.pycommon import gmCfg2 as cfg
finally:
    os.unlink(os.path.join(pkgroot, 'Gnumed'))
    os.rmdir(pkgroot)

out = sys.stdout
for path in sys.argv[2:]:
    out.write('== %s\n' % path)
    try:
        with open(path, mode='rt', encoding='utf8') as f:
            data = cfg.parse_INI_stream(stream=f)
    except Exception:
        out.write('!! fail\n')
        continue
    lines = []
    for key, value in data.items():
        if isinstance(value, list):
            lines.append('%s []' % key + ''.join('\n%s [] %s' % (key, item) for item in value))
        else:
            lines.append('%s = %s' % (key, value))
    for line in sorted(lines):
        out.write(line + '\n')

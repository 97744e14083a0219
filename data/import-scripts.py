# gmdb: run upstream's "data import scripts" (spec section 7) the way
# upstream's engine runs them: each module is imported from the script base
# directory (module-level code runs), then its run(conn=...) is called with a
# connection set up like the engine's owner session (SERIALIZABLE READ WRITE,
# plpgsql.extra_warnings/extra_errors, UTF8, logged in as the owner, where
# upstream's is the superuser after SET SESSION AUTHORIZATION to the owner);
# the return value is ignored, any exception fails the step.
#
# argv: LOGFILE UPSTREAM_DIR CACHE_DIR ("": none). It loads psycopg2 and upstream's gmPG2, says
# "gmdb: ready", then waits for one line on standard input (lib/pyimport.c): JSON with
# bootstrap_dir, script_dir, owner, database, timezone and scripts. At the
# end of its input without that line it ends, having connected to nothing.
# The working directory is upstream's bootstrap directory: the scripts open
# their data files by paths relative to it. Connection from libpq's
# environment (PGHOST, PGPORT; PGUSER = the owner, PGDATABASE from the line).
# Exit status: 0 ok, 3 python3-psycopg2 or upstream's modules missing,
# 4 a script could not be loaded, 5 a script failed.
import gc
import importlib.machinery
import importlib.util
import json
import os
import stat
import sys

logfile, upstream, cache_dir = sys.argv[1:4]
upstream = os.path.abspath(upstream)
while upstream != '/' and not os.path.isdir(os.path.join(upstream, 'pycommon')):
    upstream = os.path.dirname(upstream)

# upstream's scripts import themselves as the package "Gnumed": its tree,
# loaded from its real path, so that the paths of its modules stay the same
# from run to run (and modules gmPG2 imports later, gmPsql say, are found)
def load_gnumed():
    init = os.path.join(upstream, '__init__.py')
    if os.path.exists(init):
        spec = importlib.util.spec_from_file_location('Gnumed', init, submodule_search_locations=[upstream])
    else:
        spec = importlib.machinery.ModuleSpec('Gnumed', None, is_package=True)
        spec.submodule_search_locations = [upstream]
    pkg = importlib.util.module_from_spec(spec)
    sys.modules['Gnumed'] = pkg
    if spec.loader:
        spec.loader.exec_module(pkg)


# The compiled modules of upstream's tree, kept for the next run in CACHE_DIR
# (sys.pycache_prefix): a directory of this OS user's own, never one another
# user could write to, since what is in it runs. Upstream's own engine keeps
# them beside the sources, in its tree, as root; the user gmdb runs python
# as cannot write there. Python checks each against its source's time and
# size before using it. Every directory on the way must exist (but the
# last two: ~/.cache/gmdb), be no symlink, be root's or this user's, and
# not be writable by others unless sticky; the last one this user's alone.
def private_dir(d):
    if not d:
        return None, 'no cache directory (GMDB_CACHE_DIR empty, or no HOME)'
    if not os.path.isabs(d) or '/../' in d + '/' or '/./' in d + '/':
        return None, '%s is not an absolute path without "." or ".."' % d
    if sys.dont_write_bytecode:
        return None, 'PYTHONDONTWRITEBYTECODE is set'
    if sys.version_info < (3, 8):
        return None, 'python %d.%d has no sys.pycache_prefix' % sys.version_info[:2]
    me = os.geteuid()
    parts = [p for p in d.split('/') if p]
    path = '/'
    for n, part in enumerate(parts):
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            if n < len(parts) - 2:
                return None, '%s does not exist' % path
            try:
                os.mkdir(path, 0o700)
                st = os.lstat(path)
            except OSError as e:
                return None, 'cannot create %s: %s' % (path, e.strerror)
        except OSError as e:
            return None, '%s: %s' % (path, e.strerror)
        if stat.S_ISLNK(st.st_mode):
            return None, '%s is a symlink' % path
        if not stat.S_ISDIR(st.st_mode):
            return None, '%s is not a directory' % path
        if st.st_uid not in (0, me):
            return None, '%s belongs to another user' % path
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return None, '%s may be written to by others' % path
    if st.st_uid != me or st.st_mode & 0o077:
        return None, ('%s is not this user\'s alone (mode 0700): remove it, and the next run makes it anew '
                      '(what others could put in it is not to be used)' % d)
    return d, None


sys.argv = ['gmdb-import-scripts', '--log-file=' + logfile]
try:
    import psycopg2
    import psycopg2.extras
except ImportError as e:
    print('python3-psycopg2 is missing: %s' % e, file=sys.stderr)
    sys.exit(3)
cache, why = private_dir(cache_dir)
# None where refused: whatever PYTHONPYCACHEPREFIX the caller's environment
# had is not used either (the compiled modules beside the sources are)
sys.pycache_prefix = cache
if cache:
    print('gmdb: bytecode cache %s' % cache, flush=True)
else:
    print('gmdb: no bytecode cache: %s' % why, flush=True)
try:
    load_gnumed()
    from Gnumed.pycommon import gmPG2  # noqa: F401 (the scripts need it importable)
except Exception as e:
    print("cannot load upstream's gmPG2 from %s: %s" % (upstream, e), file=sys.stderr)
    sys.exit(3)

print('gmdb: ready', flush=True)
line = sys.stdin.readline()
if not line.strip():
    sys.exit(0)
go = json.loads(line)
os.chdir(go['bootstrap_dir'])
script_dir, owner, timezone, scripts = go['script_dir'], go['owner'], go['timezone'], go['scripts']
os.environ['PGUSER'] = owner
os.environ['PGDATABASE'] = go['database']

try:
    conn = psycopg2.connect(connection_factory=psycopg2.extras.DictConnection,
                            application_name='gmdb import scripts')
except psycopg2.Error as e:
    print('cannot connect to database %s as the owner %s: %s'
          % (go['database'], owner, ' '.join(str(e).split())), file=sys.stderr)
    sys.exit(6)
# gmdb lets this connection through a downtime's connection limit of 0
# until it reads this line; it waits for the session's backend to be gone
# before its run ends
print('gmdb: connected %d' % conn.get_backend_pid(), flush=True)
for setting in ("SET plpgsql.extra_warnings TO 'all'", "SET plpgsql.extra_errors TO 'all'"):
    curs = conn.cursor()
    try:
        curs.execute(setting)
    except Exception:
        pass
    curs.close()
    conn.commit()
conn.set_client_encoding('UTF8')
conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_SERIALIZABLE, readonly=False)
curs = conn.cursor()
if timezone.startswith('+') or timezone.startswith('-'):
    curs.execute('set time zone interval %(tz)s hour to minute', {'tz': timezone})
else:
    curs.execute('SET timezone TO %(tz)s', {'tz': timezone})
# gmdb logs in as the owner (upstream: the superuser, then SET SESSION
# AUTHORIZATION, which the owner's code could reset)
curs.execute('select session_user')
if curs.fetchone()[0] != owner:
    print("connected as someone else, not as the owner %s" % owner, file=sys.stderr)
    sys.exit(3)
curs.close()
conn.commit()

for name in scripts:
    module_name = name[:-3] if name.endswith('.py') else name
    sys.path.append(script_dir)
    try:
        module = __import__(module_name)
    except Exception as e:
        print('cannot load script [%s]: %s' % (name, e), file=sys.stderr)
        sys.exit(4)
    finally:
        while script_dir in sys.path:
            sys.path.remove(script_dir)
    try:
        module.run(conn=conn)
    except Exception as e:
        print('cannot run script [%s]: %s' % (name, e), file=sys.stderr)
        sys.exit(5)
    print('ran script [%s]' % name)
    del sys.modules[module_name]
    del module
    gc.collect()
conn.close()

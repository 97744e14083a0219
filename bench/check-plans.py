#!/usr/bin/python3
# check-plans.py - what the plausibility checks' queries spend, and whether a
# session setting could make them cheaper without changing their plans
#
#   check-plans.py CONF OLD_DB NEW_DB [WORK_MEM]      (called by check-plans.sh)
#
# For every check of CONF's "upgrade plausibility checks" (the ones upstream
# runs: not commented out) and each of its two sides (the old query on
# OLD_DB, the new one on NEW_DB), runs EXPLAIN (ANALYZE, TIMING OFF, COSTS
# OFF: no clock read per row, whose cost would swamp these plans) through psql,
# once with the server's defaults and once with work_mem and
# maintenance_work_mem at WORK_MEM (default 1GB) and hash_mem_multiplier 4,
# both with jit off (as gmdb's checks run). Prints a row per side: the
# execution time of each, whether the default plan spilled to disk (a sort
# on disk, a hash or hash aggregate in more than one batch), whether it ran
# parallel workers, whether the larger memory gave the same plan (node for
# node, conditions included), and the check's name; below a query that
# spilled, the plan's lines that say so, with the defaults and with more
# memory. Then the totals.
import re
import subprocess
import sys


def checks(conf):
	"""(name, old, new) of every check upstream runs, in the file's order"""
	lines = open(conf, encoding='utf-8').read().split('\n')
	try:
		start = lines.index('upgrade plausibility checks = $upgrade plausibility checks$') + 1
	except ValueError:
		sys.exit('check-plans: no plausibility checks in %s' % conf)
	out = []
	i = start
	while i < len(lines) and lines[i] != '$upgrade plausibility checks$':
		line = lines[i]
		i += 1
		if line.startswith('#') or line.startswith('--') or '::::' not in line:
			continue
		name, old = line.split('::::', 1)
		new = lines[i].strip() if i < len(lines) else ''
		i += 1
		out.append((name, old.strip(), new))
	return out


def explain(db, query, settings):
	sql = ''.join("SET %s = '%s';\n" % kv for kv in settings)
	sql += 'EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) ' + query + ';\n'
	p = subprocess.run(['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', db],
		input=sql, capture_output=True, text=True)
	if p.returncode != 0:
		return None, p.stderr.strip().split('\n')[-1]
	return p.stdout, None


def exec_ms(plan):
	m = re.search(r'^Execution Time: ([0-9.]+) ms$', plan, re.M)
	return float(m.group(1)) if m else float('nan')


def spills(plan):
	"""the lines of the plan that say it wrote to disk"""
	return [l.strip() for l in plan.split('\n') if re.search(r'Disk: |external (merge|sort)', l)
		or any(int(n) > 1 for n in re.findall(r'Batches: ([0-9]+)', l))]


def shape(plan):
	"""the plan without what only execution decides (times, rows, memory)"""
	keep = []
	for line in plan.split('\n'):
		s = line.strip()
		if re.match(r'(Sort Method|Memory|Batches|Buckets|Heap Blocks|Rows Removed|Heap Fetches|'
				r'Planning Time|Execution Time|Worker [0-9]|Full-sort Groups|Pre-sorted Groups)', s):
			continue
		s = re.sub(r'\s*\((actual|never executed)[^)]*\)', '', line)
		s = re.sub(r'\s*Memory Usage: .*$', '', s)
		keep.append(s.rstrip())
	return '\n'.join(keep)


def main():
	conf, old_db, new_db = sys.argv[1:4]
	mem = sys.argv[4] if len(sys.argv) > 4 else '1GB'
	base = [('jit', 'off')]
	more = base + [('work_mem', mem), ('maintenance_work_mem', mem), ('hash_mem_multiplier', '4')]
	tot = {'default': 0.0, 'more': 0.0}
	n = n_spilled = parallel = different = failed = 0
	print('side\tdefault ms\t%s ms\tspilled\tparallel\tsame plan\tcheck' % mem)
	for name, old, new in checks(conf):
		for side, db, query in (('old', old_db, old), ('new', new_db, new)):
			p1, e1 = explain(db, query, base)
			p2, e2 = explain(db, query, more)
			if p1 is None or p2 is None:
				failed += 1
				print('%s\t-\t-\t-\t-\t-\t%s (%s)' % (side, name, e1 or e2))
				continue
			t1, t2 = exec_ms(p1), exec_ms(p2)
			sl = spills(p1)
			sp, par, same = bool(sl), 'Workers Launched' in p1, shape(p1) == shape(p2)
			n += 1
			n_spilled += sp
			parallel += par
			different += not same
			tot['default'] += t1
			tot['more'] += t2
			print('%s\t%.1f\t%.1f\t%s\t%s\t%s\t%s' % (side, t1, t2, 'yes' if sp else 'no',
				'yes' if par else 'no', 'yes' if same else 'NO', name))
			for l in sl:
				print('#   spilled: %s' % l)
			if sl:
				print('#   with work_mem %s: %s' % (mem, '; '.join(spills(p2)) or 'nothing spilled'))
	print('# %d queries: %.1f s with the defaults, %.1f s with work_mem %s; %d spilled, %d ran parallel workers, '
		'%d changed plan with more memory, %d failed' % (n, tot['default'] / 1000, tot['more'] / 1000, mem,
		n_spilled, parallel, different, failed))


main()

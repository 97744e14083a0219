#!/usr/bin/python3
# cpu-sample.py STOPFILE - where the machine's CPU time goes until STOPFILE exists (bench/cpu.sh)
#
# Every 0.25 s: the machine's busy, idle and stolen time (/proc/stat) and each
# PostgreSQL process's CPU time (/proc/PID/stat), by what its title says it
# is: "USER DATABASE" for a client's backend, its kind for the server's own
# processes. Prints the wall time, the CPU time that was busy, idle and
# stolen by the host (a virtual machine's; neither busy nor idle), the
# share of the intervals in which every CPU was busy, the CPU time by process kind
# (a process that lives less than 0.25 s may be missed), and how busy the
# CPUs were in each 5 s.
import os
import sys
import time

stop = sys.argv[1]
hz = os.sysconf("SC_CLK_TCK")
ncpu = os.cpu_count()


def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v), v[3] + v[4], v[7]  # all, idle + iowait, steal


def processes():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            if not cmd.startswith("postgres: "):
                continue
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        words = cmd[len("postgres: "):].split()
        # a cluster_name first (Debian's: "postgres: 15/main: ...")
        if words and words[0].endswith(":"):
            words = words[1:]
        # "USER DB [local] STATUS" or "USER DB HOST(PORT) STATUS"; else a kind
        if len(words) >= 3 and (words[2] == "[local]" or "(" in words[2] or words[2][:1].isdigit()):
            kind = "%s %s" % (words[0], words[1])
        else:
            kind = " ".join(w for w in words if not w.isdigit())[:40]
        # a pid the system gave to another process meanwhile is another key
        out[(pid, fields[19])] = (kind, (int(fields[11]) + int(fields[12])) / hz)
    return out


t0 = time.monotonic()
parent = os.getppid()
all0, idle0, steal0 = machine()
prev_all, prev_idle, prev_steal = all0, idle0, steal0
# what a process had used before the run; one that starts later counts whole
base = {pid: cpu for pid, (kind, cpu) in processes().items()}
last = {}
full = intervals = 0
buckets = []
while not os.path.exists(stop) and os.getppid() == parent:
    time.sleep(0.25)
    a, i, s = machine()
    if a > prev_all:
        intervals += 1
        busy = 1 - (i - prev_idle + s - prev_steal) / (a - prev_all)
        full += busy > 0.95
        buckets.append((time.monotonic() - t0, busy))
    prev_all, prev_idle, prev_steal = a, i, s
    for pid, (kind, cpu) in processes().items():
        last[pid] = (kind, cpu)
if not os.path.exists(stop):
    sys.exit("cpu-sample.py: the script that started it is gone")
wall = time.monotonic() - t0
a, i, s = machine()
idle, steal = (i - idle0) / hz, (s - steal0) / hz
print("wall %.1f s, %d CPUs: %.1f CPU-s busy, %.1f CPU-s idle, %.1f CPU-s stolen; every CPU busy in %d of %d intervals of 0.25 s"
      % (wall, ncpu, (a - all0) / hz - idle - steal, idle, steal, full, intervals))
by = {}
for pid, (kind, cpu) in last.items():
    by[kind] = by.get(kind, 0) + cpu - base.get(pid, 0)
for kind, cpu in sorted(by.items(), key=lambda kv: -kv[1]):
    if cpu >= 0.05:
        print("  %7.1f CPU-s  %s" % (cpu, kind))
line = []
for k in range(0, int(wall) + 1, 5):
    b = [x for t, x in buckets if k <= t < k + 5]
    if b:
        line.append("%d-%ds %.0f%%" % (k, k + 5, 100 * sum(b) / len(b)))
print("busy: " + ", ".join(line))

#!/usr/bin/env python3
"""Paired runs on one core: logdiag, logdiag with every line parsed into an event (the reference
path, LOGDIAG_PARSE_EVERY_LINE=1) and ripgrep with logdiag's patterns, alternated round by round
so that the machine's drift falls on all three alike. Wall time per run from a monotonic clock,
peak RSS from wait4(2). Prints a markdown table; --out writes the raw runs as JSON.

Usage: bench-paired.py --bin .build/release/logdiag --cache .bench-cache [--runs 7] [--out F]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('--bin', required=True)
ap.add_argument('--cache', required=True)
ap.add_argument('--runs', type=int, default=7)
ap.add_argument('--out')
ap.add_argument('--workloads', default='klog,mixed,docker-json')
a = ap.parse_args()

# One core, the same one for every command, when taskset is there.
pin = ['taskset', '-c', '1'] if shutil.which('taskset') and (os.cpu_count() or 1) > 1 else []

def run(argv, env=None):
    """Wall seconds and peak RSS (MB) of one run; output discarded."""
    t0 = time.perf_counter()
    p = subprocess.Popen(pin + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, **(env or {})))
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, code

results = {}
rows = []
for w in a.workloads.split(','):
    f = os.path.join(a.cache, w + '.log')
    size = os.path.getsize(f)
    cmds = {
        'logdiag': ([a.bin, 'triage', '-j', '1', '--no-progress', f], None),
        'logdiag, every line an event': ([a.bin, 'triage', '-j', '1', '--no-progress', f],
                                          {'LOGDIAG_PARSE_EVERY_LINE': '1'}),
        'rg -c -f (same patterns)': (['rg', '-j', '1', '-c', '-f', os.path.join(a.cache, 'patterns.rust'), f], None),
    }
    for name, (argv, env) in cmds.items():  # one warm-up each
        run(argv, env)
    runs = {name: [] for name in cmds}
    for _ in range(a.runs):
        for name, (argv, env) in cmds.items():
            wall, rss, code = run(argv, env)
            # logdiag exits 1 when it finds a failure, rg 1 when nothing matched; 2 and up are errors.
            if code not in (0, 1):
                sys.exit(f'bench-paired: {name} on {w} exited {code}')
            runs[name].append((wall, rss))
    results[w] = {n: [{'seconds': s, 'rss_mb': r} for s, r in v] for n, v in runs.items()}
    rg_median = statistics.median(s for s, _ in runs['rg -c -f (same patterns)'])
    for name, v in runs.items():
        med = statistics.median(s for s, _ in v)
        rows.append((w, name, size / med / 1e6, med, min(s for s, _ in v), max(r for _, r in v), rg_median / med))

print(f'| workload | command | MB/s (median) | median s | best s | peak RSS MB | vs rg |')
print(f'|---|---|---:|---:|---:|---:|---:|')
for w, name, mbs, med, best, rss, vs in rows:
    print(f'| {w} 256 MiB | {name} | {mbs:,.0f} | {med:.3f} | {best:.3f} | {rss:.0f} | {vs:.2f}x |')
print(f'\n{a.runs} rounds, each running the three commands in turn{" pinned to CPU 1" if pin else ""}, after one warm-up each.')
if a.out:
    with open(a.out, 'w') as fh:
        json.dump(results, fh, indent=1)

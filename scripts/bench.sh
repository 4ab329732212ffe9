#!/usr/bin/env bash
# `make bench`: logdiag against grep-like peers on the same generated logs, one table.
#
# Generates the workloads once into .bench-cache/ (256 MiB each of klog, mixed and docker-json
# from ../shared/bench/genlogs.py, and a directory of 8 files for parallel triage), then times on
# the same files: logdiag with the whole built-in rule library, `rg -c -f` and `grep -cE -f` with
# logdiag's own patterns (`logdiag rules patterns`), lnav headless when installed, and `wc -l`.
# Prints MB/s, peak RSS and the ratio of logdiag to each peer; then checks that skipping lines no
# rule can match changes no report (and stops if it does), runs logdiag, logdiag with every line
# parsed and rg in turn on one core (scripts/bench-paired.py); then start-up, parallel triage,
# peak RSS on a 2 GiB input, and the per-stage profile with heap allocations per line.
#
# Environment:
#   LOGDIAG_BENCH_SCRATCH  SwiftPM scratch path for the release build (default .build)
#   LOGDIAG_BENCH_CACHE    where the generated logs live (default .bench-cache)
#   GENLOGS                the generator (default ../shared/bench/genlogs.py)
#   BENCH_RUNS             hyperfine runs per command (default 3, after one warm-up run)
#   BENCH_SLOW_RUNS        runs of the slow peers, rg -P and grep -E (default 2, no warm-up)
#   BENCH_PAIRED_RUNS      rounds of the paired runs (default 7, after one warm-up each)
#   BENCH_SKIP_2G=1        skip the 2 GiB peak-RSS run
#   BENCH_MB               size of each workload in MiB (default 256; use another cache when changing it)
#   BENCH_WATCH_FILES, BENCH_WATCH_RATE, BENCH_WATCH_SECONDS   the watch run (500 files, 20,000 lines/s, 30 s)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${LOGDIAG_BENCH_SCRATCH:-.build}
CACHE=${LOGDIAG_BENCH_CACHE:-.bench-cache}
GENLOGS=${GENLOGS:-../shared/bench/genlogs.py}
RUNS=${BENCH_RUNS:-3}
SLOW_RUNS=${BENCH_SLOW_RUNS:-2}
MB=${BENCH_MB:-256}

say() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools
# Only Debian packages, only when missing: hyperfine, ripgrep, lnav, time (for /usr/bin/time -v).
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v rg >/dev/null || need+=(ripgrep)
command -v lnav >/dev/null || need+=(lnav)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    # lnav is optional: the table says when it is missing.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" \
        || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]/lnav/}"
fi
command -v hyperfine >/dev/null && command -v rg >/dev/null && [ -x /usr/bin/time ] \
    || { echo "bench: hyperfine, ripgrep and time are required" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench: python3 is required (genlogs.py)" >&2; exit 1; }
[ -f "$GENLOGS" ] || { echo "bench: generator not found: $GENLOGS (set GENLOGS)" >&2; exit 1; }

# ---------------------------------------------------------------- build
say "swift build -c release --scratch-path $SCRATCH"
swift build -c release --scratch-path "$SCRATCH" 2>&1 | tail -n 1
BIN=$SCRATCH/release/logdiag
STAGES=$SCRATCH/release/logdiag-bench
[ -x "$BIN" ] || { echo "bench: $BIN was not built" >&2; exit 1; }

# ---------------------------------------------------------------- workloads (once)
mkdir -p "$CACHE"
gen() {  # gen FILE FORMAT MIB SEED
    [ -s "$1" ] && return 0
    python3 "$GENLOGS" --mb "$3" --format "$2" --seed "$4" > "$1.tmp" 2>/dev/null
    mv "$1.tmp" "$1"
}
say "workloads in $CACHE (generated once)"
gen "$CACHE/klog.log" klog $MB 7 &
gen "$CACHE/mixed.log" mixed $MB 7 &
wait
gen "$CACHE/docker-json.log" docker-json $MB 7 &
mkdir -p "$CACHE/triage8"
formats=(klog mixed docker-json cri klog mixed docker-json docker-ts)
for k in 0 1 2 3; do gen "$CACHE/triage8/part$k-${formats[$k]}.log" "${formats[$k]}" $((MB / 8)) $((k + 1)); done
wait
for k in 4 5 6 7; do gen "$CACHE/triage8/part$k-${formats[$k]}.log" "${formats[$k]}" $((MB / 8)) $((k + 1)) & done
wait
: > "$CACHE/empty.log"

# logdiag's own patterns, and the two translations the peers' default engines need: POSIX ERE for
# `grep -E` and Rust regex syntax for `rg`. Both drop what those engines lack (lookarounds, named
# and branch-reset groups), so they may count a few more lines than the rules match; rg -P runs
# the exact PCRE2 patterns (names removed: PCRE2 refuses a name twice in one alternation).
"$BIN" rules patterns > "$CACHE/patterns.pcre2"
python3 - "$CACHE/patterns.pcre2" "$CACHE" <<'PY'
import sys, re
src, out = sys.argv[1], sys.argv[2]

def skip_group(p, i):
    """Index after the group that opens at p[i]."""
    depth, j, n = 0, i, len(p)
    while j < n:
        c = p[j]
        if c == '\\': j += 2; continue
        if c == '[':
            j += 1
            if j < n and p[j] == '^': j += 1
            if j < n and p[j] == ']': j += 1
            while j < n and p[j] != ']': j += 2 if p[j] == '\\' else 1
            j += 1; continue
        if c == '(': depth += 1
        elif c == ')':
            depth -= 1
            if depth == 0: return j + 1
        j += 1
    return n

def groups(p, ere):
    """Group syntax both engines lack, rewritten; classes and escapes left to `ere_atoms`."""
    out, i, n, icase = [], 0, len(p), []
    while i < n:
        c = p[i]
        if c == '\\':
            out.append(p[i:i + 2]); i += 2; continue
        if c == '[':
            j = i + 1
            if j < n and p[j] == '^': j += 1
            if j < n and p[j] == ']': j += 1
            while j < n and p[j] != ']': j += 2 if p[j] == '\\' else 1
            out.append(p[i:j + 1]); i = j + 1; continue
        if c == '(':
            if p.startswith(('(?<=', '(?<!', '(?=', '(?!'), i):
                i = skip_group(p, i); continue
            m = re.match(r'\(\?P?<[A-Za-z_]\w*>', p[i:])
            if m: out.append('(' if ere else '(?:'); i += m.end(); icase.append(False); continue
            if p.startswith(('(?:', '(?|'), i):
                out.append('(' if ere else '(?:'); i += 3; icase.append(False); continue
            if p.startswith('(?i:', i):
                out.append('(' if ere else '(?i:'); i += 4; icase.append(True); continue
            if p.startswith(('(?m)', '(?s)'), i):
                i += 4; continue
            out.append('('); i += 1; icase.append(False); continue
        if c == ')':
            if icase: icase.pop()
            out.append(')'); i += 1; continue
        if ere and c in '*+?}' and i + 1 < n and p[i + 1] == '?':
            out.append(c); i += 2; continue  # lazy: the same lines match
        if ere and any(icase) and c.isalpha():
            out.append('[%s%s]' % (c.lower(), c.upper())); i += 1; continue
        out.append(c); i += 1
    return ''.join(out)

def ere_atoms(p):
    """PCRE escapes and classes as POSIX ERE (GNU grep)."""
    out, i, n = [], 0, len(p)
    names = {'d': '[0-9]', 'D': '[^0-9]', 'w': '[[:alnum:]_]', 'W': '[^[:alnum:]_]',
             's': '[[:space:]]', 'S': '[^[:space:]]'}
    inclass = {'d': '0-9', 'w': '[:alnum:]_', 's': '[:space:]'}
    while i < n:
        c = p[i]
        if c == '\\':
            d = p[i + 1]; i += 2
            out.append(names.get(d) or ('\\b' if d == 'b' else (d if d.isalnum() else '\\' + d)))
            continue
        if c == '[':
            j = i + 1; neg = j < n and p[j] == '^'
            if neg: j += 1
            items, rbr, lbr, dash, notspace, first = [], False, False, False, False, True
            while j < n and (p[j] != ']' or (first and p[j] == ']' and False)):
                ch = p[j]
                if ch == '\\':
                    e = p[j + 1]; j += 2; first = False
                    if e in inclass: items.append(inclass[e])
                    elif e == 'S': notspace = True
                    elif e == ']': rbr = True
                    elif e == '[': lbr = True
                    elif e == '-': dash = True
                    else: items.append(e)
                    continue
                if ch == '-' and (not items or (j + 1 < n and p[j + 1] == ']')): dash = True; j += 1; continue
                if ch == '[' and not (j + 1 < n and p[j + 1] in ':.='): lbr = True; j += 1; continue
                items.append(ch); j += 1; first = False
            i = j + 1
            body = ''.join(items)
            cls = '[' + ('^' if neg else '') + (']' if rbr else '') + body + ('[' if lbr else '') + ('-' if dash else '') + ']'
            out.append(('([^[:space:]]|%s)' % cls if body or rbr or lbr or dash else '[^[:space:]]') if notspace else cls)
            continue
        out.append(c); i += 1
    return ''.join(out)

pats = [l.rstrip('\n') for l in open(src) if l.strip()]
with open(out + '/patterns.ere', 'w') as f:
    for p in pats: f.write(ere_atoms(groups(p, True)) + '\n')
with open(out + '/patterns.rust', 'w') as f:
    for p in pats: f.write(groups(p, False) + '\n')
with open(out + '/patterns.rgpcre2', 'w') as f:
    for p in pats: f.write(re.sub(r'\(\?P?<([A-Za-z_]\w*)>', '(', p) + '\n')
PY

# ---------------------------------------------------------------- the runs
READ="$BIN"
TRIAGE=0
if "$BIN" triage --help >/dev/null 2>&1; then READ="$BIN triage"; TRIAGE=1; fi
RES=$CACHE/results
rm -rf "$RES"; mkdir -p "$RES"

# Every timed run goes through /usr/bin/time, which appends its peak RSS (KB) to RES/NAME.rss.
timed() { echo "/usr/bin/time -a -o $RES/$1.rss -f %M"; }
LNAV_SQL=';SELECT log_level, count(*) FROM all_logs GROUP BY log_level'

for w in klog mixed docker-json; do
    f=$CACHE/$w.log
    say "$w: $(du -m "$f" | cut -f1) MiB"
    cmds=(-n "logdiag" "$(timed $w.logdiag) $READ $f"
          -n "rg -c -f (Rust regex)" "$(timed $w.rg) rg -c -f $CACHE/patterns.rust $f")
    if command -v lnav >/dev/null; then
        cmds+=(-n "lnav -n (level counts)" "$(timed $w.lnav) lnav -n -c '$LNAV_SQL' $f")
    fi
    cmds+=(-n "wc -l" "$(timed $w.wc) wc -l $f")
    hyperfine -N -i --output=pipe --warmup 1 --runs "$RUNS" --style basic --export-json "$RES/$w.fast.json" "${cmds[@]}" >&2
    # What each counted, from one more run.
    rg -c -f "$CACHE/patterns.rust" "$f" > "$RES/$w.rg.out" || true
    wc -l < "$f" > "$RES/$w.wc.out"
    if command -v lnav >/dev/null; then lnav -n -c "$LNAV_SQL" "$f" > "$RES/$w.lnav.out" 2>/dev/null || true; fi
    # The slow peers: no warm-up (the file is in the page cache already), fewer runs; their count
    # is the output of the last run.
    hyperfine -N -i --output="$RES/$w.rgP.out" --runs "$SLOW_RUNS" --style basic --export-json "$RES/$w.rgP.json" \
        -n "rg -c -P -f (PCRE2)" "$(timed $w.rgP) rg -c -P -f $CACHE/patterns.rgpcre2 $f" >&2
    hyperfine -N -i --output="$RES/$w.grep.out" --runs "$SLOW_RUNS" --style basic --export-json "$RES/$w.grep.json" \
        -n "grep -cE -f" "$(timed $w.grep) grep -cE -f $CACHE/patterns.ere $f" >&2
done

say "skip path: the same report with every line parsed; paired runs against rg on one core"
for w in klog mixed docker-json; do
    f=$CACHE/$w.log
    "$BIN" triage -j 1 --no-progress -o json "$f" > "$RES/$w.skip.json" 2>/dev/null || true
    LOGDIAG_PARSE_EVERY_LINE=1 "$BIN" triage -j 1 --no-progress -o json "$f" > "$RES/$w.every.json" 2>/dev/null || true
    if ! cmp -s "$RES/$w.skip.json" "$RES/$w.every.json"; then
        echo "bench: $w: the report differs when every line is parsed into an event" >&2
        exit 1
    fi
done
python3 scripts/bench-paired.py --bin "$BIN" --cache "$CACHE" --runs "${BENCH_PAIRED_RUNS:-7}" \
    --out "$RES/paired.json" > "$RES/paired.md"
cat "$RES/paired.md" >&2

say "start-up: empty input, every rule compiled"
hyperfine -N -i --output=pipe --warmup 3 --runs 20 --style basic --export-json "$RES/startup.json" \
    -n "logdiag (empty input)" "$(timed startup) $BIN $CACHE/empty.log" >&2

say "parallel triage: 8 files, $(du -m "$CACHE/triage8" | cut -f1) MiB"
if [ $TRIAGE = 1 ]; then
    hyperfine -N -i --output=pipe --warmup 1 --runs "$RUNS" --style basic --export-json "$RES/triage.json" \
        -n "triage -j 1" "$BIN triage -j 1 $CACHE/triage8" \
        -n "triage (all cores)" "$(timed triage) $BIN triage $CACHE/triage8" >&2
fi

if [ "${BENCH_SKIP_2G:-0}" != 1 ]; then
    say "peak RSS on a 2 GiB input (generated now, deleted after)"
    big=$CACHE/big-2g
    trap 'rm -f "$big".a "$big".b' EXIT
    python3 "$GENLOGS" --mb 1024 --format mixed --seed 21 > "$big.a" 2>/dev/null &
    python3 "$GENLOGS" --mb 1024 --format klog --seed 22 > "$big.b" 2>/dev/null &
    wait
    # One stream of 2 GiB: the Rancher/klog mix, then more klog.
    start=$(date +%s.%N)
    cat "$big.a" "$big.b" | /usr/bin/time -f '%M' -o "$RES/big.rss" $BIN - > /dev/null 2>&1 || true
    end=$(date +%s.%N)
    echo "$start $end $(cat "$big.a" "$big.b" | wc -c)" > "$RES/big.time"
    rm -f "$big.a" "$big.b"
fi

say "follow: latency from an appended line to its finding, and CPU while idle"
if "$BIN" follow --help >/dev/null 2>&1; then
    fl=$CACHE/follow.log
    : > "$fl"
    "$BIN" follow "$fl" > "$RES/follow.out" 2>/dev/null &
    fpid=$!
    sleep 2
    clk=$(getconf CLK_TCK)
    t0=$(awk '{print $14 + $15}' /proc/$fpid/stat)
    sleep 10
    t1=$(awk '{print $14 + $15}' /proc/$fpid/stat)
    echo "$(( t1 - t0 )) $clk 10" > "$RES/follow.idle"
    # Five lines, each a different finding (no threshold), appended one at a time.
    : > "$RES/follow.latency"
    while IFS= read -r line; do
        before=$(grep -c '^[A-Z]* .*\[[a-z0-9-]*\.[a-z0-9.-]*\]$' "$RES/follow.out" || true)
        a=$(date +%s%N)
        printf '%s\n' "$line" >> "$fl"
        while :; do
            now=$(grep -c '^[A-Z]* .*\[[a-z0-9-]*\.[a-z0-9.-]*\]$' "$RES/follow.out" || true)
            b=$(date +%s%N)
            [ "$now" -gt "$before" ] && { echo $(( (b - a) / 1000000 )) >> "$RES/follow.latency"; break; }
            [ $(( (b - a) / 1000000 )) -gt 5000 ] && { echo timeout >> "$RES/follow.latency"; break; }
            sleep 0.002
        done
        sleep 0.5
    done <<'LINES'
F0723 07:30:08.945634   12314 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied
E0723 07:31:00.000000    2231 kubelet.go:1592] Failed to start OOM watcher open /dev/kmsg: no such file or directory
E0723 07:32:00.000000    2231 server.go:294] "Failed to run kubelet" err="failed to run Kubelet: misconfiguration: kubelet cgroup driver: \"systemd\" is different from docker cgroup driver: \"cgroupfs\""
2021/07/23 07:33:00 [ERROR] cluster [c-x1] provisioning: [workerPlane] Failed to bring up Worker Plane: [Failed to start [kubelet] container on host [10.0.0.9]: Error response from daemon: path /var/lib/kubelet is mounted on / but it is not a shared mount]
E0723 07:34:00.000000       1 proxier.go:1500] Failed to execute iptables-restore: exit status 2 (iptables-restore v1.8.4 (legacy): Couldn't load target `KUBE-MARK-DROP':No such file or directory
LINES
    kill -INT $fpid 2>/dev/null || true
    wait $fpid 2>/dev/null || true
    rm -f "$fl"
fi

say "pipeline stages and heap allocations (logdiag-bench)"
for w in klog mixed docker-json; do
    echo "# $w" >> "$RES/stages.txt"
    "$STAGES" "$CACHE/$w.log" >> "$RES/stages.txt"
done

# ---------------------------------------------------------------- the table
python3 - "$RES" "$CACHE" <<'PY'
import json, os, sys
res, cache = sys.argv[1], sys.argv[2]
def rss(name):
    try: return max(int(x) for x in open(f'{res}/{name}.rss').read().split() if x.isdigit()) / 1024
    except Exception: return None
def out(name):
    try: return open(f'{res}/{name}.out').read().strip()
    except Exception: return ''
keys = {'logdiag': 'logdiag', 'rg -c -f (Rust regex)': 'rg', 'rg -c -P -f (PCRE2)': 'rgP',
        'grep -cE -f': 'grep', 'lnav -n (level counts)': 'lnav', 'wc -l': 'wc'}
print()
ncpu = os.cpu_count()
model = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
mem = next((int(l.split()[1]) // 1024 for l in open('/proc/meminfo') if l.startswith('MemTotal')), 0)
print(f'Machine: {ncpu} cores, {model}, {mem} MiB memory')
print()
print('| workload | tool | MB/s | mean s | peak RSS MB | logdiag vs tool | lines counted |')
print('|---|---|---:|---:|---:|---:|---|')
for w in ['klog', 'mixed', 'docker-json']:
    size = os.path.getsize(f'{cache}/{w}.log')
    d = []
    for part in ['fast', 'rgP', 'grep']:
        d += json.load(open(f'{res}/{w}.{part}.json'))['results']
    order = ['logdiag', 'rg -c -f (Rust regex)', 'rg -c -P -f (PCRE2)', 'grep -cE -f', 'lnav -n (level counts)', 'wc -l']
    d.sort(key=lambda r: order.index(r['command']))
    rate = {r['command']: size / r['mean'] / 1e6 for r in d}
    ld = rate['logdiag']
    for r in d:
        name = r['command']; k = keys[name]
        mbps = rate[name]
        m = rss(f'{w}.{k}')
        counted = out(f'{w}.{k}')
        if k == 'lnav': counted = ' '.join(counted.split()[2:]) or 'no format recognised'
        elif k == 'logdiag': counted = ''
        elif k == 'wc': counted = counted.split()[0] if counted else ''
        ratio = '' if k == 'logdiag' else f'{ld / mbps:.2f}x'
        print(f'| {w} {size >> 20} MiB | {name} | {mbps:,.0f} | {r["mean"]:.2f} | {m:.0f} | {ratio} | {counted} |'
              if m is not None else f'| {w} | {name} | {mbps:,.0f} | {r["mean"]:.2f} | ? | {ratio} | {counted} |')
print()
s = json.load(open(f'{res}/startup.json'))['results'][0]
rules = sum(1 for l in open(f'{cache}/patterns.pcre2') if l.strip())
print(f'Start-up (empty input, {rules} rules compiled): {s["mean"] * 1000:.1f} ms mean '
      f'(min {s["min"] * 1000:.1f} ms), peak RSS {rss("startup"):.0f} MB')
if os.path.exists(f'{res}/triage.json'):
    t = {r['command']: r['mean'] for r in json.load(open(f'{res}/triage.json'))['results']}
    total = sum(os.path.getsize(os.path.join(f'{cache}/triage8', f)) for f in os.listdir(f'{cache}/triage8'))
    one, all_ = t['triage -j 1'], t['triage (all cores)']
    print(f'Triage of 8 files ({total >> 20} MiB): -j 1 {total / one / 1e6:,.0f} MB/s, all {ncpu} cores '
          f'{total / all_ / 1e6:,.0f} MB/s: {one / all_:.2f}x; peak RSS {rss("triage"):.0f} MB')
if os.path.exists(f'{res}/big.rss'):
    a, b, n = open(f'{res}/big.time').read().split()
    print(f'2 GiB input ({int(n) >> 20} MiB through a pipe): peak RSS {rss("big"):.0f} MB, '
          f'{int(n) / (float(b) - float(a)) / 1e6:,.0f} MB/s')
if os.path.exists(f'{res}/follow.latency'):
    lat = open(f'{res}/follow.latency').read().split()
    ticks, clk, secs = open(f'{res}/follow.idle').read().split()
    ok = sorted(int(x) for x in lat if x.isdigit())
    timeouts = sum(1 for x in lat if not x.isdigit())
    share = int(ticks) / int(clk) / int(secs) * 100
    print(f'Follow: appended line to its finding {", ".join(map(str, ok))} ms'
          + (f' ({timeouts} not seen within 5 s)' if timeouts else '')
          + f'; idle CPU {share:.2f}% of a core over {secs} s (resolution {100 / int(clk) / int(secs):.2f}%)')
print()
print('Pipeline stages (logdiag-bench; cumulative, one run, allocations counted by a malloc wrapper):')
print(open(f'{res}/stages.txt').read().rstrip())
PY

# ---------------------------------------------------------------- watch
# `logdiag watch` over 500 growing files (scripts/bench-watch.py): idle CPU, CPU per 1,000
# lines/s, peak RSS and the delay from a line's write to the metric's change in a scrape.
say "watch: ${BENCH_WATCH_FILES:-500} files at ${BENCH_WATCH_RATE:-20000} lines/s"
python3 scripts/bench-watch.py "$BIN" --files "${BENCH_WATCH_FILES:-500}" --rate "${BENCH_WATCH_RATE:-20000}" \
    --seconds "${BENCH_WATCH_SECONDS:-30}"

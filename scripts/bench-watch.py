#!/usr/bin/env python3
"""`make bench`, the watch part: `logdiag watch` over many growing files, as on a busy node.

Starts `logdiag watch DIR/*.log --listen 127.0.0.1:PORT` over FILES files (default 500) and
measures, from /proc and from its own /metrics:
  - idle CPU with every file quiet,
  - CPU while the files grow at RATE lines/s in total (default 20,000; CRI lines as the kubelet
    writes them), per 1,000 lines/s,
  - peak RSS (VmHWM),
  - the delay from writing a failure line to the change of logdiag_matches_total in a scrape,
    at idle and under load,
  - that every line written was read (logdiag_lines_read_total).
Prints a Markdown table. Usage: bench-watch.py BINARY [--files N] [--rate N] [--seconds N]
"""
import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SEED = "open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"
RULE = "kube-proxy.conntrack-max-permission"
CLK = os.sysconf("SC_CLK_TCK")

# What a node's pods say, most of it info: klog lines inside the CRI envelope.
MESSAGES = [
    'I{md} {hms}.{us}       1 reflector.go:255] Listing and watching *v1.Service from k8s.io/client-go/informers/factory.go:134',
    'I{md} {hms}.{us}       1 proxier.go:{n}] "Syncing iptables rules" ipFamily=IPv4',
    'I{md} {hms}.{us}       1 trace.go:205] Trace[{n}]: "List" url:/api/v1/pods,user-agent:kubelet (total time: {n}ms)',
    'W{md} {hms}.{us}       1 warnings.go:70] policy/v1beta1 PodSecurityPolicy is deprecated in v1.21+',
    'time="{iso}" level=info msg="Handling backend connection request [c-{n}]"',
    '{iso} INFO controller-runtime.manager.controller.pod Reconciling pod {{"name": "web-{n}"}}',
    'E{md} {hms}.{us}       1 reflector.go:138] failed to list *v1.Endpoints: Get "https://10.43.0.1:443/api": dial tcp 10.43.0.1:443: i/o timeout',
]


def cri(text):
    now = time.time()
    t = time.gmtime(now)
    us = int((now % 1) * 1e6)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%06dZ" % us
    body = text.format(md=time.strftime("%m%d", t), hms=time.strftime("%H:%M:%S", t), us="%06d" % us,
                       iso=iso, n=random.randint(1, 99999))
    return "%s stderr F %s\n" % (iso[:-1] + "000Z", body)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metric(port, name, **labels):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    want = [('%s="%s"' % kv) for kv in labels.items()]
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + "{") and all(w in line for w in want):
            total += float(line.rsplit(" ", 1)[1])
    return total


def delay_once(port, path):
    """Seconds from writing the seed line to the next scrape that shows it counted."""
    before = metric(port, "logdiag_matches_total", rule=RULE)
    t = time.gmtime()
    line = "%s stderr F F%s %s.000000       1 server.go:495] %s\n" % (
        time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", t), time.strftime("%m%d", t), time.strftime("%H:%M:%S", t), SEED)
    start = time.monotonic()
    with open(path, "a") as f:
        f.write(line)
    while time.monotonic() - start < 10:
        if metric(port, "logdiag_matches_total", rule=RULE) > before:
            return time.monotonic() - start
        time.sleep(0.002)
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--idle-seconds", type=float, default=20)
    a = ap.parse_args()
    random.seed(7)
    work = tempfile.mkdtemp(prefix="logdiag-bench-watch-")
    paths = [os.path.join(work, "pod-%03d_ns_app-%03d.log" % (i, i)) for i in range(a.files)]
    for p in paths:
        open(p, "w").close()
    port = free_port()
    proc = subprocess.Popen([a.binary, "watch", work + "/*.log", "--listen", "127.0.0.1:%d" % port, "--node", "bench",
                             "-o", "ndjson", "--tail", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                if metric(port, "logdiag_sources") >= a.files:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("bench-watch: logdiag watch did not open the files")
            time.sleep(0.1)
        time.sleep(1)
        # Idle: every file open, none growing.
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(a.idle_seconds)
        idle_cpu = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0) * 100
        # Apart (0.5 s): a line after a quiet spell. Lines within 50 ms of the last snapshot wait
        # for the next one (the load figure below).
        idle_delays = []
        for i in range(5):
            idle_delays.append(delay_once(port, paths[i]))
            time.sleep(0.5)
        # Load: RATE lines/s in all, spread over the files, written every 10 ms.
        fds = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in paths]
        lines_before = metric(port, "logdiag_lines_read_total")
        written = 0
        tick = 0.01
        per_tick = a.rate * tick
        owed = 0.0
        k = 0
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        next_tick = t0
        load_delays = []
        next_probe = t0 + 3
        while time.monotonic() - t0 < a.seconds:
            owed += per_tick
            n = int(owed)
            owed -= n
            for _ in range(n):
                os.write(fds[k], cri(MESSAGES[written % len(MESSAGES)]).encode())
                k = (k + 1) % len(fds)
                written += 1
            if time.monotonic() >= next_probe and len(load_delays) < 5:
                # The probe line counts as a line written too.
                load_delays.append(delay_once(port, paths[(k + 250) % len(paths)]))
                written += 1
                next_probe = time.monotonic() + 3
            next_tick += tick
            pause = next_tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        elapsed = time.monotonic() - t0
        load_cpu = (cpu_seconds(proc.pid) - c0) / elapsed * 100
        rate = written / elapsed
        time.sleep(2)
        lines_read = metric(port, "logdiag_lines_read_total") - lines_before
        rss = peak_rss_mb(proc.pid)
        for fd in fds:
            os.close(fd)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for p in os.listdir(work):
            os.unlink(os.path.join(work, p))
        os.rmdir(work)

    def ms(xs):
        xs = [x * 1000 for x in xs if x == x]
        return "%.0f ms median, %.0f ms max (%d probes)" % (statistics.median(xs), max(xs), len(xs)) if xs else "n/a"

    print("| watch, %d files | measured |" % a.files)
    print("|---|---|")
    print("| idle CPU, every file quiet (%.0f s) | %.2f %% of one core |" % (a.idle_seconds, idle_cpu))
    print("| load: lines written | %.0f lines/s for %.0f s (%d lines) |" % (rate, elapsed, written))
    print("| load: CPU | %.1f %% of one core |" % load_cpu)
    print("| CPU per 1,000 lines/s | %.2f %% of one core |" % (load_cpu / (rate / 1000)))
    print("| peak RSS (VmHWM) | %.1f MB |" % rss)
    print("| lines read of lines written | %d of %d |" % (lines_read, written))
    print("| write to metric change in a scrape, a line after a quiet spell | %s |" % ms(idle_delays))
    print("| write to metric change in a scrape, under load | %s |" % ms(load_delays))


if __name__ == "__main__":
    main()

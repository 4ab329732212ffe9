#!/usr/bin/env python3
"""logdiag diff against logreduce (https://pypi.org/project/logreduce/) on the Corpus's real pairs.

Each pair is a healthy start-up (GOOD) and a run of the same program under an injected fault
(BAD), both recorded on a real machine (Corpus/*/real-*). For each tool: the wall time of one
run, and whether a key evidence line of the case (its expected.yaml) is among the first five
lines the tool points at: logdiag's new findings and novel templates in order (their first
evidence line each), logreduce's anomalies by distance.

    python3 scripts/diff-vs-logreduce.py [LOGDIAG]      # default .build/release/logdiag

Needs `pip install logreduce`. Prints a Markdown table and the totals.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Corpus")
LOGDIAG = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/logdiag")

HEALTHY = {
    "etcd-capnslog": "etcd/real-noise-etcd-healthy-start/etcd.log",
    "etcd-zap": "etcd/real-noise-etcd-healthy-start-zap/etcd.log",
    "containerd": "node/real-noise-containerd-healthy-start/containerd.log",
    "dockerd": "node/real-noise-dockerd-healthy-start/dockerd.log",
}


def evidence(case):
    lines = []
    with open(os.path.join(CORPUS, case, "expected.yaml")) as f:
        inside = False
        for raw in f:
            if raw.startswith("evidence:"):
                inside = True
                continue
            if inside:
                s = raw.strip()
                if not s.startswith("- "):
                    if s and not s.startswith("#"):
                        inside = False
                    continue
                item = s[2:].split("#")[0].strip()
                name, _, number = item.rpartition(":")
                lines.append((name, int(number)))
    return lines


def pairs():
    out = []
    for area in sorted(os.listdir(CORPUS)):
        adir = os.path.join(CORPUS, area)
        if not os.path.isdir(adir):
            continue
        for case in sorted(os.listdir(adir)):
            if not case.startswith("real-") or case.startswith("real-noise"):
                continue
            files = [f for f in os.listdir(os.path.join(adir, case)) if f != "expected.yaml"]
            if len(files) != 1:
                continue
            name = files[0]
            kind = {"containerd.log": "containerd", "dockerd.log": "dockerd"}.get(name)
            if name == "etcd.log":
                text = open(os.path.join(adir, case, name)).read()
                kind = "etcd-zap" if text.lstrip().startswith("{") else "etcd-capnslog"
            if kind:
                out.append((f"{area}/{case}", kind, name))
    return out


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - t, p


def logdiag_top(good, bad):
    secs, p = timed([LOGDIAG, "diff", "-o", "json", good, bad])
    doc = json.loads(p.stdout)
    pointed = []
    for f in doc["newFindings"]:
        pointed += [f["evidence"][0]["line"]] if f["evidence"] else []
    for g in doc["novel"]:
        pointed += [g["evidence"][0]["line"]] if g["evidence"] else []
    return secs, pointed[:5], [e["line"] for g in doc["novel"][:5] for e in g["evidence"]]


def logreduce_top(good, bad):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        secs, p = timed(["logreduce", "--tmp-dir", tmp, "diff", "--json", out, "-C", "0", good, bad])
        if not os.path.exists(out):  # logreduce wrote no report (it found nothing, or failed)
            last = (p.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"logreduce: {os.path.basename(os.path.dirname(bad))}: {last[:160]}", file=sys.stderr)
            return secs, []
        doc = json.load(open(out))
    scores = []
    for f in doc["files"].values():
        scores += f["scores"]
    scores.sort(key=lambda s: -s[1])
    return secs, [s[0] + 1 for s in scores[:5]]


def main():
    rows = []
    hit_ld = hit_lr = 0
    t_ld = t_lr = 0.0
    for case, kind, name in pairs():
        good = os.path.join(CORPUS, HEALTHY[kind])
        bad = os.path.join(CORPUS, case, name)
        keys = {line for f, line in evidence(case) if f == name}
        s1, top1, _ = logdiag_top(good, bad)
        s2, top2 = logreduce_top(good, bad)
        a, b = bool(keys & set(top1)), bool(keys & set(top2))
        hit_ld += a
        hit_lr += b
        t_ld += s1
        t_lr += s2
        rows.append(f"| {case} | {sorted(keys)} | {top1} | {'yes' if a else 'no'} | {s1 * 1000:.0f} | "
                    f"{top2} | {'yes' if b else 'no'} | {s2 * 1000:.0f} |")
    print("| case | key lines | logdiag diff: first 5 | key in top 5 | ms | logreduce: first 5 | key in top 5 | ms |")
    print("|---|---|---|---|---:|---|---|---:|")
    print("\n".join(rows))
    n = len(rows)
    print(f"\n{n} pairs: key line in the first five, logdiag diff {hit_ld}/{n}, logreduce {hit_lr}/{n}; "
          f"mean time per pair, logdiag {t_ld / n * 1000:.0f} ms, logreduce {t_lr / n * 1000:.0f} ms")


if __name__ == "__main__":
    main()

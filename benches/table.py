#!/usr/bin/env python3
"""Markdown tables from benches/run.sh results (one JSON object a line):
ours first, then each peer, with the ratio ours / peer (above 1: ours ahead;
for memory and CPU time, peer / ours). Batched echo rows (`--batch`) and
broadcast bursts (`--burst`) are rows of their own. After each rate table, a table of the
server's CPU time per message, user + kernel, with ratios of the user part:
the kernel's part of a loopback round trip is alike for every server. Each
figure is the median over the repeats of its case. In
brackets, the share of one core the server was busy, and the load
generator's (lg): a server below ~95% while the load generator is near 100%
was paced by the load generator, not by its own cost."""
import json
import statistics
import sys
from collections import OrderedDict

OURS = {"ws-frame", "socketio-server"}


FIELDS = ("mode", "conns", "size", "binary", "batch", "burst")


def key(r):
    return tuple(r.get(f, 1) for f in FIELDS)


def label(k):
    r = dict(zip(FIELDS, k))
    kind = "binary" if r["binary"] else "text"
    batch = f", batches of {r['batch']}" if r["batch"] > 1 else ""
    if r["mode"] == "ws-echo":
        return f"echo {r['conns']} conns, {r['size']} B {kind}{batch}"
    if r["mode"] == "sio-echo":
        return f"echo+ack {r['conns']} conns{batch}"
    if r["mode"] == "sio-broadcast":
        burst = f", bursts of {r['burst']}" if r["burst"] > 1 else ""
        return f"broadcast to {r['conns']}{burst}"
    return f"idle {r['conns']} conns"


def merged(rows):
    """One row per server and case: the median of each figure over the
    repeats (benches/run.sh REPEAT), taken figure by figure."""
    groups = OrderedDict()
    for r in rows:
        if "server_user_us" in r:
            r["busy"] = r["per_sec"] * (r["server_user_us"] + r["server_sys_us"]) / 1e4
        if "loadgen_user_us" in r:
            r["lg_busy"] = r["per_sec"] * (r["loadgen_user_us"] + r["loadgen_sys_us"]) / 1e4
        groups.setdefault((r["server"],) + key(r), []).append(r)
    out = []
    for rs in groups.values():
        m = dict(rs[0])
        for f, v in rs[0].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and f not in FIELDS:
                m[f] = statistics.median(r[f] for r in rs if f in r)
        m["repeats"] = len(rs)
        out.append(m)
    return out


def main():
    rows = merged([json.loads(l) for l in open(sys.argv[1]) if l.strip()])
    repeats = sorted({r["repeats"] for r in rows})
    print(f"Medians of {'/'.join(map(str, repeats))} measurements per cell.")
    for title, modes in (("WebSocket echo", ("ws-echo",)), ("Socket.IO", ("sio-echo", "sio-broadcast", "sio-idle"))):
        group = [r for r in rows if r["mode"] in modes]
        if not group:
            continue
        servers = list(OrderedDict.fromkeys(r["server"] for r in group))
        ours = [s for s in servers if s in OURS]
        peers = [s for s in servers if s not in OURS]
        by = {(r["server"],) + key(r): r for r in group}
        print(f"\n### {title}\n")
        head = "| case | " + " | ".join(servers) + " | " + " | ".join(f"vs {p}" for p in peers) + " |"
        print(head)
        print("|" + "---|" * (1 + len(servers) + len(peers)))
        for k in OrderedDict.fromkeys(key(r) for r in group):
            cells, mine = [], None
            idle = k[0] == "sio-idle"
            for s in servers:
                r = by.get((s,) + k)
                if r is None:
                    cells.append("-")
                    continue
                v = r["bytes_per_conn"] if idle else r["per_sec"]
                if k[0] == "sio-broadcast":
                    cells.append(f"{v:,.0f}/s (p50 {r['p50_us'] / 1000:.1f} ms)")
                elif idle:
                    cells.append(f"{v / 1024:.1f} KiB/conn")
                else:
                    cells.append(f"{v:,.0f}/s (p99 {r['p99_us']:.0f} µs)")
                if s in ours:
                    mine = v
            ratios = []
            for p in peers:
                r = by.get((p,) + k)
                theirs = None if r is None else (r["bytes_per_conn"] if idle else r["per_sec"])
                if not mine or not theirs:
                    ratios.append("-")
                else:
                    ratios.append(f"**{(theirs / mine if idle else mine / theirs):.2f}x**")
            print(f"| {label(k)} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
        cpu_rows = [k for k in OrderedDict.fromkeys(key(r) for r in group) if k[0] != "sio-idle"]
        if cpu_rows and any("server_user_us" in r for r in group):
            print(f"\n#### {title}: server CPU per message, user + kernel (µs)\n")
            print(head.replace("| vs ", "| user vs ", len(peers)))
            print("|" + "---|" * (1 + len(servers) + len(peers)))
            for k in cpu_rows:
                cells, mine = [], None
                for s in servers:
                    r = by.get((s,) + k)
                    if r is None or "server_user_us" not in r:
                        cells.append("-")
                        continue
                    lg = f", lg {r['lg_busy']:.0f}%" if "lg_busy" in r else ""
                    cells.append(f"{r['server_user_us']:.2f} + {r['server_sys_us']:.2f} ({r['busy']:.0f}%{lg})")
                    if s in ours:
                        mine = r["server_user_us"]
                ratios = []
                for p in peers:
                    r = by.get((p,) + k)
                    theirs = None if r is None else r.get("server_user_us")
                    ratios.append("-" if not mine or not theirs else f"**{theirs / mine:.2f}x**")
                print(f"| {label(k)} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Markdown tables from benches/run.sh results (one JSON object a line):
ours first, then each peer, with the ratio ours / peer (above 1: ours ahead;
for memory and CPU time, peer / ours). Batched echo rows (`--batch`) and
broadcast bursts (`--burst`) are rows of their own. After each rate table, a table of the
server's CPU time per message, user + kernel, with ratios of the user part:
the kernel's part of a loopback round trip is alike for every server. In
brackets, the share of one core the server was busy: below ~95% it waited
for the load generator or for round trips rather than setting the pace."""
import json
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


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
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
                    cells.append(f"{v:,.0f}/s (p99 {r['p99_us']} µs)")
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
                    busy = r["per_sec"] * (r["server_user_us"] + r["server_sys_us"]) / 1e4
                    cells.append(f"{r['server_user_us']:.2f} + {r['server_sys_us']:.2f} ({busy:.0f}%)")
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

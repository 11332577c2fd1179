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
was paced by the load generator, not by its own cost.

Cluster rows (two nodes on one Redis) count the CPU of both nodes, which
share one core, and add a latency table: per delivery, from the emitter's
send to a receiver on the emitter's node (local) and on the other node
(cross-node), with the median hop (cross-node p50 minus local p50) and,
for peers, peer / ours in brackets (above 1: ours sooner)."""
import json
import statistics
import sys
from collections import OrderedDict

OURS = {"ws-frame", "socketio-server", "socketio-redis", "socketio-client"}


FIELDS = ("mode", "conns", "size", "binary", "batch", "burst", "deflate", "json")
# Rows written before a field existed: its value then.
DEFAULTS = {"deflate": False, "json": False}


def key(r):
    return tuple(r.get(f, DEFAULTS.get(f, 1)) for f in FIELDS)


def label(k):
    r = dict(zip(FIELDS, k))
    kind = "binary" if r["binary"] else "JSON text" if r["json"] else "text"
    batch = f", batches of {r['batch']}" if r["batch"] > 1 else ""
    deflate = ", permessage-deflate" if r["deflate"] else ""
    if r["mode"] == "ws-echo":
        return f"echo {r['conns']} conns, {r['size']} B {kind}{batch}{deflate}"
    if r["mode"] == "sio-echo":
        return f"echo+ack {r['conns']} conns{batch}"
    burst = f", bursts of {r['burst']}" if r["burst"] > 1 else ""
    if r["mode"] == "sio-broadcast":
        return f"broadcast to {r['conns']}{burst}"
    if r["mode"] == "sio-cluster-broadcast":
        return f"broadcast to {r['conns']} over two nodes{burst}"
    second = round_two_label(r)
    if second:
        return second
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
    for title, modes in (
        ("WebSocket echo", ("ws-echo",)),
        ("Socket.IO", ("sio-echo", "sio-broadcast", "sio-idle")),
        ("Socket.IO cluster: two nodes on one Redis", ("sio-cluster-broadcast",)),
        *ROUND_TWO_SECTIONS,
    ):
        group = [r for r in rows if r["mode"] in modes and r["mode"] not in MEMORY_MODES]
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
                if k[0] in ("sio-broadcast", "sio-cluster-broadcast", "sio-poll-broadcast"):
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
        # The client rows are about the load source: its CPU, not the server's.
        user_f, sys_f, whose = ("server_user_us", "server_sys_us", "server")
        if modes == ("client-emit",):
            user_f, sys_f, whose = ("loadgen_user_us", "loadgen_sys_us", "client")
        if cpu_rows and any(user_f in r for r in group):
            print(f"\n#### {title}: {whose} CPU per message, user + kernel (µs)\n")
            print(head.replace("| vs ", "| user vs ", len(peers)))
            print("|" + "---|" * (1 + len(servers) + len(peers)))
            for k in cpu_rows:
                cells, mine = [], None
                for s in servers:
                    r = by.get((s,) + k)
                    if r is None or user_f not in r:
                        cells.append("-")
                        continue
                    lg = f", lg {r['lg_busy']:.0f}%" if "lg_busy" in r else ""
                    cells.append(f"{r[user_f]:.2f} + {r[sys_f]:.2f} ({r['busy']:.0f}%{lg})")
                    if s in ours:
                        mine = r[user_f]
                ratios = []
                for p in peers:
                    r = by.get((p,) + k)
                    theirs = None if r is None else r.get(user_f)
                    ratios.append("-" if not mine or not theirs else f"**{theirs / mine:.2f}x**")
                print(f"| {label(k)} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")

        if any("remote_p50_us" in r for r in group):
            latency_table(title, group, ours, by)
    round_two_tables(rows)


# The second round's scenarios (benches/loadgen: polling, setup,
# client_load, soak): their rate tables, and the memory tables of their own.
ROUND_TWO_SECTIONS = (
    ("Socket.IO over long-polling only", ("sio-poll-echo", "sio-poll-broadcast")),
    ("Socket.IO connection setup (polling handshake, CONNECT, upgrade, first ack)", ("sio-connect",)),
    ("WebSocket opening handshakes", ("ws-connect",)),
    ("Socket.IO client as the load source, against socketio-server", ("client-emit",)),
)
MEMORY_MODES = ("sio-cycles", "sio-soak")


def round_two_label(r):
    if r["mode"] == "sio-poll-echo":
        return f"polling echo+ack {r['conns']} conns"
    if r["mode"] == "sio-poll-broadcast":
        return f"broadcast to {r['conns']} polling clients"
    if r["mode"] == "sio-connect":
        return f"Socket.IO connects, {r['conns']} at once"
    if r["mode"] == "ws-connect":
        return f"WebSocket handshakes, {r['conns']} at once"
    if r["mode"] == "client-emit":
        return f"emit+ack over {r['conns']} socket{'s' if r['conns'] > 1 else ''}"
    if r["mode"] == "sio-cycles":
        return f"connect/disconnect cycles, {r['conns']} at once"
    if r["mode"] == "sio-soak":
        return f"{r['conns']:,} idle conns, a broadcast a second"
    return None


def round_two_tables(rows):
    """The client's memory per socket, and the server's RSS over connect
    cycles and over the soak."""
    client = [r for r in rows if r["mode"] == "client-emit" and "client_bytes_per_conn" in r]
    if client:
        print("\n#### Socket.IO client: memory per socket (RSS growth over connecting / sockets)\n")
        print("| sockets | " + " | ".join(OrderedDict.fromkeys(r["server"] for r in client)) + " |")
        servers = list(OrderedDict.fromkeys(r["server"] for r in client))
        print("|" + "---|" * (1 + len(servers)))
        for conns in sorted({r["conns"] for r in client}):
            cells = []
            for s in servers:
                r = next((r for r in client if r["server"] == s and r["conns"] == conns), None)
                if r is None:
                    cells.append("-")
                    continue
                cell = f"{r['client_bytes_per_conn'] / 1024:.1f} KiB"
                if "client_marginal_bytes_per_conn" in r:
                    cell += f" ({r['client_marginal_bytes_per_conn'] / 1024:.1f} KiB each past the first)"
                cells.append(cell)
            print(f"| {conns} | " + " | ".join(cells) + " |")
    cycles = [r for r in rows if r["mode"] == "sio-cycles"]
    if cycles:
        print("\n#### Connect/disconnect cycles: server RSS (target: end within 5% of warm)\n")
        print("| case | server | cycles | cycles/s | fresh | after warm-up | end | end vs warm |")
        print("|---|---|---|---|---|---|---|---|")
        for r in cycles:
            print(f"| {label(key(r))} | {r['server']} | {r['count']:,.0f} | {r['per_sec']:,.0f}"
                  f" | {r['rss_fresh_kib'] / 1024:.1f} MiB"
                  f" | {r['rss_warm_kib'] / 1024:.1f} MiB | {r['rss_end_kib'] / 1024:.1f} MiB"
                  f" | **{r['growth_pct']:+.1f}%** |")
    soak = [r for r in rows if r["mode"] == "sio-soak"]
    if soak:
        print("\n#### Memory soak: server RSS (flat: last window within 5% of the first)\n")
        print("| case | server | minutes | delivered / expected | round p99 | RSS first window | RSS last window | change | flat |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in soak:
            print(f"| {label(key(r))} | {r['server']} | {r['minutes']:g} | {r['delivered']:,.0f} / {r['expected']:,.0f}"
                  f" | {r['p99_us'] / 1000:.1f} ms | {r['rss_first_kib'] / 1024:.1f} MiB"
                  f" | {r['rss_last_kib'] / 1024:.1f} MiB | **{r['growth_pct']:+.1f}%** | {'yes' if r['flat'] else 'no'} |")


def latency_table(title, group, ours, by):
    """Local and cross-node latency per delivery, one row per server."""
    print(f"\n#### {title}: latency per delivery, local and cross-node (ms)\n")
    print("| case | server | local p50 | local p99 | cross-node p50 | cross-node p99 | hop (p50) |")
    print("|---|---|---|---|---|---|---|")
    fields = ("local_p50_us", "local_p99_us", "remote_p50_us", "remote_p99_us")
    for k in OrderedDict.fromkeys(key(r) for r in group):
        mine = next((by.get((s,) + k) for s in ours if (s,) + k in by), None)
        for r in (r for r in group if key(r) == k):
            cells = []
            for f in fields:
                cell = f"{r[f] / 1000:.1f}"
                if mine is not None and r is not mine and mine[f]:
                    cell += f" (**{r[f] / mine[f]:.2f}x**)"
                cells.append(cell)
            cells.append(f"{r['hop_p50_us'] / 1000:+.1f}")
            print(f"| {label(k)} | {r['server']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

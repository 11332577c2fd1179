#!/usr/bin/env python3
"""PNG charts from benches/run.sh results, the rows benches/table.py reads
(medians over the repeats, as the table takes them).

usage: charts.py results.jsonl OUT_DIR

One figure per section of the table, `<section>.png`: a row per case, and in
it three panels with one bar per server: throughput (messages, deliveries,
connects or emits per second), p99 latency, and CPU time per message split
into user and kernel (the server's; for the client section, the client's).
Besides: `memory.png`, the client's memory per socket, the server's RSS over
connect/disconnect cycles, and the soak's RSS over time, when those ran.

Ours are drawn in one colour family, each peer in its own grey-free colour;
a server keeps its colour in every figure."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table import MEMORY_MODES, OURS, ROUND_TWO_SECTIONS, key, label, merged  # noqa: E402

SECTIONS = (
    ("ws-echo", "WebSocket echo", ("ws-echo",)),
    ("socketio", "Socket.IO", ("sio-echo", "sio-broadcast")),
    ("cluster", "Socket.IO, two nodes on one Redis", ("sio-cluster-broadcast",)),
    ("polling", *ROUND_TWO_SECTIONS[0]),
    ("sio-connect", *ROUND_TWO_SECTIONS[1]),
    ("ws-connect", *ROUND_TWO_SECTIONS[2]),
    ("client", *ROUND_TWO_SECTIONS[3]),
)
OUR_COLOURS = ["#d95f02", "#e6ab02", "#a6761d"]
PEER_COLOURS = ["#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#386cb0", "#17becf"]


def colours(rows):
    """A colour per server, fixed for the whole run."""
    out, ours, peers = {}, 0, 0
    for r in rows:
        s = r["server"]
        if s in out:
            continue
        if s in OURS:
            out[s] = OUR_COLOURS[ours % len(OUR_COLOURS)]
            ours += 1
        else:
            out[s] = PEER_COLOURS[peers % len(PEER_COLOURS)]
            peers += 1
    return out


def bars(ax, servers, values, colour, fmt):
    xs = range(len(servers))
    drawn = ax.bar(xs, [v or 0 for v in values], color=[colour[s] for s in servers])
    for b, v in zip(drawn, values):
        if v is not None:
            ax.annotate(fmt(v), (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(servers, rotation=20, ha="right", fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.margins(y=0.15)


def section_chart(name, title, modes, rows, colour, out_dir):
    group = [r for r in rows if r["mode"] in modes and r["mode"] not in MEMORY_MODES]
    if not group:
        return None
    cases = list(dict.fromkeys(key(r) for r in group))
    client = modes == ("client-emit",)
    user_f, sys_f = ("loadgen_user_us", "loadgen_sys_us") if client else ("server_user_us", "server_sys_us")
    fig, axes = plt.subplots(len(cases), 3, figsize=(13, 2.6 * len(cases)), squeeze=False)
    for row, k in enumerate(cases):
        rs = [r for r in group if key(r) == k]
        servers = [r["server"] for r in rs]
        a_rate, a_p99, a_cpu = axes[row]
        bars(a_rate, servers, [r["per_sec"] for r in rs], colour, lambda v: f"{v:,.0f}")
        a_rate.set_ylabel(label(k), fontsize=8, rotation=0, ha="right", va="center", wrap=True)
        bars(a_p99, servers, [r["p99_us"] / 1000 for r in rs], colour, lambda v: f"{v:.2f}")
        user = [r.get(user_f) for r in rs]
        kernel = [r.get(sys_f) for r in rs]
        total = [None if u is None else u + (s or 0) for u, s in zip(user, kernel)]
        bars(a_cpu, servers, total, colour, lambda v: f"{v:.1f}")
        # The kernel's share, hatched over the bar's lower part.
        a_cpu.bar(range(len(servers)), [s or 0 for s in kernel], fill=False, hatch="///",
                  edgecolor="black", linewidth=0)
        if row == 0:
            a_rate.set_title("per second (higher is better)", fontsize=9)
            a_p99.set_title("p99 latency, ms (lower is better)", fontsize=9)
            who = "client" if client else "server"
            a_cpu.set_title(f"{who} CPU per message, µs (hatched: kernel)", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = os.path.join(out_dir, f"{name}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def memory_chart(rows, colour, out_dir):
    client = [r for r in rows if r["mode"] == "client-emit" and "client_bytes_per_conn" in r]
    cycles = [r for r in rows if r["mode"] == "sio-cycles"]
    soak = [r for r in rows if r["mode"] == "sio-soak"]
    panels = [p for p in (client, cycles, soak) if p]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    axes = list(axes[0])
    if client:
        ax = axes.pop(0)
        # The most sockets measured: the figure least moved by noise.
        most = max(r["conns"] for r in client)
        rs = [r for r in client if r["conns"] == most]
        # Past the first socket where measured: the first carries the
        # runtime's one-time growth.
        field = "client_marginal_bytes_per_conn" if all(
            "client_marginal_bytes_per_conn" in r for r in rs) else "client_bytes_per_conn"
        bars(ax, [r["server"] for r in rs], [r[field] / 1024 for r in rs], colour, lambda v: f"{v:.1f}")
        past = ", each past the first" if field.startswith("client_marginal") else ""
        ax.set_title(f"client memory per socket, KiB ({most} sockets{past})", fontsize=9)
    if cycles:
        ax = axes.pop(0)
        r = cycles[0]
        names = ["fresh", "after warm-up", f"after {r['count']:,.0f} cycles"]
        vals = [r["rss_fresh_kib"] / 1024, r["rss_warm_kib"] / 1024, r["rss_end_kib"] / 1024]
        drawn = ax.bar(names, vals, color=colour[r["server"]])
        for b, v in zip(drawn, vals):
            ax.annotate(f"{v:.1f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7)
        ax.set_title(f"{r['server']} RSS over connect/disconnect cycles, MiB ({r['growth_pct']:+.1f}%)",
                     fontsize=9)
        ax.tick_params(labelsize=7)
    if soak:
        ax = axes.pop(0)
        for r in soak:
            xs = [t / 60 for t, _ in r["rss_samples"]]
            ys = [k / 1024 for _, k in r["rss_samples"]]
            ax.plot(xs, ys, marker=".", color=colour[r["server"]], label=r["server"])
        r = soak[0]
        ax.set_ylim(bottom=0)
        ax.set_xlabel("minutes", fontsize=8)
        ax.set_title(f"RSS, MiB: {r['conns']:,} idle conns, a broadcast a second ({r['growth_pct']:+.1f}%)",
                     fontsize=9)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    path = os.path.join(out_dir, "memory.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    rows = merged([json.loads(line) for line in open(sys.argv[1]) if line.strip()])
    out_dir = sys.argv[2]
    colour = colours(rows)
    made = [section_chart(name, title, modes, rows, colour, out_dir) for name, title, modes in SECTIONS]
    made.append(memory_chart(rows, colour, out_dir))
    for path in filter(None, made):
        print(f"chart: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

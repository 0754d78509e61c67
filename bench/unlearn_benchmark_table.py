#!/usr/bin/env python3
"""The unlearning benchmark's tables and plots (docs/benchmark.md), from bench/unlearn_benchmark.sh's output.

  unlearn_benchmark_table.py stream-requests DATA_DIR N SEED OUT_DIR
      N single-user request files (distinct users with training rows, drawn with SEED) and OUT_DIR/list.txt
  unlearn_benchmark_table.py table OUT --model M --data D --shards K --seeds S.. --kinds C.. --methods M..
                                   [--stream-methods M..] [--extra-shards K..] [--plots DIR]
      OUT/leaderboard.md and OUT/leaderboard.json (mean and sample standard deviation over the seeds of every
      cell, MMRecUn's forget curve per cell on the first seed), and PNG plots in DIR (default OUT/plots) when
      python3-matplotlib is installed.
  unlearn_benchmark_table.py plots LEADERBOARD_JSON --plots DIR
      the same plots from a leaderboard.json alone (every plot is drawn from the JSON, none from the runs)
"""
import argparse
import glob
import json
import math
import os
import random
import statistics
import sys

METRICS = [  # (leaderboard key, audit row key, header)
    ("retain_recall@20", "retain_recall@20", "retain R@20"),
    ("retain_ndcg@20", "retain_ndcg@20", "retain N@20"),
    ("forget_recall@20", "forget_recall@20", "forget R@20"),
    ("mia", "mia_balanced_accuracy", "MIA"),
    ("jaccard@20_vs_gold", "jaccard@20_vs_gold", "Jaccard@20 vs gold"),
    ("relitems@20", "relitems@20", "RelItems@20"),
    ("fairness_gap", None, "fairness gap"),
    ("time_s", "time_s", "time (s)"),
    ("speedup_vs_gold", None, "speed-up"),
]


def stream_requests(data, n, seed, out):
    inter = glob.glob(os.path.join(data, "*.inter"))
    if len(inter) != 1:
        sys.exit(f"{data}: expected one .inter file, found {len(inter)}")
    users = set()
    with open(inter[0]) as f:
        head = f.readline().rstrip("\n").split("\t")
        ui, li = head.index("userID"), head.index("x_label")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if cols[li] == "0":
                users.add(int(cols[ui]))
    chosen = random.Random(seed).sample(sorted(users), n)
    os.makedirs(out, exist_ok=True)
    names = []
    for k, u in enumerate(chosen):
        name = f"{k + 1:03d}-user-{u}.tsv"
        with open(os.path.join(out, name), "w") as f:
            f.write(f"userID\n{u}\n")
        names.append(name)
    with open(os.path.join(out, "list.txt"), "w") as f:
        f.write("# single-user requests, applied in order\n" + "\n".join(names) + "\n")


def load(path):
    with open(path) as f:
        return json.load(f)


def mean_std(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not xs:
        return None
    return {"mean": statistics.fmean(xs), "std": statistics.stdev(xs) if len(xs) > 1 else 0.0, "n": len(xs)}


def fmt(ms, digits=4):
    if ms is None:
        return "–"
    if ms["n"] == 1:
        return f"{ms['mean']:.{digits}f}"
    return f"{ms['mean']:.{digits}f} ± {ms['std']:.{digits}f}"


def cell_rows(out, seed, cell, methods):
    """method -> {metric: value} for one seed and request cell."""
    rows = {}
    main = os.path.join(out, f"audit-s{seed}-{cell}", "report.json")
    gold_time = None
    if os.path.exists(main):
        for r in load(main)["rows"]:
            rows[r["model"]] = r
            if r["model"] == "gold":
                gold_time = r.get("time_s")
    sisa = os.path.join(out, f"audit-sisa-s{seed}-{cell}", "report.json")
    if "sisa" in methods and os.path.exists(sisa):
        for r in load(sisa)["rows"]:
            if r["model"] == "sisa":
                r = dict(r)
                if r.get("speedup_vs_gold") is None:  # audited without the gold: the main audit's gold time
                    r["speedup_vs_gold"] = gold_time / r["time_s"] if gold_time and r.get("time_s") else None
                rows["sisa"] = r
    out_rows = {}
    for m in methods:
        if m not in rows:
            continue
        r = rows[m]
        v = {}
        for key, src, _ in METRICS:
            if key == "fairness_gap":
                v[key] = (r.get("fairness") or {}).get("gap")
            elif key == "speedup_vs_gold":
                v[key] = 1.0 if m == "gold" else (None if m == "original" else r.get("speedup_vs_gold"))
            else:
                v[key] = r.get(src)
        out_rows[m] = v
    return out_rows


def percentile(xs, q):
    s = sorted(xs)
    if not s:
        return None
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def stream_summary(out, m):
    steps = sorted(glob.glob(os.path.join(out, f"stream-{m}", "step-*")))
    lat = []
    for d in steps:
        if os.path.exists(os.path.join(d, "run.json")):
            lat.append(load(os.path.join(d, "run.json"))["summary"]["unlearning"]["time_s"])
    if not lat:
        return None
    metrics = load(os.path.join(steps[-1], "metrics.json"))["metrics"]
    return {"requests": len(lat), "latency_s": lat, "median_s": statistics.median(lat), "p95_s": percentile(lat, 0.95),
            "total_s": sum(lat), "test_recall@20_after": metrics["Recall@20"], "test_ndcg@20_after": metrics["NDCG@20"]}


def original_summary(run):
    if not os.path.exists(os.path.join(run, "run.json")):
        return None
    info = load(os.path.join(run, "run.json"))
    metrics = load(os.path.join(run, "metrics.json"))["metrics"]
    s = info["summary"]
    return {"test_recall@20": metrics["Recall@20"], "test_ndcg@20": metrics["NDCG@20"],
            "train_s": s.get("train_seconds", 0.0) + s.get("eval_seconds", 0.0), "epochs": s.get("epochs_run")}


def forget_curve(out, seed, cell, rows):
    """MMRecUn's forget Recall@20 after each unlearning epoch (seed `seed`), with gold's and the original's level
    from `rows`, that seed's cell_rows."""
    log = os.path.join(out, f"mmrecun-s{seed}-{cell}", "unlearn_log.jsonl")
    rec = [json.loads(line) for line in open(log) if line.strip()] if os.path.exists(log) else []
    rec = [r for r in rec if r.get("forget_recall@20", -1) >= 0]
    if not rec and not ("original" in rows or "gold" in rows):
        return None
    level = {m: rows[m]["forget_recall@20"] if m in rows else None for m in ("gold", "original")}
    return {"seed": seed, "epoch": [r["epoch"] + 1 for r in rec], "forget_recall@20": [r["forget_recall@20"] for r in rec],
            "gold": level["gold"], "original": level["original"]}


def table(a):
    out = a.out
    board = {"model": a.model, "data": a.data, "seeds": a.seeds, "shards": a.shards, "cells": {}, "cell_seeds": {},
             "method_seeds": {}, "curves": {}, "stream": {}, "sharding": {}}
    a.methods = ["original"] + [m for m in a.methods if m != "original"]
    for cell in a.kinds:
        per = {}
        for s in a.seeds:
            rows = cell_rows(out, s, cell, a.methods)
            if s == a.seeds[0]:
                first_rows = rows
            if "original" in rows:  # seeds whose main audit of this cell exists (a run stopped part-way has fewer)
                board["cell_seeds"].setdefault(cell, []).append(s)
            for m, v in rows.items():
                per.setdefault(m, []).append(v)
                board["method_seeds"].setdefault(cell, {}).setdefault(m, []).append(s)
        board["cells"][cell] = {m: {key: mean_std([v[key] for v in vs]) for key, _, _ in METRICS} for m, vs in per.items()}
        curve = forget_curve(out, a.seeds[0], cell, first_rows)
        if curve:
            board["curves"][cell] = curve
    for m in a.stream_methods or []:
        st = stream_summary(out, m)
        if st:
            board["stream"][m] = st
    for k in ["1", str(a.shards)] + (a.extra_shards or []):
        name = k.replace(":", "-")
        o = original_summary(os.path.join(out, f"original-s{a.seeds[0]}-k{name}"))
        if o:
            o["combiner"] = k.split(":")[1] if ":" in k else ("own" if k != "1" else "–")
            board["sharding"][k.split(":")[0] + (" (" + k.split(":")[1] + ")" if ":" in k else "")] = o
    with open(os.path.join(out, "leaderboard.json"), "w") as f:
        json.dump(board, f, indent=1)

    lines = [f"# Unlearning leaderboard: {a.model} on {os.path.basename(a.data.rstrip('/'))}", "",
             f"Mean ± sample standard deviation over seeds {' '.join(map(str, a.seeds))} (original, request and method "
             "seeded alike). " +
             (f"sisa unlearns a {a.shards}-shard original trained with the same seed; its MIA attack is trained on "
              "that original, its agreement is with the same gold as every other method. " if "sisa" in a.methods else "") +
             ("mmrecun-gate: mmrecun with the ranking gate (--rank-gate). " if "mmrecun-gate" in a.methods else "") +
             "original: the model before the request (time: its training).", ""]
    for cell, per in board["cells"].items():
        lines += [f"## {cell}", ""]
        found = board["cell_seeds"].get(cell, [])
        if not per:
            lines += ["No seed's audit of this cell finished.", ""]
            continue
        if len(found) < len(a.seeds):
            lines += [f"Only seed(s) {' '.join(map(str, found))} finished this cell.", ""]
        lines += ["| method | " + " | ".join(h for _, _, h in METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
        for m in a.methods:
            if m in per:
                digits = {"time_s": 2, "speedup_vs_gold": 1, "relitems@20": 1}
                lines.append(f"| {m} | " + " | ".join(fmt(per[m][k], digits.get(k, 4)) for k, _, _ in METRICS) + " |")
        lines.append("")
        # A method that ran on fewer of the cell's seeds than the others (added to a finished block later) says so:
        # its row is a mean over those seeds alone (one seed: no ±).
        fewer = [(m, ms) for m, ms in board["method_seeds"].get(cell, {}).items() if m != "original" and len(ms) < len(found)]
        for m, ms in fewer:
            lines += [f"{m}: seed(s) {' '.join(map(str, ms))} only.", ""]
    if board["stream"]:
        lines += [f"## Sequential stream ({next(iter(board['stream'].values()))['requests']} single-user requests)", "",
                  "| method | median latency (s) | p95 latency (s) | total (s) | test R@20 after | test N@20 after |",
                  "|---|---|---|---|---|---|"]
        for m, st in board["stream"].items():
            lines.append(f"| {m} | {st['median_s']:.2f} | {st['p95_s']:.2f} | {st['total_s']:.1f} | "
                         f"{st['test_recall@20_after']:.4f} | {st['test_ndcg@20_after']:.4f} |")
        lines.append("")
    if board["sharding"]:
        lines += ["## Cost of sharding (original runs, first seed)", "",
                  "| shards | test R@20 | test N@20 | training + evaluation (s) |", "|---|---|---|---|"]
        for k, o in board["sharding"].items():
            lines.append(f"| {k} | {o['test_recall@20']:.4f} | {o['test_ndcg@20']:.4f} | {o['train_s']:.1f} |")
        lines.append("")
    with open(os.path.join(out, "leaderboard.md"), "w") as f:
        f.write("\n".join(lines))
    plots(board, a.plots or os.path.join(out, "plots"))


def plots(board, pdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plots skipped: python3-matplotlib is not installed", file=sys.stderr)
        return
    os.makedirs(pdir, exist_ok=True)
    # 1. Retain vs forget recall per method, one panel per request cell.
    cells = list(board["cells"])
    fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 3.8), squeeze=False)
    for ax, cell in zip(axes[0], cells):
        for m, v in board["cells"][cell].items():
            if m == "original":
                continue
            r, f = v["retain_recall@20"], v["forget_recall@20"]
            if r and f:
                ax.errorbar(f["mean"], r["mean"], xerr=f["std"], yerr=r["std"], fmt="o", capsize=3, label=m)
        ax.set_title(cell)
        ax.set_xlabel("forget Recall@20 (target: gold's level)")
        ax.set_ylabel("retain Recall@20")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(pdir, "tradeoff.png"), dpi=110)
    plt.close(fig)
    # 2. Forget Recall@20 per MMRecUn epoch against gold's level (first seed).
    fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 3.4), squeeze=False)
    for ax, cell in zip(axes[0], cells):
        curve = board.get("curves", {}).get(cell) or {}
        s = curve.get("seed", board["seeds"][0])
        if curve.get("epoch"):
            ax.plot(curve["epoch"], curve["forget_recall@20"], "o-", label="mmrecun")
        for name, style in (("gold", "--"), ("original", ":")):
            if curve.get(name) is not None:
                ax.axhline(curve[name], linestyle=style, color="gray", label=name)
        ax.set_title(f"{cell} (seed {s})")
        ax.set_xlabel("unlearning epoch")
        ax.set_ylabel("forget Recall@20")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(pdir, "forget_per_epoch.png"), dpi=110)
    plt.close(fig)
    # 3. Latency per request in the stream.
    if board["stream"]:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        for m, st in board["stream"].items():
            ax.plot(range(1, len(st["latency_s"]) + 1), st["latency_s"], "o-", markersize=3, label=m)
        ax.set_yscale("log")
        ax.set_xlabel("request in the stream")
        ax.set_ylabel("latency (s, log scale)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(pdir, "stream_latency.png"), dpi=110)
        plt.close(fig)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "stream-requests":
        if len(sys.argv) != 6:
            sys.exit(__doc__)
        stream_requests(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "plots":
        if len(sys.argv) != 5 or sys.argv[3] != "--plots":
            sys.exit(__doc__)
        plots(load(sys.argv[2]), sys.argv[4])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["table"])
    p.add_argument("out")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--shards", type=int, required=True)
    p.add_argument("--seeds", type=int, nargs="+", required=True)
    p.add_argument("--kinds", nargs="+", required=True)
    p.add_argument("--methods", nargs="+", required=True)
    p.add_argument("--stream-methods", nargs="*")
    p.add_argument("--extra-shards", nargs="*")
    p.add_argument("--plots")
    table(p.parse_args())


if __name__ == "__main__":
    main()

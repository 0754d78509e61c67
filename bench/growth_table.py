#!/usr/bin/env python3
"""Growth table of bench/growth.sh: one column per data size, one row per phase, and the growth exponent b of
each phase's seconds and memory in cost ~ size^b (least squares on log-log over the sizes; size = the number
of items, which grows with users and interactions in proportion). docs/scaling.md, "How cost grows"."""
import json
import math
import sys


def fit_exponent(xs, ys):
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx > 0 else float("nan")


def main(paths):
    runs = sorted((json.load(open(p)) for p in paths), key=lambda r: r["items"])
    items = [r["items"] for r in runs]
    head = " | ".join(f"{r['users']} U / {r['items']} I / {r['train_rows']} rows" for r in runs)
    print(f"| phase | {head} | time exponent | memory exponent |")
    print("|---" * (len(runs) + 3) + "|")
    for name in runs[0]["phases"]:
        secs = [r["phases"][name]["seconds"] for r in runs]
        extra = [max(r["phases"][name]["extra_mib"], 0.0) for r in runs]
        cells = " | ".join(f"{s:.3f} s, +{m:.0f} MiB" for s, m in zip(secs, extra))
        # Memory below 8 MiB is allocator noise: no exponent from it.
        mem = fit_exponent([i for i, m in zip(items, extra) if m >= 8], [m for m in extra if m >= 8])
        mem_s = "-" if math.isnan(mem) else f"{mem:.2f}"
        print(f"| {name} | {cells} | {fit_exponent(items, secs):.2f} | {mem_s} |")
    peaks = " | ".join(f"{max(p['peak_mib'] for p in r['phases'].values()):.0f} MiB" for r in runs)
    whole = [max(p["peak_mib"] for p in r["phases"].values()) for r in runs]
    print(f"| peak RSS of the process | {peaks} | | {fit_exponent(items, whole):.2f} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: growth_table.py phases-*.json")
    main(sys.argv[1:])

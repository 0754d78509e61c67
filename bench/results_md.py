#!/usr/bin/python3
"""Markdown tables for bench/RESULTS.md from the JSON that bench/reproduce.sh leaves in build/bench/results/:
e2e*.json (lethe bench: each figure beside its floor, against the project's targets) and
side_by_side/{lethe,pytorch}_<model>.json.

    /usr/bin/python3 bench/results_md.py build/bench/results
"""
import json
import os
import sys

# The project's CPU targets, as ratios measured in one run (lethe bench prints each figure beside its floor:
# counted GEMM FLOPs at the measured GEMM rate + compulsory bytes at the measured copy bandwidth).
TARGET_FLOOR = {"lightgcn": 3.0, "mgcn": 1.3}  # train epoch / its own floor
TARGET_FREEDOM_VS_DENSE_FLOOR = 0.75         # FREEDOM epoch / the floor of its dense projection
TARGET_EVAL_FLOOR = 1.5
TARGET_BUSY = 1.3
TARGET_MGCN_PEAK_STATE = 1.5


def verdict(x, target):
    return f"{x:.2f}x (<= {target}x: {'met' if x <= target else 'missed'})"


def e2e(path):
    j = json.load(open(path))
    mc = j["machine"]
    print(f"Data: {j['data']} ({j['users']} users, {j['items']} items, {j['train_rows']} train rows), "
          f"{j['epochs']} epochs per model, device {j['device']}{', busy/quiet interleaved' if j.get('busy') else ''}.")
    per_cpu = (f"; per process CPU second: GEMM {mc['gemm_gflop_per_cpu_s']:.1f} GFLOP, copy {mc['copy_gb_per_cpu_s']:.1f} GB"
               if "gemm_gflop_per_cpu_s" in mc else "")
    print(f"Machine (same run): GEMM {mc['gemm_gflops']:.1f} GFLOP/s (projection shape {mc['gemm_projection_gflops']:.1f}, "
          f"square {mc['gemm_square_gflops']:.1f}); copy {mc['copy_gbs']:.1f} GB/s{per_cpu}. "
          f"Threads: {j.get('threading', '?')}.\n")
    dense_floor = {m["model"].split("/")[0]: m["train_floor_seconds"] for m in j["models"]
                   if "feature_projection=dense" in m["model"]}
    print("| model | train s/epoch | floor s | time / floor | target | valid eval s | floor s | time / floor | "
          "busy / quiet train | busy / quiet eval | peak MiB | state MiB | peak / state | GEMM GFLOP / epoch | "
          "compulsory GB / epoch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for m in j["models"]:
        base = m["model"].split("/")[0]
        tr, fl = m["train_seconds_median"], m["train_floor_seconds"]
        if base == "freedom" and "dense" not in m["model"] and base in dense_floor:
            target = "vs dense floor " + verdict(tr / dense_floor[base], TARGET_FREEDOM_VS_DENSE_FLOOR)
        elif base in TARGET_FLOOR and "dense" not in m["model"]:
            target = verdict(tr / fl, TARGET_FLOOR[base])
        else:
            target = "-"
        busy_t = verdict(m["busy_train_ratio"], TARGET_BUSY) if "busy_train_ratio" in m else "-"
        busy_e = f"{m['busy_eval_ratio']:.2f}x" if "busy_eval_ratio" in m else "-"
        peak = m["peak_vs_state"]
        # state = parameters + Adam moments + feature tables; the graphs (a few MiB) are left out, so the check
        # is slightly stricter than the target's "+ graphs".
        peak_s = verdict(peak, TARGET_MGCN_PEAK_STATE) if base == "mgcn" else f"{peak:.2f}x"
        print(f"| {m['model']} | {tr:.3f} | {fl:.3f} | {tr / fl:.2f}x | {target} | {m['eval_seconds_median']:.3f} | "
              f"{m['eval_floor_seconds']:.3f} | {verdict(m['eval_vs_floor'], TARGET_EVAL_FLOOR)} | {busy_t} | {busy_e} | "
              f"{m['peak_rss_mib']:.0f} | {m['state_mib']:.0f} | {peak_s} | {m['train_gemm_gflop_per_epoch']:.1f} | "
              f"{m['train_compulsory_gb_per_epoch']:.2f} |")
    by_name = {m["model"]: m for m in j["models"]}
    if "freedom" in by_name and "mgcn" in by_name:
        f, g = by_name["freedom"], by_name["mgcn"]
        print(f"\nMGCN epoch / FREEDOM epoch (same run): {g['train_seconds_median'] / f['train_seconds_median']:.2f}x; "
              f"their floors: {g['train_floor_seconds'] / f['train_floor_seconds']:.2f}x.")
    if all("train_cpu_vs_floor" in m for m in j["models"]):
        # The same work in process CPU seconds: what the ratios are with every core given to the process.
        dense_cpu_floor = {m["model"].split("/")[0]: m["train_cpu_floor_seconds"] for m in j["models"]
                           if "feature_projection=dense" in m["model"]}
        print("\nIn process CPU seconds (yardsticks timed the same way; `cores` = CPU s / wall s of the quiet "
              "training epochs):\n")
        print("| model | cores | train CPU s/epoch | CPU floor s | CPU ratio | target | eval CPU s | eval CPU floor s | "
              "eval CPU ratio |")
        print("|---|---|---|---|---|---|---|---|---|")
        for m in j["models"]:
            base = m["model"].split("/")[0]
            tc, cf = m["train_cpu_seconds_median"], m["train_cpu_floor_seconds"]
            if base == "freedom" and "dense" not in m["model"] and base in dense_cpu_floor:
                target = "vs dense CPU floor " + verdict(tc / dense_cpu_floor[base], TARGET_FREEDOM_VS_DENSE_FLOOR)
            elif base in TARGET_FLOOR and "dense" not in m["model"]:
                target = verdict(m["train_cpu_vs_floor"], TARGET_FLOOR[base])
            else:
                target = "-"
            print(f"| {m['model']} | {m['train_cores']:.2f} | {tc:.3f} | {cf:.3f} | {m['train_cpu_vs_floor']:.2f}x | "
                  f"{target} | {m['eval_cpu_seconds']:.3f} | {m['eval_cpu_floor_seconds']:.3f} | "
                  f"{verdict(m['eval_cpu_vs_floor'], TARGET_EVAL_FLOOR)} |")
    if any("unlearning" in m for m in j["models"]):
        print("\n| model | request | forget rows | MMRecUn epochs | MMRecUn s | gold epochs | gold s | speed-up |")
        print("|---|---|---|---|---|---|---|---|")
        for m in j["models"]:
            u = m.get("unlearning")
            if u:
                print(f"| {m['model']} | {u['request']} | {u['forget_rows']} | {u['mmrecun_epochs']} | "
                      f"{u['mmrecun_seconds']:.2f} | {u['gold_epochs']} | {u['gold_seconds']:.2f} | {u['speedup']:.1f}x |")


def side(path):
    print("| model | Lethe train s/epoch | PyTorch train s/epoch | speed ratio | Lethe eval s | PyTorch eval s | "
          "ratio | Lethe R@20 | PyTorch R@20 | Lethe peak MiB | PyTorch peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for f in sorted(os.listdir(path)):
        if not (f.startswith("lethe_") and f.endswith(".json")):
            continue
        m = f[len("lethe_"):-len(".json")]
        p = os.path.join(path, f"pytorch_{m}.json")
        if not os.path.exists(p):
            continue
        L = json.load(open(os.path.join(path, f)))["models"][0]
        P = json.load(open(p))
        print(f"| {m} | {L['train_seconds_median']:.2f} | {P['train_seconds_median']:.2f} | "
              f"{P['train_seconds_median'] / L['train_seconds_median']:.1f}x | {L['eval_seconds_median']:.2f} | "
              f"{P['eval_seconds_median']:.2f} | {P['eval_seconds_median'] / L['eval_seconds_median']:.1f}x | "
              f"{L['valid_recall20_last']:.4f} | {P['valid_recall20_last']:.4f} | {L['peak_rss_mib']:.0f} | "
              f"{P['peak_rss_mib']:.0f} |")


def main():
    res = sys.argv[1] if len(sys.argv) > 1 else "build/bench/results"
    for f in sorted(os.listdir(res)) if os.path.isdir(res) else []:
        if (f.startswith("e2e") or f.startswith("unlearn")) and f.endswith(".json"):
            print(f"### End to end (lethe bench, {f})\n")
            e2e(os.path.join(res, f))
            print()
    if os.path.isdir(os.path.join(res, "side_by_side")):
        print("### Side by side with PyTorch\n")
        side(os.path.join(res, "side_by_side"))


if __name__ == "__main__":
    main()

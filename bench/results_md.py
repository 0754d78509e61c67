#!/usr/bin/python3
"""Markdown tables for bench/RESULTS.md from the JSON that bench/reproduce.sh leaves in build/bench/results/:
e2e.json (lethe bench) against the project's targets, and side_by_side/{lethe,pytorch}_<model>.json.

    /usr/bin/python3 bench/results_md.py build/bench/results
"""
import json
import os
import sys

TARGET_TRAIN = {"lightgcn": 1.7, "freedom": 9.0, "mgcn": 13.0}  # s per epoch, the project's targets
TARGET_EVAL = 1.0
PEER_TRAIN = {"lightgcn": 16.7, "freedom": 45.8, "mgcn": 65.0}  # MMRec on the same machine, section 1


def met(x, target):
    return "met" if x <= target else f"not met ({x / target:.1f}x over)"


def e2e(path):
    j = json.load(open(path))
    print(f"Data: {j['data']} ({j['users']} users, {j['items']} items, {j['train_rows']} train rows), "
          f"{j['epochs']} epochs per model, device {j['device']}.\n")
    print("| model | train s/epoch (median) | per epoch | target | valid eval s (median) | target 1 s | peak RSS MiB | "
          "params MiB | valid R@20 after last epoch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in j["models"]:
        name = m["model"] + (f" ({m['config'].get('n_layers')} layers)" if m["model"] == "lightgcn" else "")
        tr, ev = m["train_seconds_median"], m["eval_seconds_median"]
        t = TARGET_TRAIN.get(m["model"])
        print(f"| {name} | {tr:.2f} | {', '.join(f'{x:.2f}' for x in m['train_seconds'])} | "
              f"{'-' if t is None else f'<= {t} s: ' + met(tr, t)} | {ev:.2f} | {met(ev, TARGET_EVAL)} | "
              f"{m['peak_rss_mib']:.0f} | {m['parameter_mib']:.1f} | {m['valid_recall20_last']:.4f} |")
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
    if os.path.exists(os.path.join(res, "e2e.json")):
        print("### End to end (lethe bench)\n")
        e2e(os.path.join(res, "e2e.json"))
        print()
    if os.path.isdir(os.path.join(res, "side_by_side")):
        print("### Side by side with PyTorch\n")
        side(os.path.join(res, "side_by_side"))


if __name__ == "__main__":
    main()

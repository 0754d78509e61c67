#!/usr/bin/env python3
"""Tables of the unlearning matrix (bench/unlearn_matrix.sh): one Markdown table per data set, one row per
(model, request), with MMRecUn against gold and the original and a verdict per target of
docs/unlearning.md, "How close to gold":

  forget    |forget R@20 - gold's| <= max(10% of gold's, 2 standard errors of gold's per-user value)
  MIA       |membership-inference balanced accuracy - gold's| <= 0.05
  retain    retain R@20 >= 98% of gold's
  Jaccard   Jaccard@20 vs gold >= 95% of the original's
  speed     gold's wall time / MMRecUn's >= 10
  erased    (modality requests, drops) every declared feature parameter's erased rows at least as far from their
            raw features as the replacement is (mean distance ratio >= 0.9), and the erased items' mean rank
            percentile within 0.05 of gold's

Column "gold's best epoch (original's)": the epoch (from 0) whose validation score each kept under early
stopping. A gold that kept a much earlier epoch than the original is a weaker model than the one unlearned, and
its values are that model's (docs/unlearning.md, "How close to gold", the Baby LightGCN user cell).

The standard error uses the binomial form sqrt(p (1 - p) / n) over the n affected users (the audit's
per-user values are not in report.json); for users with several forgotten items it overstates the error a
little. Usage: bench/unlearn_matrix_table.py OUT_DIR DATASET... (prints Markdown; --json FILE writes the
verdicts too).
"""
import json
import math
import os
import sys


def ran_on(out, ds, model, kind):
    """The device MMRecUn's run used (its run.json), "cpu" or "cuda:N"; gold ran on the same one."""
    path = os.path.join(out, f"{ds}-{model}-mmrecun-{kind}", "run.json")
    if not os.path.exists(path):
        return "-"
    return str(load(path).get("device", "-"))


def best_epochs(out, ds, model, kind):
    """'GOLD (ORIGINAL)': the best-validation epoch each run kept, from their run.json; '-' where unknown."""
    def best(path, unlearned):
        if not os.path.exists(path):
            return None
        s = load(path).get("summary", {})
        return (s.get("unlearning", {}).get("extra", {}) if unlearned else s).get("best_epoch")
    g = best(os.path.join(out, f"{ds}-{model}-gold-{kind}", "run.json"), True)
    o = best(os.path.join(out, f"{ds}-{model}-original", "run.json"), False)
    return f"{'-' if g is None else g} ({'-' if o is None else o})"


def load(path):
    with open(path) as f:
        return json.load(f)


def verdicts(rep):
    rows = {r["model"]: r for r in rep["rows"]}
    o, g, u = rows["original"], rows["gold"], rows["mmrecun"]
    v = {}
    if u.get("forget_recall@20") is not None:
        gf, n = g["forget_recall@20"], max(1, g.get("forget_users") or 1)
        band = max(0.10 * gf, 2 * math.sqrt(max(gf * (1 - gf), 0.0) / n))
        v["forget"] = abs(u["forget_recall@20"] - gf) <= band + 1e-12
        v["_band"] = band
    if u.get("mia_balanced_accuracy") is not None and g.get("mia_balanced_accuracy") is not None:
        v["MIA"] = abs(u["mia_balanced_accuracy"] - g["mia_balanced_accuracy"]) <= 0.05
    v["retain"] = u["retain_recall@20"] >= 0.98 * g["retain_recall@20"]
    v["Jaccard"] = u["jaccard@20_vs_gold"] >= 0.95 * o["jaccard@20_vs_gold"]
    v["speed"] = (u.get("speedup_vs_gold") or 0) >= 10
    if "erased_features" in u:
        ratios = [e["mean_distance_ratio"] for e in u["erased_features"].values()]
        ok = all(r >= 0.9 for r in ratios)
        if "erased_items_rank_percentile" in u:
            ok = ok and abs(u["erased_items_rank_percentile"] - g["erased_items_rank_percentile"]) <= 0.05
        v["erased"] = ok
    return v


def fmt(x, nd=4):
    return "-" if x is None else f"{x:.{nd}f}"


def main(argv):
    out_json = None
    if "--json" in argv:
        i = argv.index("--json")
        out_json = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    out, datasets = argv[1], argv[2:]
    everything = []
    for ds in datasets:
        cells = sorted(d[len(ds) + 1:] for d in os.listdir(out) if d.startswith(ds + "-") and "-audit-" in d)
        if not cells:
            continue
        print(f"\n### {ds}\n")
        print("| model | request | original forget R@20 | gold | mmrecun | MIA gold / mmrecun | retain R@20 gold / "
              "mmrecun | Jaccard@20 vs gold orig / mmrecun | RelItems orig / gold / mmrecun | erased rows / rank pct (gold) | "
              "epochs | time s (gold) | speed-up | gold's best epoch (original's) | verdict | ran on |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for cell in cells:
            model, kind = cell.split("-audit-")
            path = os.path.join(out, f"{ds}-{cell}", "report.json")
            if not os.path.exists(path):
                continue
            rep = load(path)
            rows = {r["model"]: r for r in rep["rows"]}
            o, g, u = rows["original"], rows["gold"], rows["mmrecun"]
            v = verdicts(rep)
            missed = [k for k, ok in v.items() if not k.startswith("_") and not ok]
            verdict = "**all met**" if not missed else "missed: " + ", ".join(missed)
            gf = g.get("forget_recall@20")
            gold_cell = "-" if gf is None else f"{gf:.4f} ± {v.get('_band', 0):.4f}"
            relitems = "-"
            if u.get("relitems@20") is not None:
                relitems = f"{o.get('relitems@20')} / {g.get('relitems@20')} / {u.get('relitems@20')}"
            erased = "-"
            if "erased_features" in u:
                ratios = [e["mean_distance_ratio"] for e in u["erased_features"].values()]
                rp = u.get("erased_items_rank_percentile")
                erased = (f"{min(ratios):.2f}" if ratios else "-") + (
                    f" / {rp:.3f} ({g.get('erased_items_rank_percentile', 0):.3f})" if rp is not None else "")
            print(f"| {model} | {kind} | {fmt(o.get('forget_recall@20'))} | {gold_cell} | {fmt(u.get('forget_recall@20'))} | "
                  f"{fmt(g.get('mia_balanced_accuracy'), 3)} / {fmt(u.get('mia_balanced_accuracy'), 3)} | "
                  f"{fmt(g['retain_recall@20'])} / {fmt(u['retain_recall@20'])} | "
                  f"{fmt(o['jaccard@20_vs_gold'], 3)} / {fmt(u['jaccard@20_vs_gold'], 3)} | "
                  f"{relitems} | {erased} | {u.get('epochs')} | "
                  f"{fmt(u.get('time_s'), 1)} ({fmt(g.get('time_s'), 1)}) | {fmt(u.get('speedup_vs_gold'), 1)}x | "
                  f"{best_epochs(out, ds, model, kind)} | {verdict} | "
                  f"{ran_on(out, ds, model, kind)} |")
            everything.append({"dataset": ds, "model": model, "request": kind,
                               "verdicts": {k: b for k, b in v.items() if not k.startswith("_")},
                               "original": o, "gold": g, "mmrecun": u})
    if out_json:
        with open(out_json, "w") as f:
            json.dump(everything, f, indent=1)


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env python3
"""Whose top-20 lists an unlearning run moved: Jaccard@20 between runs, split into the users a request names
and everyone else (docs/unlearning.md, "How close to gold"). The audit's Jaccard@20 against gold is one number
over all retained users; this says whether the users the request never touched kept their lists too, which
with confined updates (only the forget set's rows move) they can lose only through shared item embeddings.

  /usr/bin/python3 bench/list_agreement.py REQUEST.tsv ORIGINAL GOLD RUN [RUN ...]

For each RUN prints, per group, Jaccard@20 of RUN against gold and against the original, with the original's
against gold for reference. Lists come from RUN/embeddings.safetensors (final user and item embeddings, and
each user's training items as that run saw them, which are masked, as the evaluator masks them). The request
is a user request (rows USER) or an interaction request (rows USER<TAB>ITEM); its users form the first group.
Needs numpy (Debian's python3-numpy, which python3-matplotlib pulls in).
"""
import sys

import numpy as np

from reference_levels import load_safetensors, read_request


def top20(run, chunk=2048):
    e = load_safetensors(f"{run}/embeddings.safetensors")
    users = e["users"].astype(np.float32)
    items = e["items"].astype(np.float32)
    indptr, seen = e["seen_indptr"], e["seen_items"]
    out = np.empty((users.shape[0], 20), dtype=np.int64)
    for a in range(0, users.shape[0], chunk):
        scores = users[a:a + chunk] @ items.T
        for r in range(scores.shape[0]):
            u = a + r
            scores[r, seen[indptr[u]:indptr[u + 1]]] = -np.inf
        out[a:a + chunk] = np.argpartition(-scores, 20, axis=1)[:, :20]
    return out


def jaccard(a, b, users):
    if not users:
        return float("nan")
    return float(np.mean([len(set(a[u]) & set(b[u])) / len(set(a[u]) | set(b[u])) for u in users]))


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    pairs, users = read_request(argv[1])
    named = set(users) | {u for u, _ in pairs}
    original, gold = top20(argv[2]), top20(argv[3])
    n = original.shape[0]
    groups = [("users the request names", sorted(u for u in named if u < n)),
              ("every other user", [u for u in range(n) if u not in named])]
    print("| run | users | count | original vs gold | run vs gold | run vs original |")
    print("|---|---|---|---|---|---|")
    for run in argv[4:]:
        lists = top20(run)
        for name, us in groups:
            print(f"| {run} | {name} | {len(us)} | {jaccard(original, gold, us):.3f} | "
                  f"{jaccard(lists, gold, us):.3f} | {jaccard(lists, original, us):.3f} |")


if __name__ == "__main__":
    main(sys.argv)

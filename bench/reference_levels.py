#!/usr/bin/env python3
"""The until-forgotten reference levels of a request, recomputed from runs' saved final embeddings
(docs/unlearning.md, "Stopping"). On gold's run the levels say how well they estimate gold's forget recall; on
an unlearned run, where the method stopped.

* Interaction requests (rows USER<TAB>ITEM): for each run, the forget set's Recall@20 with the users' own rows,
  the user-side level (each user's vector = the mean of the final embeddings of the user's retained items) and
  the two-sided level (also each forgotten pair's item that keeps data scored by the direction of the mean of
  its retained users' final embeddings, at the item's own norm). The retained items of a user are the run's
  training items minus the request's pairs; every retained item is masked, as the checker does.
* User requests (rows USER): for each run, the forgotten users' Recall@20 with their own rows and the
  random-direction level (the expected Recall@20 of a random Gaussian direction, gold's untrained row, ranked
  against the run's item embeddings; 1024 directions, numpy's generator, so it differs from the checker's draw
  by sampling noise). A user's forget targets are the training items of the FIRST run, which must be the
  original (gold and unlearned runs no longer list them).

  /usr/bin/python3 bench/reference_levels.py REQUEST.tsv RUN [RUN ...]

Reads RUN/embeddings.safetensors (the final user and item embeddings and each user's training items as the run
saw them). Needs numpy (Debian's python3-numpy, which python3-matplotlib pulls in).
This is an independent recomputation in float64; the checker's own values are tested against a brute force in
tests/unlearning/test_stop_rules.cpp.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32}


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return out


def read_request(path):
    """(pairs, users): the (user, item) rows of an interaction request, or the user ids of a user request."""
    pairs, users = [], []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if not fields[0].lstrip("-").isdigit():
                continue  # comment or header
            if len(fields) >= 2 and fields[1].lstrip("-").isdigit():
                pairs.append((int(fields[0]), int(fields[1])))
            else:
                users.append(int(fields[0]))
    if pairs and users:
        sys.exit(f"{path}: mixes (user, item) rows and user rows")
    if not pairs and not users:
        sys.exit(f"{path}: no (user, item) or user rows; this script reads interaction and user requests")
    return pairs, sorted(set(users))


def recall20(user_vecs, item_vecs, users, targets, mask):
    scores = user_vecs @ item_vecs.T
    total = 0.0
    for row, u in enumerate(users):
        s = scores[row].copy()
        s[mask[u]] = -np.inf
        top = np.argpartition(-s, 20)[:20]
        total += len(set(top.tolist()) & targets[u]) / len(targets[u])
    return total / len(users)


def levels(run, pairs):
    e = load_safetensors(f"{run}/embeddings.safetensors")
    users_emb = e["users"].astype(np.float64)
    items_emb = e["items"].astype(np.float64)
    indptr, seen = e["seen_indptr"], e["seen_items"]
    forget = {}
    for u, i in pairs:
        forget.setdefault(u, set()).add(i)
    retained = [np.array([j for j in seen[indptr[u]:indptr[u + 1]] if j not in forget.get(u, ())], dtype=np.int64)
                for u in range(len(indptr) - 1)]
    users = sorted(u for u in forget if len(retained[u]) > 0)  # users who keep data
    own = recall20(users_emb[users], items_emb, users, forget, retained)
    mean_items = np.stack([items_emb[retained[u]].mean(0) for u in users])
    user_side = recall20(mean_items, items_emb, users, forget, retained)
    buyers = [[] for _ in range(items_emb.shape[0])]
    for u, its in enumerate(retained):
        for j in its:
            buyers[j].append(u)
    two_sided_items = items_emb.copy()
    for i in sorted({i for u in users for i in forget[u]}):
        if not buyers[i]:
            continue  # an item left without data keeps its row (the fresh-row rank covers it)
        m = users_emb[buyers[i]].mean(0)
        norm = np.linalg.norm(m)
        if norm > 0:
            two_sided_items[i] = m / norm * np.linalg.norm(items_emb[i])
    two_sided = recall20(mean_items, two_sided_items, users, forget, retained)
    return own, user_side, two_sided, len(users)


def user_levels(run, users, targets, directions=1024):
    """Forget Recall@20 of a user request with the run's own user rows (nothing masked: the users keep no
    data), and the random-direction level: recall is linear in the hits, so the mean over directions is, per
    user, the sum over its targets of the share of directions that put the item in their top 20."""
    e = load_safetensors(f"{run}/embeddings.safetensors")
    users_emb = e["users"].astype(np.float64)
    items_emb = e["items"].astype(np.float64)
    no_mask = {u: np.array([], dtype=np.int64) for u in users}
    own = recall20(users_emb[users], items_emb, users, targets, no_mask)
    rng = np.random.default_rng(0)
    dirs = rng.standard_normal((directions, items_emb.shape[1]))
    top = np.argpartition(-(dirs @ items_emb.T), 20, axis=1)[:, :20]
    share = np.bincount(top.ravel(), minlength=items_emb.shape[0]) / directions
    level = float(np.mean([sum(share[i] for i in targets[u]) / len(targets[u]) for u in users]))
    return own, level


def main_users(users, runs):
    first = load_safetensors(f"{runs[0]}/embeddings.safetensors")
    indptr, seen = first["seen_indptr"], first["seen_items"]
    targets = {u: set(seen[indptr[u]:indptr[u + 1]].tolist()) for u in users}
    users = [u for u in users if targets[u]]
    if not users:
        sys.exit(f"{runs[0]}: the request's users have no training items here; give the original run first")
    print("| run | users | forget R@20 (own rows) | random-direction level |")
    print("|---|---|---|---|")
    for run in runs:
        own, level = user_levels(run, users, targets)
        print(f"| {run} | {len(users)} | {own:.4f} | {level:.4f} |")


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    pairs, users = read_request(argv[1])
    if users:
        main_users(users, argv[2:])
        return
    print("| run | users | forget R@20 (own rows) | user-side level | two-sided level |")
    print("|---|---|---|---|---|")
    for run in argv[2:]:
        own, user_side, two_sided, n = levels(run, pairs)
        print(f"| {run} | {n} | {own:.4f} | {user_side:.4f} | {two_sided:.4f} |")


if __name__ == "__main__":
    main(sys.argv)

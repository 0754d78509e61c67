#!/usr/bin/python3
"""Independent PyTorch reference of LightGCN and FREEDOM, written from MMRec's behaviour as docs/models.md
and docs/datasets.md describe it (not from Lethe's code): MMRec data directory loading,
per-epoch shuffled BPR batches of 2048 with one uniform negative per row (train items only, rejecting the
user's train items), Adam (lr 1e-3), full-ranking Recall@20 on valid with train items masked. It prints
MMRec-shaped epoch lines and, last, one line `RESULT {json}` with the per-epoch times and the last Recall@20.

    /usr/bin/python3 bench/pytorch/mmrec_ref.py --data DIR --model lightgcn|freedom --epochs 3 [--n-layers 3]

The model classes also produce the golden files of Lethe's model tests (tests/models/golden/generate.py):
they take a dtype (float64 there) and FREEDOM takes its kept edges from outside (set_kept_edges).

Needs torch and numpy (Debian: python3-torch, python3-numpy; libopenblas0-pthread for a fast BLAS).
"""
import argparse
import csv
import glob
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- data ------------------------------------------------------------------------------------------------

def load_mmrec(path):
    """<dirname>.inter (or the only *.inter) + <modality>_feat.npy; MMRec's cold-start filter on valid/test."""
    name = os.path.basename(os.path.normpath(path))
    inter = os.path.join(path, name + ".inter")
    if not os.path.exists(inter):
        found = glob.glob(os.path.join(path, "*.inter"))
        if len(found) != 1:
            sys.exit(f"{path}: expected one .inter file, found {len(found)}")
        inter = found[0]
    users, items, labels = [], [], []
    with open(inter, newline="") as f:
        rd = csv.reader(f, delimiter="\t")
        header = next(rd)
        cu, ci, cl = header.index("userID"), header.index("itemID"), header.index("x_label")
        for row in rd:
            users.append(int(row[cu]))
            items.append(int(row[ci]))
            labels.append(int(row[cl]))
    u = np.asarray(users, dtype=np.int64)
    i = np.asarray(items, dtype=np.int64)
    lab = np.asarray(labels, dtype=np.int64)
    n_users, n_items = int(u.max()) + 1, int(i.max()) + 1
    tr = lab == 0
    train = (u[tr], i[tr])
    has_train = np.zeros(n_users, dtype=bool)
    has_train[train[0]] = True

    def split(x):
        m = (lab == x) & has_train[u]
        return (u[m], i[m])

    feats = {}
    for fp in sorted(glob.glob(os.path.join(path, "*_feat.npy"))):
        mod = os.path.basename(fp)[: -len("_feat.npy")]
        if mod.isalnum() and mod.islower():
            feats[mod] = np.load(fp).astype(np.float32)
    return n_users, n_items, train, split(1), split(2), feats


class BprSampler:
    """Shuffled rows cut into batches; one negative per row, uniform over train items, never a train positive."""

    def __init__(self, train, n_items, batch_size, rng):
        self.u, self.i = train
        self.n_items = n_items
        self.bs = batch_size
        self.rng = rng
        self.items = np.unique(self.i)
        self.keys = np.unique(self.u * n_items + self.i)  # sorted (user, item) codes of the train set

    def _is_pos(self, u, j):
        k = u * self.n_items + j
        pos = np.searchsorted(self.keys, k)
        pos = np.minimum(pos, len(self.keys) - 1)
        return self.keys[pos] == k

    def epoch(self):
        order = self.rng.permutation(len(self.u))
        for s in range(0, len(order), self.bs):
            idx = order[s:s + self.bs]
            u, p = self.u[idx], self.i[idx]
            n = self.items[self.rng.integers(0, len(self.items), len(idx))]
            bad = self._is_pos(u, n)
            while bad.any():
                n[bad] = self.items[self.rng.integers(0, len(self.items), int(bad.sum()))]
                bad[bad] = self._is_pos(u[bad], n[bad])
            yield torch.from_numpy(u), torch.from_numpy(p), torch.from_numpy(n)


def sym_norm_bipartite(u, i, n_users, n_items, eps=1e-7, dtype=torch.float32):
    """A = [[0, R], [R^T, 0]], D^-1/2 A D^-1/2 with deg + eps, as a coalesced COO tensor."""
    n = n_users + n_items
    rows = np.concatenate([u, i + n_users])
    cols = np.concatenate([i + n_users, u])
    deg = np.bincount(rows, minlength=n).astype(np.float64) + eps
    d = deg ** -0.5
    vals = torch.from_numpy(d[rows] * d[cols]).to(dtype)
    idx = torch.from_numpy(np.stack([rows, cols]))
    return torch.sparse_coo_tensor(idx, vals, (n, n)).coalesce()


def xavier_table(rows, cols, dtype=torch.float32):
    w = torch.empty(rows, cols, dtype=dtype)
    nn.init.xavier_uniform_(w)
    return nn.Parameter(w)


# ---- models ----------------------------------------------------------------------------------------------

class LightGCN(nn.Module):
    def __init__(self, n_users, n_items, train, n_layers=2, reg_weight=1e-4, dim=64, dtype=torch.float32):
        super().__init__()
        self.nu, self.ni, self.L, self.reg = n_users, n_items, n_layers, reg_weight
        self.user_emb = xavier_table(n_users, dim, dtype)
        self.item_emb = xavier_table(n_items, dim, dtype)
        self.adj = sym_norm_bipartite(train[0], train[1], n_users, n_items, dtype=dtype)

    def pre_epoch(self):
        pass

    def propagate(self):
        e = torch.cat([self.user_emb, self.item_emb], 0)
        layers = [e]
        for _ in range(self.L):
            e = torch.sparse.mm(self.adj, e)
            layers.append(e)
        out = torch.stack(layers, 1).mean(1)
        return out[: self.nu], out[self.nu:]

    def loss(self, u, p, n):
        ua, ia = self.propagate()
        ue, pe, ne = ua[u], ia[p], ia[n]
        diff = (ue * pe).sum(1) - (ue * ne).sum(1)
        bpr = -torch.log(1e-10 + torch.sigmoid(diff)).mean()  # BPRLoss
        ego = [self.user_emb[u], self.item_emb[p], self.item_emb[n]]
        emb = sum(torch.norm(x, p=2) for x in ego) / ego[-1].shape[0]  # EmbLoss: Frobenius norms / B
        return bpr + self.reg * emb

    def embeddings(self):
        return self.propagate()


class Freedom(nn.Module):
    def __init__(self, n_users, n_items, train, feats, reg_weight=1e-3, dropout=0.8, knn_k=10,
                 mm_image_weight=0.1, n_ui_layers=2, n_mm_layers=1, dim=64, dtype=torch.float32):
        super().__init__()
        self.nu, self.ni, self.dtype = n_users, n_items, dtype
        self.reg, self.dropout, self.n_ui, self.n_mm = reg_weight, dropout, n_ui_layers, n_mm_layers
        self.user_emb = xavier_table(n_users, dim, dtype)
        self.item_emb = xavier_table(n_items, dim, dtype)
        image = torch.from_numpy(feats["image"]).to(dtype)
        text = torch.from_numpy(feats["text"]).to(dtype)
        self.image_embedding = nn.Parameter(image.clone())
        self.text_embedding = nn.Parameter(text.clone())
        self.image_trs = nn.Linear(image.shape[1], dim, dtype=dtype)
        self.text_trs = nn.Linear(text.shape[1], dim, dtype=dtype)
        with torch.no_grad():
            s_v = self.knn_graph(image, knn_k)
            s_t = self.knn_graph(text, knn_k)
            self.mm_adj = (mm_image_weight * s_v + (1.0 - mm_image_weight) * s_t).coalesce()
        self.tu = torch.from_numpy(train[0])
        self.ti = torch.from_numpy(train[1])
        du = torch.bincount(self.tu, minlength=n_users).double() + 1e-7
        di = torch.bincount(self.ti, minlength=n_items).double() + 1e-7
        self.edge_w = (1.0 / torch.sqrt(du[self.tu] * di[self.ti])).float()
        self.full_adj = sym_norm_bipartite(train[0], train[1], n_users, n_items, dtype=dtype)
        self.masked_adj = None

    def knn_graph(self, x, k):
        """Binary cosine kNN (self included), sym-normalised with row counts: every entry ~ 1/k."""
        xn = x / x.norm(p=2, dim=1, keepdim=True).clamp_min(1e-12)
        sim = xn @ xn.t()
        _, nbr = torch.topk(sim, k, dim=1)
        rows = torch.arange(x.shape[0]).unsqueeze(1).expand(-1, k).reshape(-1)
        cols = nbr.reshape(-1)
        cnt = torch.full((x.shape[0],), float(k), dtype=torch.float64) + 1e-7
        vals = (cnt[rows] ** -0.5 * cnt[cols] ** -0.5).to(x.dtype)
        return torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (x.shape[0], x.shape[0])).coalesce()

    def pre_epoch(self):
        """Degree-sensitive pruning: keep floor(E (1 - dropout)) edges drawn without replacement, prob ~ w."""
        keep = int(len(self.edge_w) * (1.0 - self.dropout))
        sel = torch.multinomial(self.edge_w, keep, replacement=False)
        self.set_kept_edges(self.tu[sel].numpy(), self.ti[sel].numpy())

    def set_kept_edges(self, u, i):
        """The training graph of this epoch: the kept U x I edges, normalised with their own degrees + 1e-7."""
        n = self.nu + self.ni
        du = np.bincount(u, minlength=self.nu).astype(np.float64) + 1e-7
        di = np.bincount(i, minlength=self.ni).astype(np.float64) + 1e-7
        v = torch.from_numpy(du[u] ** -0.5 * di[i] ** -0.5).to(self.dtype)
        rows = np.concatenate([u, i + self.nu])
        cols = np.concatenate([i + self.nu, u])
        idx = torch.from_numpy(np.stack([rows, cols]))
        self.masked_adj = torch.sparse_coo_tensor(idx, torch.cat([v, v]), (n, n)).coalesce()

    def propagate(self, adj):
        h = self.item_emb
        for _ in range(self.n_mm):
            h = torch.sparse.mm(self.mm_adj, h)
        e = torch.cat([self.user_emb, self.item_emb], 0)
        layers = [e]
        for _ in range(self.n_ui):
            e = torch.sparse.mm(adj, e)
            layers.append(e)
        out = torch.stack(layers, 1).mean(1)
        return out[: self.nu], out[self.nu:] + h

    @staticmethod
    def bpr(u, p, n):
        return -F.logsigmoid((u * p).sum(1) - (u * n).sum(1)).mean()

    def loss(self, u, p, n):
        ua, ia = self.propagate(self.masked_adj)
        ue = ua[u]
        mf = self.bpr(ue, ia[p], ia[n])
        ft = self.text_trs(self.text_embedding)
        fv = self.image_trs(self.image_embedding)
        return mf + self.reg * (self.bpr(ue, ft[p], ft[n]) + self.bpr(ue, fv[p], fv[n]))

    def embeddings(self):
        return self.propagate(self.full_adj)


# ---- evaluation ------------------------------------------------------------------------------------------

def recall_at(model, train, split, n_users, n_items, k=20, topk=50, batch=4096):
    """Full ranking over all items, train items masked with -1e10, Recall@k = mean_u hits@k / |T_u|."""
    with torch.no_grad():
        ua, ia = model.embeddings()
        tu, ti = split
        users = list(dict.fromkeys(tu.tolist()))  # order of first appearance
        targets = {}
        for a, b in zip(tu.tolist(), ti.tolist()):
            targets.setdefault(a, set()).add(b)
        order = np.argsort(train[0], kind="stable")
        su, si = train[0][order], train[1][order]
        start = np.searchsorted(su, np.arange(n_users + 1))
        total = 0.0
        for s in range(0, len(users), batch):
            ub = np.asarray(users[s:s + batch], dtype=np.int64)
            scores = ua[torch.from_numpy(ub)] @ ia.t()
            rr, cc = [], []
            for r, uu in enumerate(ub):
                its = si[start[uu]:start[uu + 1]]
                rr.append(np.full(len(its), r))
                cc.append(its)
            scores[torch.from_numpy(np.concatenate(rr)), torch.from_numpy(np.concatenate(cc))] = -1e10
            top = torch.topk(scores, min(topk, n_items), dim=1).indices[:, :k].numpy()
            for r, uu in enumerate(ub):
                t = targets[int(uu)]
                total += sum(1 for x in top[r] if int(x) in t) / len(t)
        return total / max(1, len(users))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", choices=["lightgcn", "freedom"], required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--n-layers", type=int, default=2, help="LightGCN layers")
    ap.add_argument("--reg-weight", type=float, default=None)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=999)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    t0 = time.time()
    n_users, n_items, train, valid, test, feats = load_mmrec(args.data)
    load_s = time.time() - t0
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.data}: {n_users} users, "
          f"{n_items} items, {len(train[0])} train rows (loaded in {load_s:.2f}s)", flush=True)
    t0 = time.time()
    if args.model == "lightgcn":
        model = LightGCN(n_users, n_items, train, n_layers=args.n_layers,
                         reg_weight=1e-4 if args.reg_weight is None else args.reg_weight)
    else:
        model = Freedom(n_users, n_items, train, feats, reg_weight=1e-3 if args.reg_weight is None else args.reg_weight)
    build_s = time.time() - t0
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sampler = BprSampler(train, n_items, args.batch_size, rng)
    train_s, eval_s, recall = [], [], -1.0
    for ep in range(args.epochs):
        t0 = time.time()
        model.train()
        model.pre_epoch()
        total = 0.0
        for u, p, n in sampler.epoch():
            opt.zero_grad()
            loss = model.loss(u, p, n)
            loss.backward()
            opt.step()
            total += loss.item()
        train_s.append(time.time() - t0)
        print(f"epoch {ep} training [time: {train_s[-1]:.2f}s, train loss: {total:.4f}]", flush=True)
        t0 = time.time()
        model.eval()
        recall = recall_at(model, train, valid, n_users, n_items)
        eval_s.append(time.time() - t0)
        print(f"epoch {ep} evaluating [time: {eval_s[-1]:.2f}s, valid_score: {round(recall, 4):f}]", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    res = {"engine": "pytorch", "model": args.model, "torch": torch.__version__, "threads": torch.get_num_threads(),
           "build_seconds": build_s, "train_seconds": train_s, "eval_seconds": eval_s,
           "train_seconds_median": float(np.median(train_s)), "eval_seconds_median": float(np.median(eval_s)),
           "valid_recall20_last": recall, "peak_rss_mib": peak}
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()

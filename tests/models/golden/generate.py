#!/usr/bin/python3
"""Writes the reference golden files of Lethe's model tests from the independent PyTorch reference
(bench/pytorch/mmrec_ref.py), never from Lethe:

    /usr/bin/python3 tests/models/golden/generate.py        # writes tests/models/golden/reference/*.safetensors

Needs torch and numpy (Debian: python3-torch, python3-numpy); the C++ test (tests/models/test_golden.cpp) only
reads the files. Each file holds, for one model, the shared inputs and the expected values:

* inputs: a small fixed graph (data.train_users / data.train_items), item features (data.image, data.text), the
  initial parameters (init.<name>, float32 values), one batch per step (batch<s>.users / pos / neg) and, in the
  metadata, the configuration (config.<key>), the learning rate and when pre_epoch runs;
* expected, computed in float64 from the float32 inputs: the loss of each Adam step (expect.loss), every
  parameter's gradient at each step (expect.step<s>.grad.<name>) and the parameters after the last step
  (expect.final.<name>);
* FREEDOM only: the edges kept by the per-epoch pruning and their normalised values (expect.epoch<e>.kept_*).

FREEDOM's pruning is random. Both sides draw it identically from the documented sampler (docs/models.md,
"FREEDOM"): Efraimidis-Spirakis keys ln(u_e) / w_e with u_e = (x_e + 0.5) / 2^32, x_e the next 32-bit word of
Lethe's generator stream (docs/architecture.md, "Random numbers"), implemented here from the Philox paper and
checked against its published known-answer vector. The test checks Lethe's sampler against the stored kept
edges, then runs the model with the same stream.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "pytorch"))
import mmrec_ref  # noqa: E402  (the independent reference models)

OUT = os.path.join(HERE, "reference")
STEPS = 3
LR = 0.01
PRE_EPOCH_BEFORE = [0, 2]  # pre_epoch runs before steps 0 and 2 (two epochs, FREEDOM resamples its graph)
PRUNE_SEED = 2718          # lethe::Rng(PRUNE_SEED) drives both pre_epoch calls


# ---- Philox-4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11) --------------------------------------------------

M32 = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c3 ^ k1) & M32, p0 & M32
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return [c0, c1, c2, c3]


# Known-answer vectors of Random123 (kat_vectors: philox4x32 10 rounds).
assert philox4x32_10([0, 0, 0, 0], [0, 0]) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
assert philox4x32_10([M32] * 4, [M32] * 2) == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]
assert philox4x32_10([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0]) == \
    [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]


class WordStream:
    """lethe::Rng(seed) as documented: block n = Philox(counter (n, 0, 0, 0), key (seed lo, seed hi)), its
    four words handed out in order."""

    def __init__(self, seed):
        self.key = [seed & M32, (seed >> 32) & M32]
        self.n = 0
        self.buf = []

    def next_u32(self):
        if not self.buf:
            self.buf = philox4x32_10([self.n & M32, (self.n >> 32) & M32, 0, 0], self.key)
            self.n += 1
        return self.buf.pop(0)


def prune_edges(users, items, n_users, n_items, dropout, stream):
    """FREEDOM's degree-sensitive pruning: unique (user, item) edges in sorted order, w_e =
    1/sqrt((d_u + 1e-7)(d_i + 1e-7)), keep the floor(E (1 - dropout)) largest keys ln(u_e) / w_e (ties to the
    lower index). Returns the kept edge indices in increasing order and the gap around the cut."""
    E = len(users)
    du = np.bincount(users, minlength=n_users).astype(np.float64)
    di = np.bincount(items, minlength=n_items).astype(np.float64)
    keys = []
    for k in range(E):
        w = 1.0 / math.sqrt((du[users[k]] + 1e-7) * (di[items[k]] + 1e-7))
        u = (stream.next_u32() + 0.5) * (1.0 / 4294967296.0)
        keys.append(math.log(u) / w)
    keep = int(math.floor(E * (1.0 - dropout)))
    order = sorted(range(E), key=lambda k: (-keys[k], k))
    gap = keys[order[keep - 1]] - keys[order[keep]] if 0 < keep < E else math.inf
    return sorted(order[:keep]), gap


# ---- data ------------------------------------------------------------------------------------------------

def make_data(rng, n_users, n_items, image_width, text_width):
    """Every user has 2-4 distinct items, every item at least one user; returns sorted unique pairs."""
    while True:
        pairs = set()
        for u in range(n_users):
            for i in rng.choice(n_items, size=int(rng.integers(2, 5)), replace=False):
                pairs.add((u, int(i)))
        if len({i for _, i in pairs}) == n_items:
            break
    pairs = sorted(pairs)
    users = np.array([p[0] for p in pairs], dtype=np.int64)
    items = np.array([p[1] for p in pairs], dtype=np.int64)
    image = rng.random((n_items, image_width)).astype(np.float32)  # CNN features are non-negative
    text = rng.standard_normal((n_items, text_width)).astype(np.float32)
    return users, items, image, text


def knn_margin(x, k):
    """Smallest gap between the k-th and (k+1)-th cosine similarity over rows (float64)."""
    x = x.astype(np.float64)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = np.sort(xn @ xn.T, axis=1)[:, ::-1]
    return float(np.min(sim[:, k - 1] - sim[:, k]))


def make_batches(rng, users, items, n_items, size):
    seen = set(zip(users.tolist(), items.tolist()))
    out = []
    for _ in range(STEPS):
        rows = rng.integers(0, len(users), size)
        bu, bp, bn = users[rows], items[rows], []
        for u in bu:
            while True:
                j = int(rng.integers(0, n_items))
                if (int(u), j) not in seen:
                    bn.append(j)
                    break
        out.append((bu.astype(np.int32), bp.astype(np.int32), np.array(bn, dtype=np.int32)))
    return out


# ---- safetensors (8-byte header length, JSON header, raw little-endian data) ------------------------------

def write_safetensors(path, tensors, metadata):
    codes = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int32"): "I32"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---- one model -------------------------------------------------------------------------------------------

def run(model, names, batches, pre_epoch):
    """STEPS Adam steps in float64; returns the losses, the gradients of each step and the final parameters."""
    params = dict(model.named_parameters())
    opt = torch.optim.Adam([params[ref] for ref, _ in names], lr=LR)
    losses, grads = [], []
    for s, (u, p, n) in enumerate(batches):
        if s in PRE_EPOCH_BEFORE:
            pre_epoch()
        opt.zero_grad()
        loss = model.loss(torch.from_numpy(u).long(), torch.from_numpy(p).long(), torch.from_numpy(n).long())
        loss.backward()
        losses.append(loss.item())
        grads.append({lethe: params[ref].grad.detach().numpy().copy() for ref, lethe in names})
        opt.step()
    final = {lethe: params[ref].detach().numpy().copy() for ref, lethe in names}
    return losses, grads, final


def set_init(model, names):
    """Shared initial parameters: the reference's own initialisation, rounded to float32 (what the file holds)."""
    init = {}
    with torch.no_grad():
        for ref, lethe in names:
            p = dict(model.named_parameters())[ref]
            v = p.detach().numpy().astype(np.float32)
            p.copy_(torch.from_numpy(v.astype(np.float64)))
            init[lethe] = v
    return init


def save(name, config, data, init, batches, losses, grads, final, extra_tensors, extra_meta):
    users, items, image, text, n_users, n_items = data
    t = [("data.train_users", users.astype(np.int32)), ("data.train_items", items.astype(np.int32)),
         ("data.image", image), ("data.text", text)]
    t += [("init." + k, v) for k, v in init.items()]
    for s, (u, p, n) in enumerate(batches):
        t += [(f"batch{s}.users", u), (f"batch{s}.pos", p), (f"batch{s}.neg", n)]
    t.append(("expect.loss", np.array(losses, dtype=np.float64)))
    for s, g in enumerate(grads):
        t += [(f"expect.step{s}.grad.{k}", v.astype(np.float64)) for k, v in g.items()]
    t += [("expect.final." + k, v.astype(np.float64)) for k, v in final.items()]
    t += extra_tensors
    meta = {"model": name, "generator": "tests/models/golden/generate.py", "reference": "bench/pytorch/mmrec_ref.py",
            "torch": torch.__version__, "n_users": str(n_users), "n_items": str(n_items), "steps": str(STEPS),
            "lr": repr(LR), "pre_epoch_before_steps": ",".join(map(str, PRE_EPOCH_BEFORE))}
    meta.update({"config." + k: v for k, v in config.items()})
    meta.update(extra_meta)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".safetensors")
    write_safetensors(path, t, meta)
    print(f"{os.path.relpath(path, ROOT)}: losses {['%.6f' % x for x in losses]}, {os.path.getsize(path)} bytes")
    min_rel = min((np.abs(v[v != 0]).min() / np.abs(v).max()) for g in grads for v in g.values() if np.any(v != 0))
    print(f"  smallest non-zero |gradient| / tensor max: {min_rel:.2e}")


def main():
    torch.manual_seed(20240611)
    rng = np.random.default_rng(20240611)
    n_users, n_items, knn_k = 14, 10, 3
    while True:  # features whose kNN cut is clear of float32 rounding
        users, items, image, text = make_data(rng, n_users, n_items, 12, 6)
        if min(knn_margin(image, knn_k), knn_margin(text, knn_k)) > 1e-4:
            break
    data = (users, items, image, text, n_users, n_items)
    train = (users, items)
    f64 = torch.float64

    # LightGCN: 3 layers, a reg_weight large enough for EmbLoss to show in the loss.
    config = {"embedding_size": "8", "n_layers": "3", "reg_weight": "0.01"}
    m = mmrec_ref.LightGCN(n_users, n_items, train, n_layers=3, reg_weight=0.01, dim=8, dtype=f64)
    names = [("user_emb", "user_embedding.weight"), ("item_emb", "item_embedding.weight")]
    init = set_init(m, names)
    batches = make_batches(rng, users, items, n_items, 12)
    losses, grads, final = run(m, names, batches, m.pre_epoch)
    save("lightgcn", config, data, init, batches, losses, grads, final, [], {})

    # FREEDOM: half the edges pruned each epoch, reg_weight large enough for the feature BPR terms to show.
    dropout = 0.5
    config = {"embedding_size": "8", "feat_embed_dim": "8", "knn_k": str(knn_k), "n_mm_layers": "1",
              "n_ui_layers": "2", "mm_image_weight": "0.3", "dropout": repr(dropout), "reg_weight": "0.1"}
    m = mmrec_ref.Freedom(n_users, n_items, train, {"image": image, "text": text}, reg_weight=0.1, dropout=dropout,
                          knn_k=knn_k, mm_image_weight=0.3, n_ui_layers=2, n_mm_layers=1, dim=8, dtype=f64)
    names = [("user_emb", "user_embedding.weight"), ("item_emb", "item_id_embedding.weight"),
             ("image_embedding", "image_embedding.weight"), ("text_embedding", "text_embedding.weight"),
             ("image_trs.weight", "image_trs.weight"), ("image_trs.bias", "image_trs.bias"),
             ("text_trs.weight", "text_trs.weight"), ("text_trs.bias", "text_trs.bias")]
    init = set_init(m, names)
    batches = make_batches(rng, users, items, n_items, 12)
    stream = WordStream(PRUNE_SEED)
    kept_tensors, epoch = [], [0]

    def pre_epoch():
        idx, gap = prune_edges(users, items, n_users, n_items, dropout, stream)
        assert gap > 1e-9, f"epoch {epoch[0]}: keys at the cut differ by {gap} only; pick another PRUNE_SEED"
        ku, ki = users[idx], items[idx]
        m.set_kept_edges(ku, ki)
        du = np.bincount(ku, minlength=n_users) + 1e-7
        di = np.bincount(ki, minlength=n_items) + 1e-7
        kept_tensors.extend([(f"expect.epoch{epoch[0]}.kept_users", ku.astype(np.int32)),
                             (f"expect.epoch{epoch[0]}.kept_items", ki.astype(np.int32)),
                             (f"expect.epoch{epoch[0]}.kept_values", du[ku] ** -0.5 * di[ki] ** -0.5)])
        epoch[0] += 1

    losses, grads, final = run(m, names, batches, pre_epoch)
    save("freedom", config, data, init, batches, losses, grads, final, kept_tensors, {"prune_seed": str(PRUNE_SEED)})


if __name__ == "__main__":
    main()

"""An independent re-implementation of the XTREME/LASER BUCC reference algorithm, kept deliberately literal:
two FAISS searches (x->y, y->x), a Python double loop for the ratio margin (``score_candidates``), the
``mode='mine', retrieval='max'`` greedy pairing over ``np.argsort(-scores)``, and ``bucc_optimize``.
Used by the equivalence tests and by bench/bucc_mining.py as the baseline; not used by the pipeline."""

import faiss
import numpy as np


def knn(x, y, k):
    idx = faiss.IndexFlatIP(y.shape[1])
    idx.add(y)
    return idx.search(x, k)


def score_candidates(x, y, candidate_inds, fwd_mean, bwd_mean):
    scores = np.zeros(candidate_inds.shape)
    for i in range(scores.shape[0]):
        for j in range(scores.shape[1]):
            k = candidate_inds[i, j]
            scores[i, j] = x[i].dot(y[k]) / ((fwd_mean[i] + bwd_mean[k]) / 2)
    return scores


def mine_bitext(x, y, neighborhood=4):
    x = x.astype(np.float32).copy()
    y = y.astype(np.float32).copy()
    faiss.normalize_L2(x)
    faiss.normalize_L2(y)
    x2y_sim, x2y_ind = knn(x, y, min(y.shape[0], neighborhood))
    x2y_mean = x2y_sim.mean(axis=1)
    y2x_sim, y2x_ind = knn(y, x, min(x.shape[0], neighborhood))
    y2x_mean = y2x_sim.mean(axis=1)
    fwd_scores = score_candidates(x, y, x2y_ind, x2y_mean, y2x_mean)
    bwd_scores = score_candidates(y, x, y2x_ind, y2x_mean, x2y_mean)
    fwd_best = x2y_ind[np.arange(x.shape[0]), fwd_scores.argmax(axis=1)]
    bwd_best = y2x_ind[np.arange(y.shape[0]), bwd_scores.argmax(axis=1)]
    indices = np.stack((np.concatenate((np.arange(x.shape[0]), bwd_best)), np.concatenate((fwd_best, np.arange(y.shape[0])))), axis=1)
    scores = np.concatenate((fwd_scores.max(axis=1), bwd_scores.max(axis=1)))
    seen_src, seen_trg = set(), set()
    out = []
    for i in np.argsort(-scores):
        src_ind, trg_ind = indices[i]
        if src_ind not in seen_src and trg_ind not in seen_trg:
            seen_src.add(src_ind)
            seen_trg.add(trg_ind)
            if scores[i] > 0:
                out.append((int(src_ind), int(trg_ind), float(scores[i])))
    return out


def bucc_optimize(candidate2score, gold):
    items = sorted(candidate2score.items(), key=lambda x: -x[1])
    ngold = len(gold)
    nextract = ncorrect = 0
    threshold = 0
    best_f1 = 0
    for i in range(len(items)):
        nextract += 1
        if items[i][0] in gold:
            ncorrect += 1
        if ncorrect > 0:
            precision = ncorrect / nextract
            recall = ncorrect / ngold
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                threshold = (items[i][1] + items[i + 1][1]) / 2 if i + 1 < len(items) else items[i][1]
    return threshold, best_f1


def f1_at(candidate2score, gold, threshold):
    pred = {k for k, v in candidate2score.items() if v >= threshold}
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold)
    return 2 * p * r / (p + r) if p + r else 0.0


def planted(n_gold, n_x, n_y, d, noise, seed):
    """Random unit vectors with n_gold planted translation pairs (x_i ~ y_perm(i)) plus distractors."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_gold, d)).astype(np.float32)
    x = np.concatenate([base + noise * rng.standard_normal((n_gold, d)), rng.standard_normal((n_x - n_gold, d))]).astype(np.float32)
    y = np.concatenate([base + noise * rng.standard_normal((n_gold, d)), rng.standard_normal((n_y - n_gold, d))]).astype(np.float32)
    px, py = rng.permutation(n_x), rng.permutation(n_y)
    inv_x, inv_y = np.argsort(px), np.argsort(py)
    gold = {(int(inv_x[i]), int(inv_y[i])) for i in range(n_gold)}
    return x[px], y[py], gold

"""Validity of a judge against the psychologists: the embedded judge (or any judge) on every expert-rated item and on
a fixed subset, side by side with GPT-4's released judgments, the reply-length baselines, the chance rows and the
experts' ceiling.

What it measures, per criterion and per item set (reports/validity/validity.md and .json):

* the rows of ``judge agree`` (``agreement_report``, CIs resampling whole **posts**): the headline (pairwise kappa
  over judge-expert pairs) with its CI, Spearman with the experts' mean, the bias (mean judge - mean expert), the
  scale use, and whether the judge is "not better than length" (``judge.analysis.stats.baseline``);
* the experts' own figure (the ceiling), the chance rows (0 by construction) and the baseline rows (the reply's
  length in characters and in words, on the experts' scale by rank), computed like a judge's;
* for a judge with token probabilities, both scorings: the value it answered (argmax) and its expected score;
* each candidate prompt variant (``judge.engine.prompt.COMPACT_VARIANTS``), and the *cross-fitted* choice among
  variant x scoring: folds of whole posts, the candidate with the best Spearman on the other posts' items is
  scored on the held-out posts, so the figure reported for the choice was never used to make it.

Item sets: every rated item, and the fixed subset of ``select_items`` (``--items``). Judges are compared on the
same items: where a reference judge (GPT-4) lacks some items of a set, the set is reported twice, whole and
restricted to the reference's items.

``select_items`` goes round-robin over (post, appraisal dimension) strata in a seeded order: every stratum gives one
item before any gives a second. Strata differ in size, so a budget between one and all items per stratum leaves
strata with different counts (``strata_counts`` says how many; on RESORT's 60 of 227, 7 strata give 1 item, 16 give
2 and 7 give 3), and the subset's make-up (e.g. which systems) differs from the whole set's: read the all-items
figures first. Nothing here is specific to RESORT beyond the default criteria.

Run (after ``judge import resort`` and ``judge import judgments`` of the release's GPT-4 outputs, README tour)::

    python -m benchmarks.validity --benchmark bench/resort --reference-run runs/gpt4
    python -m benchmarks.validity --benchmark bench/resort --reference-run runs/gpt4 --judge none   # no model

The run directories hold the benchmark's text and stay out of the repository (``--runs``, default in the cache
directory); the report holds figures only.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from judge.data import Benchmark

Scores = dict[str, float | None]  # item_id -> score


def _rank(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def select_items(bench: Benchmark, criteria: Sequence[str], n: int | None, seed: int = 0) -> list[str]:
    """A fixed, stratified set of rated items: round-robin over (post, dimension) strata, in a seeded order.

    Each stratum gives one item before any gives a second, so every post and dimension with a rated item is
    represented once ``n`` reaches the number of strata. Strata are not the same size, so beyond that the counts per
    stratum differ (a small stratum runs out; ``strata_counts``). ``n`` None: every rated item.
    """
    rated = set()
    for c in criteria:
        rated.update(bench.rated_item_ids(c))
    strata: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item_id in sorted(rated, key=lambda i: _rank(i, seed)):
        item = bench.items[item_id]
        strata[(item.post_id, str(item.dimension_id))].append(item_id)
    order = sorted(strata, key=lambda k: _rank("|".join(k), seed))
    chosen: list[str] = []
    depth = 0
    while len(chosen) < (n if n is not None else len(rated)) and any(len(strata[k]) > depth for k in order):
        for k in order:
            if depth < len(strata[k]) and len(chosen) < (n if n is not None else len(rated)):
                chosen.append(strata[k][depth])
        depth += 1
    return [i for i in bench.items if i in set(chosen)]


def strata_counts(bench: Benchmark, ids: Sequence[str]) -> dict[str, int]:
    """How many (post, dimension) strata give 1, 2, ... of ``ids``: ``{"1": 7, "2": 16, ...}``."""
    per: dict[tuple[str, str], int] = defaultdict(int)
    for i in ids:
        per[(bench.items[i].post_id, str(bench.items[i].dimension_id))] += 1
    out: dict[str, int] = defaultdict(int)
    for k in per.values():
        out[str(k)] += 1
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho (average ranks for ties); None with fewer than 3 pairs or a constant side."""
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    rho = float(spearmanr(x, y).statistic)
    return None if math.isnan(rho) else rho


def paired(scores: Scores, truth: Mapping[str, float], ids: Sequence[str]) -> tuple[list[float], list[float]]:
    """(scores, truth) over the ids that have both."""
    xs, ys = [], []
    for i in ids:
        s = scores.get(i)
        if s is not None and i in truth:
            xs.append(float(s))
            ys.append(truth[i])
    return xs, ys


def post_folds(bench: Benchmark, ids: Sequence[str], k: int, seed: int = 0) -> list[list[str]]:
    """``k`` folds of whole posts (items of one post never straddle two folds)."""
    posts = sorted({bench.items[i].post_id for i in ids}, key=lambda p: _rank(p, seed))
    fold_of = {p: n % k for n, p in enumerate(posts)}
    folds: list[list[str]] = [[] for _ in range(k)]
    for i in ids:
        folds[fold_of[bench.items[i].post_id]].append(i)
    return [f for f in folds if f]


def cross_fitted_choice(
    bench: Benchmark,
    candidates: Mapping[str, Scores],
    truth: Mapping[str, float],
    ids: Sequence[str],
    k: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Choose among candidate scorings by Spearman with ``truth`` on the other folds' posts; score the choice on
    the held-out fold. Returns the pooled held-out scores, each fold's choice, and the selected-on figures.

    The pooled held-out scores are what an honest report quotes for "the selected candidate"; the in-sample
    figure of the overall best candidate (``in_sample_best``) is reported beside it to show the optimism.
    """
    held: Scores = {}
    picks = []
    for fold in post_folds(bench, ids, k, seed):
        train = [i for i in ids if i not in set(fold)]
        fits = {name: spearman(*paired(s, truth, train)) for name, s in candidates.items()}
        best = max(sorted(fits), key=lambda n: -2.0 if fits[n] is None else float(fits[n] or 0.0))
        picks.append({"held_out_items": len(fold), "chosen": best, "train_spearman": fits[best]})
        for i in fold:
            held[i] = candidates[best].get(i)
    overall = {name: spearman(*paired(s, truth, ids)) for name, s in candidates.items()}
    best_all = max(sorted(overall), key=lambda n: -2.0 if overall[n] is None else float(overall[n] or 0.0))
    counts: dict[str, int] = defaultdict(int)
    for p in picks:
        counts[p["chosen"]] += 1
    return {
        "folds": picks,
        "chosen_counts": dict(counts),
        "held_out_scores": held,
        "held_out_spearman": spearman(*paired(held, truth, ids)),
        "in_sample": overall,
        "in_sample_best": {"candidate": best_all, "spearman": overall[best_all]},
    }


def histogram(values: Sequence[float], points: Sequence[float]) -> dict[str, int]:
    """How often each scale point is used (values rounded to the nearest point)."""
    out = {f"{p:g}": 0 for p in points}
    arr = np.asarray(points, dtype=float)
    for v in values:
        nearest = float(arr[np.argmin(np.abs(arr - v))])
        out[f"{nearest:g}"] += 1
    return out

"""The alternative annotator test ("alt-test") of Calderon, Reichart & Dror (ACL 2025).

"The Alternative Annotator Test for LLM-as-a-Judge: How to Statistically Justify Replacing Human Annotators with
LLMs" (arXiv 2501.10970). Our reading of the procedure, which also matches the authors' reference code
(github.com/nitaytech/AltTest):

1. Leave one expert ``j`` out. Take the items ``j`` rated that at least one other expert also rated and that the
   judge scored (an unscored judgment is missing data: the item is not used, and is counted by the caller).
2. On each such item ``i``, score how well the judge aligns with the *remaining* experts, ``S(f, i, j)``, and how
   well expert ``j`` aligns with them, ``S(h_j, i, j)``. Alignment is ``accuracy`` (share of remaining experts
   giving the same value) for nominal criteria, and ``neg_rmse`` (minus the root mean squared difference to the
   remaining experts' values) for ordinal and interval criteria.
3. Indicators ``W^f_i = 1[S(f) >= S(h_j)]`` and ``W^h_i = 1[S(h_j) >= S(f)]`` (ties count for both).
   ``rho^f_j = mean(W^f)`` is the probability that the judge is at least as good as expert ``j``.
4. Test ``H0: rho^f_j <= rho^h_j - epsilon`` against ``H1: rho^f_j > rho^h_j - epsilon`` with a one-sided
   one-sample t-test of the paired differences ``d_i = W^h_i - W^f_i`` against ``epsilon`` (alternative
   ``mean(d) < epsilon``). ``epsilon`` is the cost-benefit margin granted to the cheaper judge: the paper suggests
   0.2 for expert annotators, 0.15 for skilled ones, 0.1 for crowd workers.
5. Correct the per-expert p-values with Benjamini-Yekutieli at ``q = 0.05`` (the tests share items, so they are
   dependent). The winning rate ``omega`` is the share of experts whose null is rejected; the judge *passes*
   (may replace an expert) if ``omega >= 0.5``. The advantage probability ``rho`` is the mean of ``rho^f_j``
   over experts: use it to rank judges.

An expert with fewer than ``min_items`` usable items is left out and listed with the reason (the paper's code uses
30; RESORT experts rate 85-182 items, so 10 keeps everyone while still refusing a test on a handful of items).
With fewer than two experts left the test is not run (``AltTestUndefinedError`` with the reason).

If every ``d_i`` is the same the t statistic is undefined; we then decide exactly: ``p = 0`` if that common value
is below ``epsilon`` (the judge is certainly within the margin), else ``p = 1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

Scoring = Literal["accuracy", "neg_rmse"]


class AltTestUndefinedError(ValueError):
    """The alt-test cannot be run on these data (the message says why)."""


class AltTestExpert(BaseModel):
    """The comparison with one left-out expert."""

    model_config = ConfigDict(extra="forbid")

    rater: str
    n_items: int
    rho_judge: float = Field(description="P(judge aligns with the other experts at least as well as this expert).")
    rho_expert: float = Field(description="P(this expert aligns at least as well as the judge).")
    p_value: float
    rejected: bool = Field(description="H0 rejected after Benjamini-Yekutieli: the judge wins against this expert.")


class AltTestExcluded(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rater: str
    n_items: int
    reason: str


class AltTestResult(BaseModel):
    """Outcome of the alt-test for one judge on one criterion."""

    model_config = ConfigDict(extra="forbid")

    scoring: Scoring
    epsilon: float
    q: float
    min_items: int
    winning_rate: float = Field(description="omega: share of experts the judge wins against.")
    advantage_prob: float = Field(description="rho: mean over experts of P(judge at least as good as the expert).")
    passed: bool = Field(description="winning_rate >= 0.5.")
    experts: list[AltTestExpert]
    excluded: list[AltTestExcluded] = Field(default_factory=list)


def benjamini_yekutieli(p_values: list[float], q: float = 0.05) -> list[bool]:
    """Which hypotheses BY rejects at FDR ``q`` (valid under any dependence between the tests)."""
    m = len(p_values)
    if m == 0:
        return []
    order = np.argsort(p_values)
    c_m = float(np.sum(1.0 / np.arange(1, m + 1)))
    thresholds = np.arange(1, m + 1) / m * q / c_m
    below = np.nonzero(np.asarray(p_values)[order] <= thresholds)[0]
    rejected = np.zeros(m, dtype=bool)
    if len(below):
        rejected[order[: below[-1] + 1]] = True
    return [bool(r) for r in rejected]


def one_sided_p(d: np.ndarray, epsilon: float) -> float:
    """p-value of ``H0: mean(d) >= epsilon`` against ``mean(d) < epsilon`` (one-sample t-test)."""
    if np.all(d == d[0]):  # zero variance: t is undefined, the answer is not
        return 0.0 if d[0] < epsilon else 1.0
    return float(stats.ttest_1samp(d, epsilon, alternative="less").pvalue)


def alt_test(
    judge: Mapping[str, float],
    experts: Mapping[str, Mapping[str, float]],
    *,
    scoring: Scoring,
    epsilon: float = 0.2,
    q: float = 0.05,
    min_items: int = 10,
) -> AltTestResult:
    """Run the alt-test of one judge against a panel of experts.

    Args:
        judge: item id -> the judge's (scored) value; leave unscored items out.
        experts: rater -> item id -> rating.
        scoring: ``accuracy`` (nominal) or ``neg_rmse`` (ordinal, interval).
        epsilon: cost-benefit margin (0.2 for experts, as the paper suggests).
        q: false discovery rate of the Benjamini-Yekutieli correction.
        min_items: experts with fewer usable items are left out (listed in ``excluded``).

    Raises:
        AltTestUndefinedError: fewer than two experts have enough items.
    """
    raters = sorted(experts)
    items = sorted({i for r in experts.values() for i in r})
    m = np.array([[experts[r].get(i, np.nan) for i in items] for r in raters], dtype=float).reshape(len(raters), -1)
    x = np.array([judge.get(i, np.nan) for i in items], dtype=float)
    return alt_test_matrix(x, m, raters, scoring=scoring, epsilon=epsilon, q=q, min_items=min_items)


def alt_test_matrix(
    judge: np.ndarray,
    experts: np.ndarray,
    raters: Sequence[str],
    *,
    scoring: Scoring,
    epsilon: float = 0.2,
    q: float = 0.05,
    min_items: int = 10,
) -> AltTestResult:
    """``alt_test`` on arrays: ``judge`` ``(n,)`` (NaN = not scored), ``experts`` ``(raters, n)`` (NaN = not rated)."""
    used: list[tuple[str, int, float, float, float]] = []
    excluded: list[AltTestExcluded] = []
    for r in sorted(range(len(raters)), key=lambda k: raters[k]):
        w_judge, w_expert = indicators(r, judge, experts, scoring)
        n = len(w_judge)
        if n < min_items:
            excluded.append(
                AltTestExcluded(
                    rater=raters[r],
                    n_items=n,
                    reason=f"only {n} item(s) shared with another expert and scored by the judge "
                    f"(< min_items={min_items})",
                )
            )
            continue
        p = one_sided_p(w_expert - w_judge, epsilon)
        used.append((raters[r], n, float(w_judge.mean()), float(w_expert.mean()), p))
    if len(used) < 2:
        detail = "; ".join(f"{e.rater}: {e.reason}" for e in excluded)
        raise AltTestUndefinedError(
            f"the alt-test needs at least 2 experts with >= {min_items} usable items, got {len(used)}"
            + (f" ({detail})" if detail else "")
        )
    rejected = benjamini_yekutieli([u[4] for u in used], q)
    rows = [
        AltTestExpert(rater=r, n_items=n, rho_judge=rf, rho_expert=rh, p_value=p, rejected=rej)
        for (r, n, rf, rh, p), rej in zip(used, rejected, strict=True)
    ]
    omega = sum(rejected) / len(rows)
    return AltTestResult(
        scoring=scoring,
        epsilon=epsilon,
        q=q,
        min_items=min_items,
        winning_rate=omega,
        advantage_prob=float(np.mean([r.rho_judge for r in rows])),
        passed=omega >= 0.5,
        experts=rows,
        excluded=excluded,
    )


def _alignments(values: np.ndarray, others: np.ndarray, present: np.ndarray, scoring: Scoring) -> np.ndarray:
    """Alignment of each item's value with the remaining experts' ratings, for all items at once: the share of them
    giving the same value (``accuracy``), or minus the root mean squared difference to them (``neg_rmse``)."""
    n_others = present.sum(axis=0)
    if scoring == "accuracy":
        return ((others == values[np.newaxis, :]) & present).sum(axis=0) / n_others
    sq = np.where(present, (others - values[np.newaxis, :]) ** 2, 0.0)
    return -np.sqrt(sq.sum(axis=0) / n_others)


def indicators(rater: int, judge: np.ndarray, experts: np.ndarray, scoring: Scoring) -> tuple[np.ndarray, np.ndarray]:
    """``W^f`` and ``W^h`` over the usable items of the left-out expert (row ``rater`` of ``experts``)."""
    own = experts[rater]
    others = np.delete(experts, rater, axis=0)
    present = ~np.isnan(others)
    usable = ~np.isnan(own) & ~np.isnan(judge) & present.any(axis=0)
    if not usable.any():
        return np.empty(0), np.empty(0)
    o, p = others[:, usable], present[:, usable]
    with np.errstate(invalid="ignore"):
        s_judge = _alignments(judge[usable], o, p, scoring)
        s_expert = _alignments(own[usable], o, p, scoring)
    return (s_judge >= s_expert).astype(float), (s_expert >= s_judge).astype(float)

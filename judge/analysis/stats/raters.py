"""The experts as raters: each one's scale use, the agreement of every pair, and whether a judge is one of them.

``rater_diagnostics`` gives each expert's mean rating and bias against the other experts on the items they share,
and Krippendorff's alpha of every pair of experts (``alpha.package_alpha``). ``rater_matches`` flags a judge whose
scores equal one rater's on nearly every shared item beyond chance (Cohen's kappa of the equalities): is the judge
that rater? Its agreement would then be agreement with itself.

Shapes: ``m`` is ``(raters, items)``, NaN = not rated; a judge is ``(items,)``, NaN = no score.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge.analysis.stats.alpha import AlphaUndefinedError, Level, package_alpha

#: A judge that equals one rater on at least this share of at least ``SAME_MIN_ITEMS`` shared items, beyond what
#: their answering the same common value would give (Cohen's kappa of the equalities at least ``SAME_MIN_KAPPA``),
#: is flagged.
SAME_SHARE = 0.95
SAME_MIN_ITEMS = 10
SAME_MIN_KAPPA = 0.8


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RaterStats(_Model):
    """One expert's scale use: mean rating, and bias against the other experts on the items they share."""

    rater: str
    n_ratings: int
    mean: float
    bias_vs_others: float | None = Field(description="Mean of (this rating - mean of the others) on shared items.")
    n_shared: int


class PairAlpha(_Model):
    raters: tuple[str, str]
    alpha: float | None
    n_shared: int
    note: str | None = None


def rater_diagnostics(raters: Sequence[str], m: np.ndarray, level: Level) -> tuple[list[RaterStats], list[PairAlpha]]:
    """Each expert's mean and bias against the others, and the alpha of each pair on the items both rated."""
    stats_rows = []
    for i, rater in enumerate(raters):
        own = m[i]
        others = np.delete(m, i, axis=0)
        has_other = (~np.isnan(others)).any(axis=0) if len(others) else np.zeros(m.shape[1], bool)
        shared = ~np.isnan(own) & has_other
        bias = None
        if shared.any():
            bias = float(np.mean(own[shared] - np.nanmean(others[:, shared], axis=0)))
        stats_rows.append(
            RaterStats(
                rater=rater,
                n_ratings=int((~np.isnan(own)).sum()),
                mean=float(np.nanmean(own)),
                bias_vs_others=bias,
                n_shared=int(shared.sum()),
            )
        )
    pairs = []
    for a, b in combinations(range(len(raters)), 2):
        both = ~np.isnan(m[a]) & ~np.isnan(m[b])
        if not both.any():
            continue
        try:
            value: float | None = package_alpha(m[[a, b]][:, both], level)
            note = None
        except AlphaUndefinedError as exc:
            value, note = None, str(exc)
        pairs.append(PairAlpha(raters=(raters[a], raters[b]), alpha=value, n_shared=int(both.sum()), note=note))
    return stats_rows, pairs


class RaterMatch(BaseModel):
    """A judge whose scores equal one rater's on nearly every item they share: is the judge that rater?"""

    model_config = ConfigDict(extra="forbid")

    rater: str
    share: float = Field(description="Share of shared items where the judge's score equals the rater's rating.")
    kappa: float = Field(description="Cohen's kappa of the equalities: 1 - (1 - share) / (1 - chance share).")
    n_shared: int


def rater_matches(judge: np.ndarray, m: np.ndarray, raters: Sequence[str]) -> list[RaterMatch]:
    """Raters the judge seems to be: equal on >= 95% of >= 10 shared items, with Cohen's kappa >= 0.8.

    The kappa keeps a judge that answers "not harmful" to everything from being taken for a rater who nearly
    always does too: equal answers are only suspicious when chance (both answering the common value) does not
    explain them.

    Args:
        judge: ``(items,)`` the judge's scores, NaN = none.
        m: ``(raters, items)`` ratings, NaN = not rated.
    """
    out = []
    for r, name in enumerate(raters):
        both = ~np.isnan(judge) & ~np.isnan(m[r])
        n = int(both.sum())
        if n < SAME_MIN_ITEMS:
            continue
        a, b = judge[both], m[r, both]
        share = float(np.mean(a == b))
        values = np.union1d(a, b)
        chance = float(sum(np.mean(a == v) * np.mean(b == v) for v in values))
        if chance >= 1.0 or share < SAME_SHARE:
            continue
        kappa = 1.0 - (1.0 - share) / (1.0 - chance)
        if kappa >= SAME_MIN_KAPPA:
            out.append(RaterMatch(rater=name, share=share, kappa=kappa, n_shared=n))
    return out

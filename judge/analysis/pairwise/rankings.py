"""Systems ranked from preferences: win rates, Bradley-Terry strengths with rank intervals, and the
length-controlled win rate against a baseline, per judge and criterion.

Each pair counts once, with its score for A (``stats.preference.pair_score``: the mean of its two orders, ties half a
win). A system's **win rate** is over all the pairs it took part in; its **strength** is its Bradley-Terry strength
(logits, mean 0 over the systems; ``stats.bradley_terry``) with a rank and a rank interval; against a named
**baseline** system, its plain and **length-controlled** win rates (AlpacaEval 2's logistic model with the length
difference term, predicted at equal length). Pairs of two replies of the same system are left out (counted). Every
CI resamples posts with one set of draws per judge and criterion (the win rates, the strengths and the
length-controlled rates move together).

Example::

    from judge.analysis.pairwise import pairwise_rankings
    res = pairwise_rankings(preferences, baseline="oracle_response", n_boot=2000)
    for r in res.rankings:
        print(r.judge, r.criterion, [(s.system, s.rank, s.strength.value) for s in r.systems])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from pydantic import Field

from judge.analysis.pairwise.preferences import Model, Preference, code
from judge.analysis.stats.bradley_terry import DEFAULT_RIDGE, bradley_terry
from judge.analysis.stats.correlation import Estimate
from judge.analysis.stats.preference import (
    LengthControlled,
    PostDraws,
    PostEstimate,
    length_controlled_win_rate,
    pair_score,
    win_rates,
)


class SystemRanking(Model):
    """One system's standing from one judge's preferences on one criterion."""

    system: str
    n_pairs: int = Field(description="Scored pairs the system took part in.")
    win_rate: PostEstimate = Field(description="Share of its pairs won, ties half, over all opponents.")
    strength: Estimate = Field(description="Bradley-Terry strength (logits, mean 0 over the systems).")
    rank: int | None = Field(default=None, description="By strength: 1 = strongest.")
    rank_ci: tuple[int, int] | None = None
    vs_baseline: LengthControlled | None = Field(
        default=None,
        description="Length-controlled win rate against the baseline (``raw``: the plain one); None for the baseline "
        "itself or without a baseline.",
    )


class JudgeRanking(Model):
    """The systems ranked by one judge's preferences on one criterion."""

    judge: str
    criterion: str
    baseline: str | None
    n_pairs: int = Field(description="Preferences read (pairs).")
    n_scored: int = Field(description="Pairs with a score in at least one order, between two different systems.")
    n_same_system: int = Field(default=0, description="Pairs of two replies of one system (left out).")
    n_posts: int
    ridge: float
    systems: list[SystemRanking] = Field(description="By rank (strongest first); systems without a strength last.")
    note: str | None = None


class PairwiseRankings(Model):
    """Systems ranked from preferences, per judge and criterion."""

    rankings: list[JudgeRanking]
    n_boot: int
    seed: int


def _rank_one(
    judge: str,
    criterion: str,
    prefs: Sequence[Preference],
    baseline: str | None,
    n_boot: int,
    seed: int,
    ridge: float,
) -> JudgeRanking:
    same = [p for p in prefs if p.system_a == p.system_b]
    use = [p for p in prefs if p.system_a != p.system_b]
    ab = np.array([code(p.verdict_ab) for p in use])
    ba = np.array([code(p.verdict_ba) for p in use])
    score = pair_score(ab, ba) if use else np.empty(0)
    posts = [p.post_id for p in use]
    systems = sorted({s for p in use for s in (p.system_a, p.system_b)})
    index = {s: i for i, s in enumerate(systems)}
    sys_a = np.array([index[p.system_a] for p in use], dtype=np.int64)
    sys_b = np.array([index[p.system_b] for p in use], dtype=np.int64)
    # Drawn over the distinct posts in sorted order with default_rng(seed): the same draws bradley_terry makes.
    draws = PostDraws.make(posts, n_boot, seed)
    rates = win_rates(sys_a, sys_b, score, len(systems), draws)
    bt = bradley_terry(
        [p.system_a for p in use], [p.system_b for p in use], score, posts, ridge=ridge, n_boot=n_boot, seed=seed
    )
    strength = {p.player: p for p in bt.players}
    rows = []
    for s in systems:
        k = index[s]
        vs = None
        if baseline is not None and s != baseline:
            vs = _vs_baseline(use, score, s, baseline, draws)
        st = strength[s]
        rows.append(
            SystemRanking(
                system=s,
                n_pairs=rates[k].n,
                win_rate=rates[k],
                strength=st.strength,
                rank=st.rank,
                rank_ci=st.rank_ci,
                vs_baseline=vs,
            )
        )
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.system))
    return JudgeRanking(
        judge=judge,
        criterion=criterion,
        baseline=baseline,
        n_pairs=len(prefs),
        n_scored=int((~np.isnan(score)).sum()),
        n_same_system=len(same),
        n_posts=len(set(posts)),
        ridge=ridge,
        systems=rows,
        note=bt.note,
    )


def _vs_baseline(
    prefs: Sequence[Preference], score: np.ndarray, system: str, baseline: str, draws: PostDraws
) -> LengthControlled:
    """The system's plain and length-controlled win rates in its pairs with the baseline."""
    rows = [
        k for k, p in enumerate(prefs) if {p.system_a, p.system_b} == {system, baseline} and p.system_a != p.system_b
    ]
    s, d = [], []
    for k in rows:
        p = prefs[k]
        a_is_system = p.system_a == system
        s.append(score[k] if a_is_system else 1.0 - score[k])
        la, lb = p.len_a, p.len_b
        diff = np.nan if la is None or lb is None else float(la - lb)
        d.append(diff if a_is_system else -diff)
    sub = PostDraws(draws.keys, draws.of[rows] if rows else np.empty(0, dtype=np.int64), draws.counts)
    return length_controlled_win_rate(np.array(s), np.array(d), sub)


def pairwise_rankings(
    preferences: Iterable[Preference],
    *,
    baseline: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    ridge: float = DEFAULT_RIDGE,
) -> PairwiseRankings:
    """Systems ranked by each judge's preferences on each criterion.

    Args:
        preferences: any judges' preferences (e.g. a pairwise run's, or the experts' ``as_preferences``).
        baseline: the system the length-controlled win rates are against (by its name in the preferences); a name
            no judge's pairs have is an error.
        n_boot, seed: resamples of posts for every CI and rank interval.
        ridge: Bradley-Terry's ridge (``stats.bradley_terry.fit_strengths``).

    Raises:
        ValueError: an unknown baseline.
    """
    groups: dict[tuple[str, str], list[Preference]] = defaultdict(list)
    for p in preferences:
        groups[(p.criterion, p.judge)].append(p)
    if baseline is not None:
        names = sorted({s for ps in groups.values() for p in ps for s in (p.system_a, p.system_b)})
        if baseline not in names:
            raise ValueError(f"baseline {baseline!r} is not a system of the preferences; expected one of {names}")
    return PairwiseRankings(
        rankings=[
            _rank_one(judge, crit, ps, baseline, n_boot, seed, ridge) for (crit, judge), ps in sorted(groups.items())
        ],
        n_boot=n_boot,
        seed=seed,
    )

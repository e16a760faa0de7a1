"""How far a pairwise judge stands from the psychologists' preferences, between the experts' ceiling and chance.

For each criterion, on the experts' pairs (``expert_preferences``), every judge gets one row:

- **accuracy** on the pairs the experts decided (1 same side, 0.5 a tie, 0 the other side), **kappa** (linear-weighted
  over B < tie < A, on the pairs in both canonical orders) and **Cohen's kappa** (unweighted) against the experts'
  preference (``judge.analysis.stats.preference``);
- **against each expert** (``vs_each_expert``): the same kappa and accuracy against the preference of each single
  expert who rated both replies: this is what the ceiling measures, so this figure, not the one against the
  experts' mean, is the one to hold against it (a mean of two experts is less noisy than either);
- **position bias**: the share of "first shown" among the judge's decided verdicts, and position consistency (both
  orders gave the same verdict).

A judge that recorded P(first is better) also gets a **position-balanced** row (``name (balanced P)``,
``balanced_preferences``): its probability of A averaged over both orders decides the pair, which cancels a constant
pull to one position (a small judge that always answers "the first" still ranks the pairs by how strongly it does).

The **ceiling** (``kind="experts"``) is one expert's preference against another's, both of whom rated both replies,
with the same statistics (each ordered pair of experts once, so neither is the reference). Three **chance rows**
(``kind="chance"``) are computed like a judge: ``chance:first`` always answers "the first shown" in both orders
(every pair a tie: accuracy 0.5, kappa 0, consistency 0), ``chance:coin`` answers "the first shown" in one order
drawn at random per pair (a coin; its agreement over many draws), and ``chance:shuffled`` is the judges' own
verdicts shuffled across the pairs (both: the mean over the draws, and their central 95%).

Every CI resamples posts with one set of draws per criterion, shared by all rows.

Example::

    from judge.analysis.pairwise import expert_preferences, pairwise_agreement
    experts = [expert_preferences(bench, c) for c in ("alignment_with_standards", "empathy")]
    res = pairwise_agreement(experts, judge_preferences, n_boot=2000)
    for crit in res.criteria:
        print(crit.criterion, crit.ceiling.kappa.value, [(r.name, r.kappa.value) for r in crit.rows])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import permutations
from typing import Literal

import numpy as np
from pydantic import Field

from judge.analysis.pairwise.experts import ExpertPreferences, MarginCount
from judge.analysis.pairwise.preferences import BALANCED, Model, Preference, balanced_preferences, code
from judge.analysis.stats.preference import (
    PostDraws,
    PostEstimate,
    accuracy,
    chance_summary,
    coin_orders,
    first_share,
    pair_verdict,
    position_consistency,
    preference_kappa,
    shuffled_values,
)

CHANCE_FIRST = "chance:first"
CHANCE_COIN = "chance:coin"
CHANCE_SHUFFLED = "chance:shuffled"
CEILING = "experts"


class PairwiseRow(Model):
    """One rater (a judge, the experts' ceiling or a chance row) against the experts' preferences on one criterion."""

    name: str
    kind: Literal["judge", "experts", "chance"] = "judge"
    description: str | None = Field(default=None, description="What a chance or ceiling row is.")
    n_pairs: int = Field(description="Experts' pairs the rater has a preference on (scored or not).")
    n_unscored: int = Field(default=0, description="Of those, pairs unscored in both orders (missing, not ties).")
    n_decided: int = Field(default=0, description="Scored pairs the reference decided: what accuracy counts.")
    n_outside: int = Field(default=0, description="The rater's pairs that are not among the experts' pairs.")
    tie_share: float | None = Field(default=None, description="Share of ties among the rater's verdicts.")
    accuracy: PostEstimate = Field(description="On the pairs the reference decided: same side 1, tie 0.5, other 0.")
    kappa: PostEstimate = Field(description="Linear-weighted kappa over B < tie < A (the headline).")
    cohen_kappa: PostEstimate = Field(description="Unweighted Cohen's kappa over {A, B, tie}.")
    vs_each_expert: PostEstimate | None = Field(
        default=None, description="Kappa against each single expert who rated both replies (comparable to the ceiling)."
    )
    accuracy_vs_each_expert: PostEstimate | None = None
    first_share: PostEstimate | None = Field(
        default=None, description="Share of 'first shown' among the decided verdicts (0.5 = no position bias)."
    )
    consistency: PostEstimate | None = Field(
        default=None, description="Share of pairs scored in both orders whose verdicts agree."
    )


class CriterionPairwise(Model):
    """Every rater against the experts' preferences on one criterion."""

    criterion: str
    margin: float = Field(description="Mean ratings must differ by more than this for the experts to decide.")
    n_pairs: int = Field(description="The experts' pairs.")
    n_decided: int
    n_posts: int
    by_margin: list[MarginCount]
    ceiling: PairwiseRow
    rows: list[PairwiseRow] = Field(description="Judges by kappa (best first), then the chance rows.")


class PairwiseAgreement(Model):
    """Pairwise judges against the experts' preferences, per criterion."""

    benchmark: str
    criteria: list[CriterionPairwise]
    n_boot: int
    seed: int


def _tie_share(verdicts: np.ndarray) -> float | None:
    scored = verdicts[~np.isnan(verdicts)]
    return float(np.mean(scored == 0.5)) if len(scored) else None


def _join(experts: ExpertPreferences, prefs: Sequence[Preference]) -> tuple[list[int], list[Preference], int]:
    """The experts' pair index of each preference (oriented as the experts' pair), and how many fall outside."""
    index = {tuple(sorted((p.item_a, p.item_b))): k for k, p in enumerate(experts.pairs)}
    idx, oriented, outside = [], [], 0
    seen: set[int] = set()
    for pref in prefs:
        k = index.get(pref.key)
        if k is None:
            outside += 1
            continue
        if k in seen:
            raise ValueError(f"judge {pref.judge!r} has two preferences on {pref.key} for {pref.criterion!r}")
        seen.add(k)
        idx.append(k)
        oriented.append(pref if pref.item_a == experts.pairs[k].item_a else pref.swapped())
    return idx, oriented, outside


def _rate(
    name: str,
    kind: Literal["judge", "chance"],
    experts: ExpertPreferences,
    prefs: Sequence[Preference],
    draws: PostDraws,
    reference: np.ndarray,
    *,
    description: str | None = None,
) -> tuple[PairwiseRow, np.ndarray, np.ndarray]:
    """A row computed from preferences, and its verdicts with the reference on the joined pairs."""
    idx, oriented, outside = _join(experts, prefs)
    ab = np.array([code(p.verdict_ab) for p in oriented])
    ba = np.array([code(p.verdict_ba) for p in oriented])
    verdict = pair_verdict(ab, ba) if oriented else np.empty(0)
    ref = reference[idx]
    posts = [experts.pairs[k].post_id for k in idx]
    d = draws.for_units(posts)
    # Against each single expert who rated both replies: one unit per (pair, expert).
    pairs = [experts.pairs[k] for k in idx]
    units = [(j, experts.rater_verdict(p, rater)) for j, p in enumerate(pairs) for rater in p.raters]
    each_v = np.array([verdict[j] for j, _ in units])
    each_r = np.array([code(v) for _, v in units])
    each = draws.for_units([posts[j] for j, _ in units])
    row = PairwiseRow(
        name=name,
        kind=kind,
        description=description,
        n_pairs=len(idx),
        n_unscored=int(np.isnan(verdict).sum()),
        n_decided=int((~np.isnan(verdict) & np.isin(ref, (0.0, 1.0))).sum()),
        n_outside=outside,
        tie_share=_tie_share(verdict),
        accuracy=accuracy(verdict, ref, d),
        kappa=preference_kappa(verdict, ref, d),
        cohen_kappa=preference_kappa(verdict, ref, d, weighting="none"),
        vs_each_expert=preference_kappa(each_v, each_r, each) if units else None,
        accuracy_vs_each_expert=accuracy(each_v, each_r, each) if units else None,
        first_share=first_share(ab, ba, d),
        consistency=position_consistency(ab, ba, d),
    )
    return row, verdict, ref


def _ceiling(experts: ExpertPreferences, draws: PostDraws) -> PairwiseRow:
    """One expert against another on the pairs both rated, each ordered pair of experts once."""
    v, r, posts = [], [], []
    for p in experts.pairs:
        for r1, r2 in permutations(sorted(p.raters), 2):
            v.append(code(experts.rater_verdict(p, r1)))
            r.append(code(experts.rater_verdict(p, r2)))
            posts.append(p.post_id)
    va, ra = np.array(v), np.array(r)
    d = draws.for_units(posts)
    n_pairs = sum(len(p.raters) >= 2 for p in experts.pairs)
    kappa, acc = preference_kappa(va, ra, d), accuracy(va, ra, d)
    return PairwiseRow(
        name=CEILING,
        kind="experts",
        description="one expert's preference against another's, both of whom rated both replies (each way)",
        n_pairs=n_pairs,
        n_decided=acc.n,
        tie_share=_tie_share(va),
        accuracy=acc,
        kappa=kappa,
        cohen_kappa=preference_kappa(va, ra, d, weighting="none"),
        vs_each_expert=kappa,
        accuracy_vs_each_expert=acc,
    )


def _always_first(experts: ExpertPreferences, *, coin_seed: int | None) -> list[Preference]:
    """A judge that answers "the first shown": in both orders, or (``coin_seed``) in one order drawn per pair."""
    out = []
    prefs = experts.as_preferences(CHANCE_FIRST if coin_seed is None else CHANCE_COIN)
    shown_ab = None if coin_seed is None else coin_orders(len(prefs), coin_seed)
    for i, p in enumerate(prefs):
        if shown_ab is None:
            out.append(p.model_copy(update={"verdict_ab": "A", "verdict_ba": "B"}))
        elif shown_ab[i]:
            out.append(p.model_copy(update={"verdict_ab": "A", "verdict_ba": None}))
        else:
            out.append(p.model_copy(update={"verdict_ab": None, "verdict_ba": "B"}))
    return out


def _coin(experts: ExpertPreferences, draws: PostDraws, reference: np.ndarray, n_perm: int, seed: int) -> PairwiseRow:
    """ "The first shown" in one order drawn at random per pair: a coin. One draw of it is noise on a few dozen pairs,
    so its agreement is the mean over ``n_perm`` draws (with their central 95%); its position figures are exact."""
    row, _, _ = _rate(CHANCE_COIN, "chance", experts, _always_first(experts, coin_seed=seed), draws, reference)
    n, n_posts = len(experts.pairs), experts.n_posts
    coins = shuffled_values(np.ones(n), reference, n_perm=n_perm, seed=seed)
    each_r = np.array([code(experts.rater_verdict(p, r)) for p in experts.pairs for r in p.raters])
    each = shuffled_values(np.ones(len(each_r)), each_r, n_perm=n_perm, seed=seed + 1)
    return row.model_copy(
        update={
            "description": f"answers 'the first shown' in one order drawn at random per pair ({n_perm} draws; "
            "value = mean, interval = central 95%)",
            "accuracy": chance_summary(coins["accuracy"], n, n_posts),
            "kappa": chance_summary(coins["kappa"], n, n_posts),
            "cohen_kappa": chance_summary(coins["cohen_kappa"], n, n_posts),
            "vs_each_expert": chance_summary(each["kappa"], len(each_r), n_posts) if len(each_r) else None,
            "accuracy_vs_each_expert": chance_summary(each["accuracy"], len(each_r), n_posts) if len(each_r) else None,
        }
    )


def _criterion(
    experts: ExpertPreferences, prefs: Sequence[Preference], n_boot: int, seed: int, n_perm: int
) -> CriterionPairwise:
    draws = PostDraws.make([p.post_id for p in experts.pairs], n_boot, seed)
    reference = np.array([code(p.verdict) for p in experts.pairs])
    by_judge: dict[str, list[Preference]] = defaultdict(list)
    for p in prefs:
        by_judge[p.judge].append(p)
    given = set(by_judge)
    for p in balanced_preferences(prefs):  # judges that recorded probabilities: also their position-balanced row
        if p.judge not in given:
            by_judge[p.judge].append(p)
    judges, sources = [], []
    for name in sorted(by_judge):
        row, verdict, ref = _rate(name, "judge", experts, by_judge[name], draws, reference)
        if name.endswith(BALANCED):  # one verdict in both orders: position figures would read as perfect
            row = row.model_copy(
                update={
                    "description": "P(A better) averaged over both orders: A above 0.5, B below (position-balanced)",
                    "first_share": None,
                    "consistency": None,
                }
            )
        judges.append(row)
        sources.append((verdict, ref))
    judges.sort(key=lambda r: -np.inf if r.kappa.value is None else -r.kappa.value)
    chance = [
        _rate(
            CHANCE_FIRST,
            "chance",
            experts,
            _always_first(experts, coin_seed=None),
            draws,
            reference,
            description="answers 'the first shown' in both orders (every pair a tie)",
        )[0],
        _coin(experts, draws, reference, n_perm, seed + 1),
        _shuffled(experts, sources, reference, n_perm, seed + 2),
    ]
    decided = int(np.isin(reference, (0.0, 1.0)).sum())
    return CriterionPairwise(
        criterion=experts.criterion,
        margin=experts.margin,
        n_pairs=len(experts.pairs),
        n_decided=decided,
        n_posts=experts.n_posts,
        by_margin=experts.by_margin,
        ceiling=_ceiling(experts, draws),
        rows=judges + chance,
    )


def _shuffled(
    experts: ExpertPreferences,
    sources: list[tuple[np.ndarray, np.ndarray]],
    reference: np.ndarray,
    n_perm: int,
    seed: int,
) -> PairwiseRow:
    """The judges' verdicts shuffled across the pairs (the experts' own, with no judge); shuffles pooled."""
    whose = "the judges' own verdicts" if sources else "the experts' own verdicts"
    if not sources:
        sources = [(reference, reference)]
    per = [n_perm // len(sources) + (k < n_perm % len(sources)) for k in range(len(sources))]
    pooled: dict[str, list[np.ndarray]] = defaultdict(list)
    for k, ((v, r), p) in enumerate(zip(sources, per, strict=True)):
        for stat, values in shuffled_values(v, r, n_perm=p, seed=seed + k).items():
            pooled[stat].append(values)
    n = max(int((~np.isnan(v) & ~np.isnan(r)).sum()) for v, r in sources)
    n_decided = max(int((~np.isnan(v) & np.isin(r, (0.0, 1.0))).sum()) for v, r in sources)
    n_posts = len({p.post_id for p in experts.pairs})
    stats = {k: chance_summary(np.concatenate(v), n, n_posts) for k, v in pooled.items()}
    return PairwiseRow(
        name=CHANCE_SHUFFLED,
        kind="chance",
        description=f"{whose} shuffled across the pairs ({n_perm} shuffles; value = mean, interval = central 95%)",
        n_pairs=n,
        n_decided=n_decided,
        accuracy=stats["accuracy"],
        kappa=stats["kappa"],
        cohen_kappa=stats["cohen_kappa"],
    )


def pairwise_agreement(
    experts: ExpertPreferences | Sequence[ExpertPreferences],
    preferences: Iterable[Preference],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    n_perm: int | None = None,
) -> PairwiseAgreement:
    """Every judge's preferences against the experts', per criterion, beside the ceiling and the chance rows.

    Args:
        experts: the experts' preferences of each criterion (``expert_preferences``; ``restricted`` to a subset of
            pairs such as the validity pairs if only those were judged).
        preferences: any judges' preferences (by ``judge`` and ``criterion``); pairs the experts do not have are
            counted (``n_outside``) and left out; a criterion without experts' preferences is an error.
        n_boot, seed: resamples of posts for every CI (one set of draws per criterion, shared by all rows).
        n_perm: shuffles of the shuffled chance row (default ``max(n_boot, 200)``).

    Raises:
        ValueError: preferences on a criterion with no experts' preferences given, or two preferences of one judge
            on one pair.
    """
    sets = [experts] if isinstance(experts, ExpertPreferences) else list(experts)
    if not sets:
        raise ValueError("pairwise_agreement needs the experts' preferences of at least one criterion")
    by_criterion: dict[str, list[Preference]] = defaultdict(list)
    for p in preferences:
        by_criterion[p.criterion].append(p)
    known = {e.criterion for e in sets}
    unknown = sorted(set(by_criterion) - known)
    if unknown:
        raise ValueError(f"preferences on {unknown}: no experts' preferences for them; expected one of {sorted(known)}")
    perms = n_perm if n_perm is not None else max(n_boot, 200)
    return PairwiseAgreement(
        benchmark=sets[0].benchmark,
        criteria=[_criterion(e, by_criterion.get(e.criterion, []), n_boot, seed, perms) for e in sets],
        n_boot=n_boot,
        seed=seed,
    )

"""The validity pairs: a fixed stratified set of pairs of rated replies, for measuring a pairwise judge against
the experts (every post x dimension group, both criteria, balanced over the experts' margin).

Example::

    from judge.analysis.pairwise.validity import validity_pairs
    pairs = validity_pairs(bench, per_group=3, seed=0)
    [(p.criterion, p.item_a, p.item_b, p.stratum) for p in pairs[:3]]
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from pydantic import Field

from judge.analysis.pairwise.experts import ExpertPair, expert_preferences
from judge.analysis.pairwise.preferences import Model
from judge.data.benchmark import Benchmark

#: The criteria of the validity pairs.
VALIDITY_CRITERIA: tuple[str, ...] = ("alignment_with_standards", "empathy")


class ValidityPair(Model):
    """One pair of the validity set: judge ``item_a`` against ``item_b`` on ``criterion`` (in both orders)."""

    criterion: str
    group: str
    post_id: str
    item_a: str
    item_b: str
    expert_margin: float = Field(description="|difference of the experts' mean ratings|.")
    stratum: int = Field(description="The margin stratum: 0 tie, then one per interval between the edges.")
    two_experts: bool = Field(description="At least two experts rated both replies (the pair counts in the ceiling).")


def _rank(seed: int, *parts: str) -> str:
    return hashlib.sha256(":".join([str(seed), *parts]).encode()).hexdigest()


def validity_pairs(
    bench: Benchmark,
    *,
    per_group: int,
    seed: int = 0,
    criteria: Sequence[str] = VALIDITY_CRITERIA,
    edges: Sequence[float] = (1.0, 2.0),
) -> list[ValidityPair]:
    """A fixed stratified set of pairs: every comparable group of each criterion, balanced over the expert margin.

    For each criterion, every comparable group (post x dimension, ``comparable_groups``) with at least two replies
    rated on the criterion gives ``min(per_group, its pairs)`` pairs. The group's pairs are put in strata by the
    experts' margin ``d = |mean A - mean B|`` in rating points: stratum 0 holds ``d <= edges[0]``, stratum ``k``
    holds ``edges[k-1] < d <= edges[k]``, the last ``d > edges[-1]`` (by default: close calls, ties among them, up
    to 1 point; 1 to 2 points; more than 2). Pairs are taken
    round-robin over the strata in order (0, 1, 2, 0, 1, 2, ...), skipping empty ones, so a group's strata differ
    in size by at most one unless a stratum ran out. Within a stratum, pairs whose two replies were both rated by
    at least two of the same experts come first (``two_experts``: the experts' ceiling can then be measured on the
    pairs the judge is measured on), each kind in an order fixed by ``seed`` (a hash of the seed and the pair).
    Which reply is A is also fixed by the hash (not by benchmark order). The same benchmark, seed and arguments
    always give the same list, sorted by criterion, group and pair.

    Balancing over the margin gives wide margins more weight than they have among all pairs, so figures on these
    pairs are not those of all pairs; the experts' ceiling moves most, because the margin is made of the two
    experts' own ratings (a close call is often two experts who disagree). Hold a judge against the ceiling on
    the same pairs, and quote the ceiling on all pairs beside it. Ties are not a stratum of their own for the same
    reason: with two experts a tie of the means is mostly a disagreement between them.
    """
    if per_group < 1:
        raise ValueError(f"per_group must be >= 1, got {per_group}")
    out = []
    for criterion in criteria:
        prefs = expert_preferences(bench, criterion)
        by_group: dict[str, list[ExpertPair]] = defaultdict(list)
        for p in prefs.pairs:
            by_group[p.group].append(p)
        for group in sorted(by_group):
            strata: dict[int, list[ExpertPair]] = defaultdict(list)
            for p in by_group[group]:
                d = round(abs(p.mean_a - p.mean_b), 9)
                strata[sum(d > e for e in edges)].append(p)
            queues = [
                sorted(strata[k], key=lambda p: (len(p.raters) < 2, _rank(seed, criterion, p.item_a, p.item_b)))
                for k in sorted(strata)
            ]
            chosen: list[tuple[int, ExpertPair]] = []
            while len(chosen) < per_group and any(queues):
                for k, q in zip(sorted(strata), queues, strict=True):
                    if q and len(chosen) < per_group:
                        chosen.append((k, q.pop(0)))
            for k, p in chosen:
                a, b = p.item_a, p.item_b
                if int(_rank(seed, "order", a, b)[0], 16) % 2:
                    a, b = b, a
                out.append(
                    ValidityPair(
                        criterion=criterion,
                        group=group,
                        post_id=p.post_id,
                        item_a=a,
                        item_b=b,
                        expert_margin=round(abs(p.mean_a - p.mean_b), 9),
                        stratum=k,
                        two_experts=len(p.raters) >= 2,
                    )
                )
    return sorted(out, key=lambda v: (v.criterion, v.group, v.item_a, v.item_b))

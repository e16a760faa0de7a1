"""The experts' preferences: from their ratings of two comparable replies, which one they prefer, at a margin.

Two rated replies to the same post and appraisal dimension (and, in a conversation, the same context) are a pair.
The experts prefer A when A's mean rating exceeds B's by more than the margin, B in the reverse case, and call it a
tie otherwise. Each expert who rated both replies also has their own preference (their two ratings, same margin):
two such experts are the ceiling any judge is measured against. ``by_margin`` says how many pairs each margin
decides, for the experts' means and for single experts.

Example::

    from judge.analysis.pairwise.experts import expert_preferences
    prefs = expert_preferences(bench, "empathy", margin=0.5)
    [(m.margin, m.n_decided, m.n_pairs) for m in prefs.by_margin]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations

import numpy as np
from pydantic import Field

from judge.analysis.experts import expert_matrix
from judge.analysis.pairwise.preferences import (
    EXPERTS,
    Model,
    Preference,
    Verdict,
    comparable_key,
    side,
)
from judge.data.benchmark import Benchmark

#: The margins at which ``expert_preferences`` counts decided pairs (mean ratings differing by more than each).
MARGINS: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


class ExpertPair(Model):
    """Two comparable rated replies and the experts' preference between them."""

    post_id: str
    group: str
    item_a: str
    item_b: str
    system_a: str
    system_b: str
    len_a: int
    len_b: int
    mean_a: float = Field(description="Mean expert rating of reply A.")
    mean_b: float
    verdict: Verdict = Field(description="A or B when the means differ by more than the margin, else tie.")
    raters: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="Each expert who rated both replies: (rating of A, rating of B)."
    )


class MarginCount(Model):
    """How many pairs the experts decide at one margin."""

    margin: float
    n_pairs: int
    n_decided: int = Field(description="Pairs whose mean ratings differ by more than the margin.")
    n_rater_pairs: int = Field(description="Pair x expert, for experts who rated both replies.")
    n_rater_decided: int = Field(description="Of those, the expert's own two ratings differ by more than the margin.")


class ExpertPreferences(Model):
    """The experts' preferences on every comparable pair of rated replies, on one criterion."""

    benchmark: str
    criterion: str
    margin: float
    lower_is_better: bool = Field(
        default=False, description="The criterion's low end is better (harmfulness): the lower mean is preferred."
    )
    pairs: list[ExpertPair]
    by_margin: list[MarginCount]
    n_groups: int = Field(description="Comparable groups (post x dimension) with at least two rated replies.")
    n_posts: int

    def rater_verdict(self, pair: ExpertPair, rater: str) -> Verdict:
        """One expert's own preference on the pair (their two ratings, at this margin)."""
        ra, rb = pair.raters[rater]
        return side(rb - ra if self.lower_is_better else ra - rb, self.margin)

    def as_preferences(self, judge: str = EXPERTS) -> list[Preference]:
        """The experts as a judge: their verdict in both orders (for rankings from the experts' preferences)."""
        return [
            Preference(
                post_id=p.post_id,
                group=p.group,
                criterion=self.criterion,
                judge=judge,
                item_a=p.item_a,
                item_b=p.item_b,
                system_a=p.system_a,
                system_b=p.system_b,
                len_a=p.len_a,
                len_b=p.len_b,
                verdict_ab=p.verdict,
                verdict_ba=p.verdict,
            )
            for p in self.pairs
        ]

    def restricted(self, pairs: Iterable[tuple[str, str]]) -> ExpertPreferences:
        """Only these pairs (in either order), e.g. the validity pairs; the margin counts are recounted."""
        keep = {tuple(sorted(p)) for p in pairs}
        kept = [p for p in self.pairs if tuple(sorted((p.item_a, p.item_b))) in keep]
        return self.model_copy(
            update={
                "pairs": kept,
                "by_margin": _margin_counts(kept, [m.margin for m in self.by_margin]),
                "n_groups": len({p.group for p in kept}),
                "n_posts": len({p.post_id for p in kept}),
            }
        )


def _margin_counts(pairs: Sequence[ExpertPair], margins: Iterable[float]) -> list[MarginCount]:
    out = []
    for m in sorted(set(margins)):
        rater_diffs = [ra - rb for p in pairs for ra, rb in p.raters.values()]
        out.append(
            MarginCount(
                margin=m,
                n_pairs=len(pairs),
                n_decided=sum(side(p.mean_a - p.mean_b, m) != "tie" for p in pairs),
                n_rater_pairs=len(rater_diffs),
                n_rater_decided=sum(side(d, m) != "tie" for d in rater_diffs),
            )
        )
    return out


def comparable_groups(bench: Benchmark, criterion: str) -> dict[str, list[str]]:
    """Comparable group -> the items rated on ``criterion`` in it (benchmark order), groups of two or more only."""
    groups: dict[str, list[str]] = defaultdict(list)
    for item_id in bench.rated_item_ids(criterion):
        groups[comparable_key(bench.items[item_id])].append(item_id)
    return {g: ids for g, ids in groups.items() if len(ids) >= 2}


def expert_preferences(
    bench: Benchmark,
    criterion: str,
    *,
    margin: float = 0.0,
    margins: Sequence[float] = MARGINS,
    lower_is_better: bool = False,
) -> ExpertPreferences:
    """The experts' preference on every pair of comparable replies both rated on ``criterion``.

    Replies are comparable when they share ``post_id``, ``dimension_id`` and, for conversations, the context turns
    (``comparable_key``). A is the reply that comes first in the benchmark. The pair is decided (A or B) when the
    mean ratings differ by more than ``margin``, else a tie. Each expert who rated both replies also gives their own
    preference at the same margin (``ExpertPreferences.rater_verdict``): two such experts make the ceiling.

    Args:
        margin: the difference of mean ratings (on the criterion's scale) a decided pair needs to exceed.
        margins: the margins ``by_margin`` counts decided pairs at (``margin`` is added).
        lower_is_better: the criterion's rubric has ``direction: lower`` (harmfulness): the reply with the lower
            mean is preferred, as a pairwise judge is asked which reply is better, not which scores higher.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    raters, items, m = expert_matrix(bench, criterion)
    col = {it: j for j, it in enumerate(items)}
    pairs: list[ExpertPair] = []
    for ids in comparable_groups(bench, criterion).values():
        for a, b in combinations(ids, 2):
            ja, jb = col[a], col[b]
            va, vb = m[:, ja], m[:, jb]
            both = ~np.isnan(va) & ~np.isnan(vb)
            ia, ib = bench.items[a], bench.items[b]
            mean_a, mean_b = float(np.nanmean(va)), float(np.nanmean(vb))
            pairs.append(
                ExpertPair(
                    post_id=ia.post_id,
                    group=comparable_key(ia),
                    item_a=a,
                    item_b=b,
                    system_a=ia.system_name,
                    system_b=ib.system_name,
                    len_a=len(ia.judged_text),
                    len_b=len(ib.judged_text),
                    mean_a=mean_a,
                    mean_b=mean_b,
                    verdict=side(mean_b - mean_a if lower_is_better else mean_a - mean_b, margin),
                    raters={raters[r]: (float(va[r]), float(vb[r])) for r in np.flatnonzero(both)},
                )
            )
    return ExpertPreferences(
        benchmark=bench.name,
        criterion=criterion,
        margin=margin,
        lower_is_better=lower_is_better,
        pairs=pairs,
        by_margin=_margin_counts(pairs, [*margins, margin]),
        n_groups=len({p.group for p in pairs}),
        n_posts=len({p.post_id for p in pairs}),
    )

"""Self-consistency: how a judge's repeated samples of one item agree with each other.

With ``--samples N`` a judge scores every item N times (at a temperature above 0). Per judge and criterion, over
the items with at least two scored samples: the mean over items of the standard deviation of their samples
(population SD: the spread of these samples, not an estimate of a wider population's), and the share of items on
which every sample gave the same score. Figures are rounded to 4 decimals, as ``judge run`` prints them.

Example::

    from judge.analysis.stats.consistency import self_consistency
    self_consistency({("gpt", "empathy", "i1"): [3.0, 3.0], ("gpt", "empathy", "i2"): [2.0, 4.0]})
    # {'gpt': {'empathy': Consistency(items=2, mean_sd=0.5, all_agree_rate=0.5)}}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class Consistency(BaseModel):
    """How a judge's repeated samples of one item agree (items with at least two scored samples)."""

    model_config = ConfigDict(extra="forbid")

    items: int = Field(description="Items with two or more scored samples.")
    mean_sd: float = Field(description="Mean over those items of the standard deviation across samples.")
    all_agree_rate: float = Field(description="Share of those items where every sample gave the same score.")


def consistency(lists: Sequence[Sequence[float]]) -> Consistency | None:
    """The self-consistency of one judge on one criterion from each item's scored samples (None: no item has two)."""
    reps = [list(v) for v in lists if len(v) >= 2]
    if not reps:
        return None
    return Consistency(
        items=len(reps),
        mean_sd=round(float(np.mean([np.std(v) for v in reps])), 4),
        all_agree_rate=round(sum(len(set(v)) == 1 for v in reps) / len(reps), 4),
    )


def self_consistency(samples: Mapping[tuple[str, str, str], Sequence[float]]) -> dict[str, dict[str, Consistency]]:
    """judge -> criterion -> ``Consistency``, from ``(judge, criterion, item) -> scored samples`` (only judges and
    criteria with an item of two or more samples appear)."""
    by_jc: dict[tuple[str, str], list[Sequence[float]]] = defaultdict(list)
    for (judge, crit, _), vals in samples.items():
        by_jc[(judge, crit)].append(vals)
    out: dict[str, dict[str, Consistency]] = defaultdict(dict)
    for (judge, crit), lists in by_jc.items():
        c = consistency(lists)
        if c is not None:
            out[judge][crit] = c
    return dict(out)

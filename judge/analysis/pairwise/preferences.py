"""Preferences: one judge's verdicts on one pair of comparable replies, asked in both orders.

``Preference`` is the row every pairwise analysis reads. A and B are the pair's canonical order; the judge's verdict
in each order (A shown first: ``verdict_ab``; B shown first: ``verdict_ba``) is mapped back to A/B, so a judge that
always picks the reply shown first reads as A in one order and B in the other. Preferences come from pairwise run
records (``preferences_from_records``: a few lines over the records' ``order`` and verdict as shown) or from any
judge's absolute scores (``preferences_from_scores``).

Example::

    from judge.analysis.pairwise.preferences import preferences_from_records
    prefs = preferences_from_records(bench, [
        {"judge": "local", "criterion": "empathy", "item_a": "resort:3", "item_b": "resort:4",
         "order": "ab", "verdict": "first", "p_first": 0.8},
        {"judge": "local", "criterion": "empathy", "item_a": "resort:3", "item_b": "resort:4",
         "order": "ba", "verdict": "second", "p_first": 0.3},
    ])
    prefs[0].verdict_ab, prefs[0].verdict_ba, prefs[0].p_a      # 'A', 'A', 0.75
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge.analysis.stats.preference import VERDICT_SCORE
from judge.data.benchmark import Benchmark, Item

Verdict = Literal["A", "B", "tie"]
Order = Literal["ab", "ba"]
Shown = Literal["first", "second", "tie"]


#: The name the experts go by when their preferences are read as a judge's.
EXPERTS = "experts"


class Model(BaseModel):
    """The pairwise models' base: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# -- verdicts ------------------------------------------------------------------------------------------------------


def canonical_verdict(order: Order, shown: Shown | None) -> Verdict | None:
    """The verdict on the canonical pair from the verdict as shown: in order "ab" the first shown is A, in "ba" B."""
    if shown is None:
        return None
    if shown not in ("first", "second", "tie"):
        raise ValueError(f"verdict as shown {shown!r}: expected 'first', 'second', 'tie' or None")
    if shown == "tie":
        return "tie"
    first_is_a = (order == "ab") == (shown == "first")
    return "A" if first_is_a else "B"


_FLIP: dict[Verdict, Verdict] = {"A": "B", "B": "A", "tie": "tie"}


def flip(v: Verdict | None) -> Verdict | None:
    """The same verdict with A and B exchanged."""
    return None if v is None else _FLIP[v]


def code(v: Verdict | None) -> float:
    """A verdict as the statistics code it: 1 A, 0.5 tie, 0 B, NaN unscored."""
    return np.nan if v is None else VERDICT_SCORE[v]


def verdict_of(score: float) -> Verdict | None:
    """The verdict of a code (``code``'s inverse)."""
    if np.isnan(score):
        return None
    return "A" if score == 1.0 else "B" if score == 0.0 else "tie"


def side(diff: float, margin: float) -> Verdict:
    """A if A's value exceeds B's by more than ``margin``, B if the reverse, else tie (rounding-safe)."""
    d = round(diff, 9)
    return "A" if d > margin else "B" if d < -margin else "tie"


class Preference(Model):
    """One judge's verdicts on one pair of replies on one criterion, asked in both orders.

    A and B are the pair's canonical order; ``verdict_ab`` is the verdict when A was shown first, ``verdict_ba``
    when B was, both mapped back to A/B (``canonical_verdict``); None = that order is unscored (or was not asked).
    ``p_first_*`` is the judge's probability that the reply shown first is better, as recorded (None if unknown).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    post_id: str = Field(description="The post both replies answer; resamples draw whole posts.")
    group: str = Field(description="What makes the replies comparable: post x dimension (x conversation context).")
    criterion: str
    judge: str
    item_a: str
    item_b: str
    system_a: str
    system_b: str
    len_a: int | None = Field(default=None, description="Characters of reply A (the judged text).")
    len_b: int | None = None
    verdict_ab: Verdict | None = None
    verdict_ba: Verdict | None = None
    p_first_ab: float | None = Field(default=None, ge=0.0, le=1.0)
    p_first_ba: float | None = Field(default=None, ge=0.0, le=1.0)

    @property
    def key(self) -> tuple[str, str]:
        """The pair whatever its order (sorted item ids)."""
        return (self.item_a, self.item_b) if self.item_a <= self.item_b else (self.item_b, self.item_a)

    @property
    def p_a(self) -> float | None:
        """The judge's probability that A is better, averaged over the orders recorded."""
        ps = [p for p in (self.p_first_ab, None if self.p_first_ba is None else 1.0 - self.p_first_ba) if p is not None]
        return sum(ps) / len(ps) if ps else None

    def swapped(self) -> Preference:
        """The same preference with A and B exchanged (its AB order is this one's BA order)."""
        return Preference(
            post_id=self.post_id,
            group=self.group,
            criterion=self.criterion,
            judge=self.judge,
            item_a=self.item_b,
            item_b=self.item_a,
            system_a=self.system_b,
            system_b=self.system_a,
            len_a=self.len_b,
            len_b=self.len_a,
            verdict_ab=flip(self.verdict_ba),
            verdict_ba=flip(self.verdict_ab),
            p_first_ab=self.p_first_ba,
            p_first_ba=self.p_first_ab,
        )


def comparable_key(item: Item) -> str:
    """What two replies must share to be compared: post, appraisal dimension and, in a conversation, the context
    (the turns before the first judged turn)."""
    key = item.input_key
    if item.conversation is not None:
        first = item.judged_turn_numbers[0]
        context = [[t.role, t.text] for t in item.conversation[: first - 1]]
        key += "|" + hashlib.sha256(json.dumps(context).encode()).hexdigest()[:16]
    return key


def _pair(bench: Benchmark, a: str, b: str, criterion: str, judge: str, **verdicts: Any) -> Preference:
    ia, ib = bench.items[a], bench.items[b]
    if comparable_key(ia) != comparable_key(ib):
        raise ValueError(f"items {a!r} and {b!r} are not comparable: they answer different posts or contexts")
    return Preference(
        post_id=ia.post_id,
        group=comparable_key(ia),
        criterion=criterion,
        judge=judge,
        item_a=a,
        item_b=b,
        system_a=ia.system_name,
        system_b=ib.system_name,
        len_a=len(ia.judged_text),
        len_b=len(ib.judged_text),
        **verdicts,
    )


_MISSING = object()


def _field(record: Any, name: str, default: Any = _MISSING) -> Any:
    value = record.get(name, default) if isinstance(record, Mapping) else getattr(record, name, default)
    if value is _MISSING:
        raise ValueError(f"a pairwise record has no {name!r}: {record!r}"[:300])
    return value


def preferences_from_records(bench: Benchmark, records: Iterable[Any]) -> list[Preference]:
    """Preferences from pairwise run records (mappings or objects with ``judge``, ``criterion``, ``item_a``,
    ``item_b``, ``order`` "ab"/"ba", ``verdict`` as shown "first"/"second"/"tie" or None, and optionally
    ``p_first``).

    ``order`` "ab" means ``item_a`` was shown first. The records of one judge, criterion and pair become one
    ``Preference`` whose A is the ``item_a`` of the pair's first record (a record naming the pair the other way round
    is turned to match).

    Raises:
        ValueError: a record without a field, an unknown item, a bad order or verdict, or two records of the same pair,
            order, judge and criterion.
    """
    merged: dict[tuple[str, str, tuple[str, str]], dict[str, Any]] = {}
    for rec in records:
        judge, crit = str(_field(rec, "judge")), str(_field(rec, "criterion"))
        a, b, order = str(_field(rec, "item_a")), str(_field(rec, "item_b")), _field(rec, "order")
        if order not in ("ab", "ba"):
            raise ValueError(f"record of {a!r} vs {b!r}: order {order!r}, expected 'ab' or 'ba'")
        for it in (a, b):
            if it not in bench.items:
                raise ValueError(f"record of {a!r} vs {b!r}: item {it!r} is not in benchmark {bench.name!r}")
        slot = merged.setdefault((judge, crit, (a, b) if a <= b else (b, a)), {"item_a": a, "item_b": b})
        if slot["item_a"] != a:  # the pair named the other way round: its "ab" is our "ba"
            order = "ba" if order == "ab" else "ab"
        if f"verdict_{order}" in slot:
            raise ValueError(f"two records of {a!r} vs {b!r} in one order for judge {judge!r} on {crit!r}")
        slot[f"verdict_{order}"] = canonical_verdict(order, _field(rec, "verdict"))
        slot[f"p_first_{order}"] = _field(rec, "p_first", None)
    return [
        _pair(bench, slot.pop("item_a"), slot.pop("item_b"), crit, judge, **slot)
        for (judge, crit, _), slot in merged.items()
    ]


#: Appended to a judge's name for its position-balanced preferences (``balanced_preferences``).
BALANCED = " (balanced P)"


def balanced_preferences(prefs: Iterable[Preference]) -> list[Preference]:
    """Each judge's preferences decided by its probabilities, averaged over the two orders (judge ``name + BALANCED``).

    A judge with a strong position bias picks the reply shown first in both orders, so its verdicts say nothing,
    yet its P(first is better) still moves with the replies. Averaging P(A better) over the orders, ``(P_ab + 1 -
    P_ba) / 2`` (``Preference.p_a``), cancels a constant pull to either position (the "balanced position
    calibration" of Wang et al., 2023, "Large Language Models are not Fair Evaluators"): the verdict is A above
    0.5, B below, a tie at exactly 0.5. Both orders carry that one verdict, so such a row has no position figures
    of its own. Only judges with a probability recorded in some order get a row; a pair missing either order's
    probability is unscored in it.
    """
    out = []
    prefs = list(prefs)
    with_p = {p.judge for p in prefs if p.p_first_ab is not None or p.p_first_ba is not None}
    for p in prefs:
        if p.judge not in with_p:
            continue
        verdict: Verdict | None = None
        if p.p_first_ab is not None and p.p_first_ba is not None and p.p_a is not None:
            verdict = side(p.p_a - 0.5, 0.0)
        out.append(p.model_copy(update={"judge": p.judge + BALANCED, "verdict_ab": verdict, "verdict_ba": verdict}))
    return out


def preferences_from_scores(
    bench: Benchmark,
    scores: Mapping[str, float | None],
    criterion: str,
    *,
    judge: str,
    pairs: Iterable[tuple[str, str]] | None = None,
    margin: float = 0.0,
    lower_is_better: bool = False,
) -> list[Preference]:
    """A judge's absolute scores turned into preferences: A when A's score exceeds B's by more than ``margin``.

    Scoring has no order, so both orders get the same verdict (a scoring judge is position-consistent and has no
    position bias, by construction). A pair with an unscored reply is unscored.

    Args:
        scores: item id -> the judge's score on ``criterion`` (None = unscored), e.g. ``JudgeScores.scores[c]``.
        pairs: the pairs (canonical order) to make; default every comparable pair of items the judge scored.
        lower_is_better: the criterion's low end is better (``direction: lower``): the lower score is preferred.
    """
    if pairs is None:
        groups: dict[str, list[str]] = defaultdict(list)
        for item_id in bench.items:
            if scores.get(item_id) is not None:
                groups[comparable_key(bench.items[item_id])].append(item_id)
        pairs = [p for ids in groups.values() for p in combinations(ids, 2)]
    out = []
    for a, b in pairs:
        sa, sb = scores.get(a), scores.get(b)
        verdict: Verdict | None = (
            None if sa is None or sb is None else side(sb - sa if lower_is_better else sa - sb, margin)
        )
        out.append(_pair(bench, a, b, criterion, judge, verdict_ab=verdict, verdict_ba=verdict))
    return out

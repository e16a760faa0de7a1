"""Pairwise judging, the judge task ``pairwise``: which of two replies to the same post is better on a criterion.

A run of this task judges *pairs* of comparable replies (same post, appraisal dimension and, in a conversation, the
same context: ``comparable_key``). Each pair is asked in both orders (``order`` "ab": ``item_a`` shown first as A;
"ba": ``item_b`` first), so a judge's preference for a position shows. The verdict is recorded as shown ("first",
"second" or "tie"); ``judge.analysis.pairwise.preferences_from_records`` maps it back to the pair.

Where the judge's probabilities are known, the record has P(the reply shown first is better), ``p_first`` =
P(A) + P(tie)/2 under the judge's distribution over the three answers: exactly for the embedded judge (its
choice-probability path scores A, B and tie), from the answer token's logprobs for OpenAI-compatible servers.

Pairs come from a plan (``PairPlan``): every pair within a post (``all``), each reply against a baseline system's
reply to the same post (``baseline:SYSTEM``), ``k`` pairs sampled per post (``sample:K``, seeded by hashing: the same
seed gives the same pairs), or an explicit list (e.g. the validity pairs, each for one criterion).

The runner, cache, store, budget and resume treat these units like any other (``judge.engine.task``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from judge.data.benchmark import Benchmark, Item
from judge.data.names import Name
from judge.data.numbers import Count
from judge.engine.cache import CachedReply, cache_key
from judge.engine.judge_spec import JudgeSpec
from judge.engine.judgment import UnscoredReason
from judge.engine.pair_prompt import (
    VERDICTS,
    pair_prompt_hash,
    render_pair_compact_messages,
    render_pair_messages,
    verdict_choice_schema,
    verdict_schema,
)
from judge.engine.task import register_task
from judge.errors import UsageError

if TYPE_CHECKING:
    from judge.data import Rubric
    from judge.engine.plan import RunConfig

PAIR_RECORD_VERSION = 1

Order = Literal["ab", "ba"]
Shown = Literal["first", "second", "tie"]
_SHOWN: dict[str, Shown] = {"A": "first", "B": "second", "tie": "tie"}


# -- which pairs ---------------------------------------------------------------------------------------------------


def comparable_key(item: Item) -> str:
    """What two replies must share to be compared: post, appraisal dimension and, in a conversation, the context
    (the turns before the first judged turn). The same key as ``judge.analysis.pairwise.comparable_key``."""
    key = item.input_key
    if item.conversation is not None:
        first = item.judged_turn_numbers[0]
        context = [[t.role, t.text] for t in item.conversation[: first - 1]]
        key += "|" + hashlib.sha256(json.dumps(context).encode()).hexdigest()[:16]
    return key


class Pair(NamedTuple):
    """One pair to judge: ``item_a`` and ``item_b`` (the canonical order), on ``criterion`` (None: every criterion
    of the run)."""

    item_a: str
    item_b: str
    criterion: str | None = None


def _groups(bench: Benchmark, ids: Sequence[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for item_id in ids:
        groups[comparable_key(bench.items[item_id])].append(item_id)
    return groups


def _rank(seed: int, *parts: str) -> str:
    return hashlib.sha256(":".join([str(seed), *parts]).encode()).hexdigest()


@dataclass(frozen=True)
class PairPlan:
    """Which pairs a pairwise run judges: ``how`` is ``all``, ``baseline:SYSTEM``, ``sample:K`` or ``explicit``
    (then ``explicit`` holds the pairs)."""

    how: str = "all"
    seed: int = 0
    explicit: tuple[Pair, ...] = ()

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> PairPlan:
        """A plan from ``--pairs`` (``all``, ``baseline:SYSTEM``, ``sample:K``).

        Raises:
            UsageError: another value, naming it and what is expected.
        """
        kind, _, arg = text.partition(":")
        if kind == "all" and not arg:
            return cls("all", seed)
        if kind == "baseline" and arg.strip():
            return cls(f"baseline:{arg.strip()}", seed)
        if kind == "sample" and arg.isdigit() and int(arg) >= 1:
            return cls(f"sample:{int(arg)}", seed)
        raise UsageError(
            f"--pairs {text!r}: expected 'all' (every pair within a post), 'baseline:SYSTEM' (each reply against "
            "SYSTEM's reply to the same post) or 'sample:K' (K pairs per post, K >= 1)"
        )

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str] | tuple[str, str, str | None]]) -> PairPlan:
        """A plan of exactly these pairs (``(item_a, item_b)`` or ``(item_a, item_b, criterion)``)."""
        return cls("explicit", 0, tuple(Pair(*p) for p in pairs))

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pairs": self.how, "seed": self.seed}
        if self.how == "explicit":
            blob = json.dumps([list(p) for p in self.explicit]).encode()
            out["explicit"] = {"n": len(self.explicit), "sha256": hashlib.sha256(blob).hexdigest()[:16]}
        return out

    def pairs(self, bench: Benchmark, ids: Sequence[str]) -> list[Pair]:
        """The pairs among the items ``ids`` (in benchmark order), each once, in the canonical order.

        Raises:
            UsageError: an explicit pair names an unknown item or two replies that are not comparable; a baseline
                system no item has.
        """
        if self.how == "explicit":
            for p in self.explicit:
                for it in (p.item_a, p.item_b):
                    if it not in bench.items:
                        raise UsageError(f"pair {p.item_a!r} vs {p.item_b!r}: no item {it!r} in the benchmark")
                if comparable_key(bench.items[p.item_a]) != comparable_key(bench.items[p.item_b]):
                    raise UsageError(
                        f"pair {p.item_a!r} vs {p.item_b!r}: the replies answer different posts or dimensions"
                    )
            return list(self.explicit)
        groups = _groups(bench, ids)
        if self.how == "all":
            return [Pair(a, b) for members in groups.values() for a, b in combinations(members, 2)]
        kind, _, arg = self.how.partition(":")
        if kind == "sample":
            out = []
            for members in groups.values():
                every = sorted(combinations(members, 2), key=lambda p: _rank(self.seed, *p))
                out += [Pair(a, b) for a, b in sorted(every[: int(arg)], key=lambda p: (members.index(p[0]), p[1]))]
            return out
        systems = {bench.items[i].system_name for i in ids}
        if arg not in systems:
            raise UsageError(
                f"--pairs baseline:{arg}: no item of that system; the benchmark's systems are {sorted(systems)}"
            )
        out = []
        for members in groups.values():
            base = [i for i in members if bench.items[i].system_name == arg]
            out += [Pair(i, b) for b in base for i in members if bench.items[i].system_name != arg]
        return out


# -- the record ----------------------------------------------------------------------------------------------------


class PairJudgment(BaseModel):
    """One pairwise record of a run store: one judge's verdict on one pair, in one order, on one criterion."""

    model_config = ConfigDict(extra="forbid")

    record_version: int = PAIR_RECORD_VERSION
    task: Literal["pairwise"] = "pairwise"
    judge: Name
    criterion: Name
    item_a: Name = Field(description="The pair's first item (canonical order).")
    item_b: Name
    order: Order = Field(description="'ab': item_a was shown first (as A); 'ba': item_b was.")
    item_a_hash: str | None = None
    item_b_hash: str | None = None
    sample: Count = Field(default=0, ge=0)
    seed: int | None = None
    verdict: Shown | None = Field(default=None, description="The verdict as shown: the first reply, second, or tie.")
    probs: dict[str, float] | None = Field(
        default=None, description="The judge's probabilities of the answers A, B, tie as shown (when known)."
    )
    p_first: float | None = Field(
        default=None, ge=0.0, le=1.0, description="P(the reply shown first is better) = P(A) + P(tie)/2."
    )
    unscored_reason: UnscoredReason | None = None
    detail: str | None = None
    rationale: str | None = None
    raw_output: str | None = None
    model: str = ""
    rubric: str = ""
    prompt_hash: str = ""
    cache_key: str = ""
    cache_hit: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = 0.0
    latency_s: float = 0.0
    attempts: int = 0
    flags: list[str] = Field(default_factory=list)
    created_at: float = 0.0

    @property
    def key(self) -> tuple[str, str, str, str, str, int]:
        """(judge, item_a, item_b, criterion, order, sample)."""
        return (self.judge, self.item_a, self.item_b, self.criterion, self.order, self.sample)

    @property
    def scored(self) -> bool:
        return self.verdict is not None

    @property
    def first(self) -> str:
        """The item shown first."""
        return self.item_a if self.order == "ab" else self.item_b

    def judged_items(self) -> list[tuple[str, str | None]]:
        return [(self.item_a, self.item_a_hash), (self.item_b, self.item_b_hash)]


# -- reading an answer -----------------------------------------------------------------------------------------------


def _verdict_word(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    v = value.strip().strip("\"'*[]().:").strip()
    if v in ("A", "B"):
        return v
    if v.lower() in ("tie", "draw", "equal"):
        return "tie"
    return None


def parse_verdict(
    text: str | None, *, finish_reason: str | None = None
) -> tuple[str | None, UnscoredReason | None, str | None, str | None]:
    """(verdict as shown A/B/tie, unscored reason, detail, rationale) read from a judge's pairwise answer: a JSON
    object with ``verdict`` (standard prompts), or a bare ``A``/``B``/``tie`` (compact prompts)."""
    from judge.engine.parse import _REFUSAL_RE, LENGTH_FINISH_REASONS, _json_candidates

    cut = finish_reason in LENGTH_FINISH_REASONS
    if text is None or not text.strip():
        reason: UnscoredReason = "truncated" if cut else "empty"
        return None, reason, "the judge returned no text", None
    for obj in _json_candidates(text):
        if isinstance(obj, dict) and "verdict" in obj:
            rationale = obj.get("rationale") if isinstance(obj.get("rationale"), str) else None
            got = _verdict_word(obj["verdict"])
            if got is None:
                return None, "off_scale", f"verdict {obj['verdict']!r}: expected 'A', 'B' or 'tie'", rationale
            return got, None, None, rationale
    got = _verdict_word(text.strip().split()[0]) if len(text.strip()) <= 12 else None
    if got is not None and not cut:
        return got, None, None, None
    if cut:
        return None, "truncated", "the answer was cut off at the length limit before a verdict", None
    if _REFUSAL_RE.search(text.replace("’", "'")):
        return None, "refusal", f"the judge declined: {text.strip()[:120]!r}", None
    return None, "parse_failure", f"no verdict found in {text.strip()[:120]!r}; expected A, B or tie", None


def verdict_probs(reply: CachedReply | None, verdict: str | None) -> dict[str, float] | None:
    """The judge's probabilities of A, B and tie: its choice probabilities (the embedded judge), or the top
    logprobs of the token that carries the verdict (the last such token of the answer), normalised."""
    if reply is None or verdict is None:
        return None
    raw: dict[str, float] = {}
    if reply.choice_probs:
        for k, p in reply.choice_probs.items():
            if (v := _verdict_word(k)) is not None:
                raw[v] = raw.get(v, 0.0) + float(p)
    elif reply.logprobs:
        carrier = next((e for e in reversed(reply.logprobs) if _verdict_word(e.get("token", "")) == verdict), None)
        if carrier is None:
            return None
        for alt in carrier.get("top_logprobs") or [{"token": carrier["token"], "logprob": carrier["logprob"]}]:
            v = _verdict_word(alt.get("token", ""))
            if v is not None and v not in raw:  # the most probable spelling of each answer
                raw[v] = math.exp(float(alt["logprob"]))
    total = sum(raw.values())
    if not raw or total <= 0:
        return None
    return {v: round(raw.get(v, 0.0) / total, 6) for v in VERDICTS}


def p_first_of(probs: dict[str, float] | None) -> float | None:
    """P(the reply shown first is better): P(A) + P(tie)/2."""
    if probs is None:
        return None
    return round(min(1.0, probs.get("A", 0.0) + probs.get("tie", 0.0) / 2), 6)


# -- units and the task --------------------------------------------------------------------------------------------


@dataclass
class PairUnit:
    """One pairwise call: a judge, a pair in one order, a criterion and a sample (``judge.engine.task.TaskUnit``)."""

    judge: JudgeSpec
    pair: Pair
    rubric: Rubric
    order: Order
    sample: int
    messages: list[dict[str, str]]
    response_format: dict[str, Any] | None
    seed: int
    key: str
    prompt_hash: str
    flags: list[str] = field(default_factory=list)
    hashes: tuple[str, str] = ("", "")

    @property
    def judgment_key(self) -> tuple[str, str, str, str, str, int]:
        return (self.judge.name, self.pair.item_a, self.pair.item_b, self.rubric.name, self.order, self.sample)

    def judgment(
        self,
        reply: CachedReply | None,
        *,
        cache_hit: bool,
        attempts: int = 0,
        error: str | None = None,
        overflow: bool = False,
    ) -> PairJudgment:
        meta: dict[str, Any] = dict(
            judge=self.judge.name,
            criterion=self.rubric.name,
            item_a=self.pair.item_a,
            item_b=self.pair.item_b,
            order=self.order,
            item_a_hash=self.hashes[0],
            item_b_hash=self.hashes[1],
            sample=self.sample,
            seed=self.seed,
            model=self.judge.model,
            rubric=self.rubric.ref,
            prompt_hash=self.prompt_hash,
            cache_key=self.key,
            cache_hit=cache_hit,
            attempts=attempts,
            flags=list(self.flags),
            created_at=time.time(),
        )
        if reply is None:
            reason: UnscoredReason = "context_overflow" if overflow else "api_error"
            return PairJudgment(**meta, unscored_reason=reason, detail=error)
        shown, reason_or_none, detail, rationale = parse_verdict(reply.content, finish_reason=reply.finish_reason)
        probs = verdict_probs(reply, shown)
        if shown is not None and probs is None and (reply.logprobs or reply.choice_probs):
            meta["flags"].append("no_distribution")
        return PairJudgment(
            **meta,
            verdict=_SHOWN[shown] if shown is not None else None,
            probs=probs,
            p_first=p_first_of(probs),
            unscored_reason=reason_or_none,
            detail=detail,
            rationale=rationale,
            raw_output=reply.content,
            tokens_in=reply.tokens_in,
            tokens_out=reply.tokens_out,
            cost_usd=0.0 if cache_hit else reply.cost_usd,
            latency_s=0.0 if cache_hit else reply.latency_s,
        )


def _response_format(judge: JudgeSpec) -> dict[str, Any] | None:
    from judge.engine.client import response_format_for

    if judge.compact_prompt and judge.is_local:  # scored exactly: the probability of each answer
        return {"type": "json_schema", "json_schema": {"name": "pair_verdict", "schema": verdict_choice_schema()}}
    if judge.compact_prompt:  # a hosted API: the verdict alone as text (its logprobs when asked), as for scores
        return None
    return response_format_for(judge, verdict_schema(), "pair_verdict")


@register_task
class PairwiseTask:
    """Pairwise judging (the task ``pairwise``): pairs from ``plan``, each in both orders, on every criterion of the
    run (or the pair's own criterion)."""

    name: ClassVar[str] = "pairwise"
    record_type: ClassVar[type[PairJudgment]] = PairJudgment

    def __init__(self, plan: PairPlan | None = None) -> None:
        self.plan = plan or PairPlan()
        self._pairs: dict[tuple[int, tuple[str, ...]], list[Pair]] = {}

    def pairs(self, cfg: RunConfig) -> list[Pair]:
        """The run's pairs (computed once per benchmark and selection of items)."""
        ids = cfg.selected_ids()
        memo = (id(cfg.benchmark), tuple(ids))
        got = self._pairs.get(memo)
        if got is None:
            got = self._pairs[memo] = self.plan.pairs(cfg.benchmark, ids)
            for p in got:
                if p.criterion is not None and p.criterion not in cfg.rubrics:
                    raise UsageError(
                        f"pair {p.item_a!r} vs {p.item_b!r} is for criterion {p.criterion!r}, which the run does not "
                        f"judge (its criteria: {', '.join(cfg.rubrics)})"
                    )
        return got

    def _cells(self, cfg: RunConfig) -> Iterator[tuple[Pair, str]]:
        for p in self.pairs(cfg):
            for crit in cfg.rubrics if p.criterion is None else [p.criterion]:
                yield p, crit

    def units(self, cfg: RunConfig, done: set[Any]) -> Iterator[PairUnit]:
        from judge.engine.plan import _max_post_chars

        items = cfg.benchmark.items
        rubrics = list(cfg.rubrics.values())
        hashes: dict[str, str] = {}
        for judge in cfg.judges:
            max_chars = _max_post_chars(judge, cfg.max_post_chars)
            rf = _response_format(judge)
            identity = judge.identity()  # with logprobs when the judge asks for them (scoring: expected)
            phash = pair_prompt_hash(rubrics, judge.compact_prompt)
            for pair, crit in self._cells(cfg):
                rubric = cfg.rubrics[crit]
                ha = hashes.get(pair.item_a) or hashes.setdefault(pair.item_a, items[pair.item_a].content_hash)
                hb = hashes.get(pair.item_b) or hashes.setdefault(pair.item_b, items[pair.item_b].content_hash)
                for order in ("ab", "ba"):
                    first, second = (pair.item_a, pair.item_b) if order == "ab" else (pair.item_b, pair.item_a)
                    todo = [
                        s
                        for s in range(cfg.samples)
                        if (judge.name, pair.item_a, pair.item_b, crit, order, s) not in done
                    ]
                    if not todo:
                        continue
                    if judge.compact_prompt:
                        messages, flags = render_pair_compact_messages(
                            rubric, items[first], items[second], criteria=rubrics, max_post_chars=max_chars,
                            prefill=judge.is_local,
                        )  # fmt: skip
                    else:
                        messages, flags = render_pair_messages(
                            rubric, items[first], items[second], max_post_chars=max_chars
                        )
                    for s in todo:
                        seed = cfg.seed + s
                        key = cache_key(
                            model_identity=identity,
                            messages=messages,
                            response_format=rf,
                            rubric_ref=rubric.ref,
                            sample=s,
                            seed=seed,
                        )
                        yield PairUnit(
                            judge, pair, rubric, order, s, messages, rf, seed, key, phash, list(flags), (ha, hb)
                        )

    def size(self, cfg: RunConfig) -> int:
        return len(cfg.judges) * sum(1 for _ in self._cells(cfg)) * 2 * cfg.samples

    def selected(self, cfg: RunConfig, keys: set[Any]) -> int:
        cells = {(p.item_a, p.item_b, c) for p, c in self._cells(cfg)}
        judges = {j.name for j in cfg.judges}
        return sum(j in judges and (a, b, c) in cells and s < cfg.samples for j, a, b, c, _, s in keys)

    def prompt_hash(self, cfg: RunConfig) -> str:
        rubrics = list(cfg.rubrics.values())
        return "+".join(sorted({pair_prompt_hash(rubrics, j.compact_prompt) for j in cfg.judges}))

    def options(self) -> dict[str, Any]:
        return self.plan.options()

    def summary(self, run_dir: Any) -> dict[str, Any]:
        """The run summary's ``task_summary``: position counts per judge (``position_counts``)."""
        from judge.engine.store import stream_task_records

        counts = position_counts(stream_task_records(run_dir))
        return {
            "position": {j: {**c.model_dump(), "consistency": c.consistency} for j, c in counts.items()},
        }


# -- position consistency --------------------------------------------------------------------------------------------


class PositionCounts(BaseModel):
    """One judge's position counts over the pairs asked in both orders (both answered)."""

    pairs: Count = Field(description="Pairs (x criterion x sample) with a verdict in both orders.")
    consistent: Count = Field(description="Of those, the pairs whose two orders name the same reply (or both tie).")
    first_chosen: Count = Field(description="Verdicts (both orders counted) that chose the reply shown first.")
    second_chosen: Count = 0
    ties: Count = 0

    @property
    def consistency(self) -> float | None:
        return self.consistent / self.pairs if self.pairs else None


def position_counts(records: Iterable[Any]) -> dict[str, PositionCounts]:
    """judge -> its position counts, from pairwise records (the latest of each key). The statistics with CIs are
    the analysis's (``judge.analysis.stats.preference``); these are the counts a run summary shows."""
    both: dict[tuple[str, str, str, str, int], dict[str, str]] = defaultdict(dict)
    for r in records:
        if isinstance(r, PairJudgment) and r.verdict is not None:
            both[(r.judge, r.item_a, r.item_b, r.criterion, r.sample)][r.order] = r.verdict
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (judge, *_rest), orders in both.items():
        c = counts[judge]
        for v in orders.values():
            c[{"first": "first_chosen", "second": "second_chosen", "tie": "ties"}[v]] += 1
        if len(orders) == 2:
            c["pairs"] += 1
            ab, ba = orders["ab"], orders["ba"]
            c["consistent"] += (ab == "tie" and ba == "tie") or {ab, ba} == {"first", "second"}
    return {
        j: PositionCounts(**{k: c.get(k, 0) for k in PositionCounts.model_fields}) for j, c in sorted(counts.items())
    }

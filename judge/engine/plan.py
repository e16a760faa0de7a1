"""The plan of a run: what to judge (``RunConfig``) and the judgment units it expands into.

A ``JudgmentUnit`` is one (judge, item, criterion, sample) with everything needed to call the model and to record
the answer: the rendered messages, the response format, the seed and the cache key. Every way of calling the model
(online, a provider's batch API, Ray tasks, the pytest fixture) works on units planned here, so they share prompts,
cache keys and the recorded judgment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.data import Benchmark, Item, Rubric
from judge.data.benchmark import check_dimensions
from judge.engine.answer import choice_answer_schema, multi_answer_schema, single_answer_schema
from judge.engine.cache import CachedReply, cache_key
from judge.engine.judge_spec import JudgeSpec
from judge.engine.judgment import DEFAULT_MAX_UNSCORED, Judgment, judgment_from_answer, unanswered_judgment
from judge.engine.prompt import (
    DEFAULT_COMPACT_VARIANT,
    compact_prompt_hash,
    exemplar_hash,
    prompt_hash,
    render_compact_messages,
    render_messages,
    render_multi_messages,
    with_exemplars,
)
from judge.errors import UsageError

LOCAL_MAX_POST_CHARS = 6000  # keeps prompts inside the embedded judge's 4k-token context

JudgmentKey = tuple[str, str, str, int]  # (judge, item_id, criterion, sample): ``Judgment.key``


@dataclass
class RunConfig:
    """Everything a run needs. ``out`` is the run directory (created; resumed if it holds the same run)."""

    benchmark: Benchmark
    rubrics: dict[str, Rubric]
    judges: list[JudgeSpec]
    out: Path
    samples: int = 1
    concurrency: int = 8
    budget_usd: float | None = None  # for the whole run directory: what earlier invocations spent counts
    cache_dir: Path | None = None
    read_cache: bool = True
    item_ids: list[str] | None = None
    max_post_chars: int | None = None
    seed: int = 0
    progress: bool | None = None  # None: the live line on a terminal, a plain line every progress_interval_s else
    progress_interval_s: float = 30.0
    command: list[str] = field(default_factory=list)
    # Unscored judgments whose answer arrived (unreadable, off-scale, refusals...) are final unless this is set;
    # those whose call failed (api_error) are always asked again.
    retry_unscored: bool = False
    # The share of unscored judgments above which the run's summary has a problem (``judge run`` exits 1).
    max_unscored: float | None = DEFAULT_MAX_UNSCORED
    # Scale-out (docs/scale.md): pass 2 through provider batch APIs (poll interval, seconds) or Ray tasks.
    batch_poll_s: float | None = None
    ray_address: str | None = None
    # How pass 2 makes the uncached calls (a ``judge.engine.calls.CallStrategy``); None: chosen from the options
    # above. Library users and tests inject their own here (e.g. Ray tasks whose workers die).
    call_strategy: Callable[[Any], None] | None = None
    # What is judged (a ``judge.engine.task.JudgeTask``): None is absolute scoring (``ScoreTask``).
    task: Any = None

    def check(self) -> None:
        """Refuse values no run can use (``UsageError`` naming the option, the value and the allowed range)."""
        bounds: list[tuple[str, float | None, float, float]] = [
            ("--samples", self.samples, 1, 10_000),
            ("--concurrency", self.concurrency, 1, 10_000),
            ("--budget", self.budget_usd, 0, float("inf")),
            ("--max-post-chars", self.max_post_chars, 1, float("inf")),
            ("--max-unscored", self.max_unscored, 0, 1),
            ("--progress-interval", self.progress_interval_s, 0.01, float("inf")),
            ("--batch-poll", self.batch_poll_s, 0.01, float("inf")),
        ]
        for flag, value, low, high in bounds:
            if value is not None and not low <= value <= high:
                allowed = f">= {low:g}" if high == float("inf") else f"between {low:g} and {high:g}"
                raise UsageError(f"{flag} must be {allowed}, got {value:g}")
        if self.budget_usd is not None and self.budget_usd <= 0:
            raise UsageError(f"--budget must be more than 0 USD, got {self.budget_usd:g}")
        check_dimensions(self.benchmark, self.rubrics, self.selected_ids())

    def selected_ids(self) -> list[str]:
        """The item ids this run judges, in benchmark order unless chosen explicitly, without the items of posts
        whose expert ratings a judge is shown as exemplars (no rating the judge saw is ever scored against)."""
        ids = self.item_ids if self.item_ids is not None else list(self.benchmark.items)
        reserved = self.reserved_ids()
        return [i for i in ids if i not in reserved] if reserved else ids

    def reserved_ids(self) -> set[str]:
        """Items not judged because their post's ratings are shown to a judge as exemplars."""
        return {i for j in self.judges if j.exemplars for i in j.exemplars.reserved_items(self.benchmark)}


@dataclass
class JudgmentUnit:
    """One judgment to make: judge x item x criterion x sample, with its request and cache key.

    ``group`` is set when the judge answers every criterion in one call: the units of one item and sample then
    share ``key`` (one request), and each reads its own criterion from the answer.
    """

    judge: JudgeSpec
    item: Item
    rubric: Rubric
    sample: int
    messages: list[dict[str, str]]
    flags: list[str]
    response_format: dict[str, Any] | None
    seed: int
    key: str
    group: list[Rubric] | None = None
    prompt_hash: str = ""
    item_hash: str = ""  # the item's content hash (computed once per item by plan_units; else on demand)

    @property
    def judgment_key(self) -> JudgmentKey:
        return (self.judge.name, self.item.item_id, self.rubric.name, self.sample)

    def judgment(
        self,
        reply: CachedReply | None,
        *,
        cache_hit: bool,
        attempts: int = 0,
        error: str | None = None,
        overflow: bool = False,
    ) -> Judgment:
        """The record of this unit for a reply (parsed as any answer is), or for no reply (``api_error`` or
        ``context_overflow``, with the error text)."""
        meta: dict[str, Any] = dict(
            item_id=self.item.item_id,
            item_hash=self.item_hash or self.item.content_hash,
            criterion=self.rubric.name,
            judge=self.judge.name,
            sample=self.sample,
            seed=self.seed,
            model=self.judge.model,
            rubric=self.rubric.ref,
            prompt_hash=self.prompt_hash or judge_prompt_hash(self.judge, self.rubric),
            cache_key=self.key,
            cache_hit=cache_hit,
            attempts=attempts,
            flags=list(self.flags),
            created_at=time.time(),
        )
        if reply is None:
            return unanswered_judgment(meta, error=error, overflow=overflow)
        return judgment_from_answer(
            meta,
            reply.content,
            self.rubric,
            finish_reason=reply.finish_reason,
            group=self.group,
            reply=reply,
            expected=self.judge.expected_scores,
            usage=dict(
                tokens_in=reply.tokens_in,
                tokens_out=reply.tokens_out,
                cost_usd=0.0 if cache_hit else reply.cost_usd,
                latency_s=0.0 if cache_hit else reply.latency_s,
            ),
        )


def judge_prompt_hash(judge: JudgeSpec, rubrics: Rubric | list[Rubric]) -> str:
    """The prompt hash of the templates this judge is sent (standard or compact) under the rubrics' framing."""
    base = (
        compact_prompt_hash(rubrics, judge.prompt_variant or DEFAULT_COMPACT_VARIANT)
        if judge.compact_prompt
        else prompt_hash(rubrics)
    )
    # A few-shot judge is another prompt: calibrators and aligned files fitted without its exemplars refuse it.
    return base if judge.exemplars is None else f"{base}{exemplar_hash(judge.exemplars)}"


def run_prompt_hash(judges: list[JudgeSpec], rubrics: list[Rubric]) -> str:
    """The prompt hash of a run: its judges' (``a+b`` when judges use different templates)."""
    hashes = sorted({judge_prompt_hash(j, rubrics) for j in judges}) or [prompt_hash(rubrics)]
    return "+".join(hashes)


def response_formats(judge: JudgeSpec, rubrics: dict[str, Rubric]) -> dict[str, dict[str, Any] | None]:
    """criterion -> the response format this judge is sent for it."""
    from judge.engine.client import response_format_for

    if judge.compact_prompt:
        if not judge.is_local:
            return dict.fromkeys(rubrics)  # a score-only answer in plain text (logprobs when expected scores)
        return {
            c: {"type": "json_schema", "json_schema": {"name": f"{c}_value", "schema": choice_answer_schema(r)}}
            for c, r in rubrics.items()
        }
    return {c: response_format_for(judge, single_answer_schema(r), f"{c}_answer") for c, r in rubrics.items()}


def render_for(
    judge: JudgeSpec, rubric: Rubric, item: Item, max_post_chars: int | None, criteria: list[Rubric] | None = None
) -> tuple[list[dict[str, str]], list[str]]:
    """The messages this judge is sent for ``item`` on ``rubric`` (standard or compact prompt), and flags.

    Args:
        criteria: every criterion of the run (a compact prompt describes them all); default: ``rubric`` alone.
    """
    if not judge.compact_prompt:
        messages, flags = render_messages(rubric, item, max_post_chars=max_post_chars)
        return with_exemplars(messages, judge.exemplars, criteria or [rubric]), flags
    variant = judge.prompt_variant or DEFAULT_COMPACT_VARIANT
    messages, flags = render_compact_messages(
        rubric, item, criteria=criteria, max_post_chars=max_post_chars, variant=variant
    )
    if not judge.is_local:  # hosted APIs do not continue an assistant prefill: the question ends the prompt
        messages = messages[:-1]
    return with_exemplars(messages, judge.exemplars, criteria or [rubric]), flags


def _unit(
    judge: JudgeSpec,
    rubric: Rubric,
    item: Item,
    rendered: tuple[list[dict[str, str]], list[str]],
    response_format: dict[str, Any] | None,
    sample: int,
    seed: int,
    group: list[Rubric] | None = None,
    identity: dict[str, Any] | None = None,
    item_hash: str = "",
) -> JudgmentUnit:
    messages, flags = rendered
    phash = judge_prompt_hash(judge, group or rubric)
    key = cache_key(
        model_identity=identity or judge.identity(),
        messages=messages,
        response_format=response_format,
        rubric_ref="|".join(r.ref for r in group) if group else rubric.ref,
        sample=sample,
        seed=seed,
    )
    return JudgmentUnit(
        judge, item, rubric, sample, messages, flags, response_format, seed, key, group, phash, item_hash
    )


def _max_post_chars(judge: JudgeSpec, given: int | None) -> int | None:
    return given or (LOCAL_MAX_POST_CHARS if judge.is_local else None)


def plan_unit(
    judge: JudgeSpec,
    rubric: Rubric,
    item: Item,
    *,
    sample: int = 0,
    seed: int = 0,
    max_post_chars: int | None = None,
    criteria: list[Rubric] | None = None,
) -> JudgmentUnit:
    """The unit judging ``item`` on ``rubric`` alone (one call per criterion), exactly as ``judge run`` plans it,
    so both share cache entries.

    Args:
        seed: the seed sent for this sample (a run sends ``--seed + sample``).
        max_post_chars: cut longer posts (default: the embedded judge's limit for local judges, none otherwise).
        criteria: every criterion of the run, when ``rubric`` is one of several (a compact prompt names them all).
    """
    rendered = render_for(judge, rubric, item, _max_post_chars(judge, max_post_chars), criteria)
    rf = response_formats(judge, {rubric.name: rubric})[rubric.name]
    return _unit(judge, rubric, item, rendered, rf, sample, seed)


def plan_units(cfg: RunConfig, done: set[JudgmentKey]) -> Iterator[JudgmentUnit]:
    """Every unit of the run not in ``done``, judge by judge, in the order that lets a local model reuse the most
    of its previous prompt (``_order``; for hosted judges the order makes no difference)."""
    ids = cfg.selected_ids()
    hashes: dict[str, str] = {}  # item id -> content hash, computed once per item
    for judge in cfg.judges:
        max_chars = _max_post_chars(judge, cfg.max_post_chars)
        if judge.all_criteria_in_one_call and len(cfg.rubrics) > 1 and not judge.compact_prompt:
            yield from _multi_units(cfg, judge, ids, done, max_chars)
            continue
        formats = response_formats(judge, cfg.rubrics)
        identity = judge.identity()  # once per judge, not per unit
        for crit, item_id in _order(judge, list(cfg.rubrics), ids):
            rubric = cfg.rubrics[crit]
            item = cfg.benchmark.items[item_id]
            rendered = render_for(judge, rubric, item, max_chars, list(cfg.rubrics.values()))
            ihash = hashes.get(item_id) or hashes.setdefault(item_id, item.content_hash)
            for sample in range(cfg.samples):
                if (judge.name, item_id, crit, sample) not in done:
                    yield _unit(judge, rubric, item, rendered, formats[crit], sample, cfg.seed + sample, None, identity,
                                ihash)  # fmt: skip


def _order(judge: JudgeSpec, criteria: list[str], ids: list[str]) -> Iterator[tuple[str, str]]:
    """(criterion, item) pairs in the order that lets a local model reuse the most of its last prompt.

    Standard prompts share the criterion's system message: criterion-major. Compact prompts share the item's
    message across criteria: item-major (the embedded judge then evaluates each item once).
    """
    if judge.compact_prompt:
        return ((c, i) for i in ids for c in criteria)
    return ((c, i) for c in criteria for i in ids)


def _multi_units(
    cfg: RunConfig, judge: JudgeSpec, ids: list[str], done: set[JudgmentKey], max_chars: int | None
) -> Iterator[JudgmentUnit]:
    """Units of a judge that answers every criterion in one call: the criteria of one item and sample share the
    call's key, so the call is made once (the others wait for it, or find it in the cache)."""
    from judge.engine.client import response_format_for

    group = list(cfg.rubrics.values())
    rf = response_format_for(judge, multi_answer_schema(group), "all_criteria_answer")
    identity = judge.identity()
    for item_id in ids:
        item = cfg.benchmark.items[item_id]
        messages, flags = render_multi_messages(group, item, max_post_chars=max_chars)
        messages = with_exemplars(messages, judge.exemplars, group)
        rendered = (messages, [*flags, "all_criteria_call"])
        ihash = item.content_hash
        for sample in range(cfg.samples):
            for rubric in group:
                if (judge.name, item_id, rubric.name, sample) not in done:
                    yield _unit(judge, rubric, item, rendered, rf, sample, cfg.seed + sample, group, identity, ihash)

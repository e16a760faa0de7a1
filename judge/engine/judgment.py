"""A judgment: one judge's answer on one item, criterion and sample, scored or unscored with a reason.

An answer that cannot be read, an off-scale score, an empty answer, a refusal or an API error becomes an
*unscored* judgment: missing data, never a 0 and never dropped. Parsing lives in ``judge.engine.parse``;
every judgment is built by ``judgment_from_answer`` or ``unanswered_judgment``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judge.data.names import Name
from judge.data.numbers import Count, Number

if TYPE_CHECKING:
    from judge.data import Rubric
    from judge.engine.cache import CachedReply

# 2: ``seed``, ``cost_usd`` None when unpriced; 3: ``answer_score``, ``distribution``, ``scored_by``; 4: ``item_hash``;
# 5: ``task`` (records of other judge tasks share the file, judge.engine.task). Older records still load (the fields
# they lack take their defaults: a record without ``task`` is a score); see ``Judgment.item_hash`` for what a
# record without an item hash means.
RECORD_VERSION = 5

UnscoredReason = Literal[
    "parse_failure",  # no score could be read from the answer
    "off_scale",  # a score was read but it is not a point of the rubric's scale
    "empty",  # the model returned nothing
    "refusal",  # the model declined to judge
    "api_error",  # the call failed after retries (or permanently)
    "truncated",  # the answer was cut off (length limit) before a score
    "context_overflow",  # the item does not fit the judge's context window
]

# Unscored because the provider failed (server errors, timeouts, rate limits after every retry), not because of the
# answer: recorded, but the next invocation of the run asks again (judge.engine.store.is_final).
TRANSIENT_REASONS: frozenset[str] = frozenset({"api_error"})

#: The share of unscored judgments above which a run is not a clean result (``judge run --max-unscored``).
DEFAULT_MAX_UNSCORED = 0.1


class Judgment(BaseModel):
    """One record of a run store (``judgments.jsonl``): append-only, versioned."""

    model_config = ConfigDict(extra="forbid")

    record_version: int = RECORD_VERSION
    task: Literal["score"] = Field(default="score", description="The judge task (judge.engine.task): a score.")
    item_id: Name  # names and ids compared as judge.data.names says, also in hand-edited records
    criterion: Name
    judge: Name = Field(description="Judge name (its config name, or the model string).")
    item_hash: str | None = Field(
        default=None,
        description="The judged content of the item (``Item.content_hash``) when it was judged. A record whose item "
        "has changed since is not the item's judgment: it is set aside and the item judged again. None in records "
        "before version 4: those are vouched for by the run's manifest (its benchmark content hash); without a "
        "manifest they cannot be verified and are judged again (from the reply cache when the content is the same).",
    )
    sample: Count = Field(default=0, ge=0, description="Sample index (each has its own seed).")
    seed: int | None = Field(default=None, description="The seed sent with the request (None: none, or unknown).")
    score: Number | None = Field(
        default=None,
        description="The score the analysis uses (``scored_by`` says which): the answer, or the expected score "
        "under the judge's distribution; None if unscored.",
    )
    scored_by: Literal["answer", "expected", "mode"] | None = Field(
        default=None,
        description="Where ``score`` comes from: the value answered, the expected score, or the distribution's "
        "mode (expected scoring of a nominal criterion).",
    )
    answer_score: float | None = Field(default=None, description="The value the judge answered (parsed).")
    distribution: dict[str, float] | None = Field(
        default=None, description="Scale value -> probability, from the judge's token probabilities (when known)."
    )
    unscored_reason: UnscoredReason | None = None
    detail: str | None = Field(default=None, description="Human-readable detail for an unscored judgment.")
    rationale: str | None = None
    raw_output: str | None = None
    model: str = ""
    rubric: str = Field(default="", description="name@version#hash of the rubric used.")
    prompt_hash: str = ""
    cache_key: str = ""
    cache_hit: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = Field(
        default=0.0, description="What the call cost in USD; None when the model has no known price (unpriced)."
    )
    latency_s: float = 0.0
    attempts: int = 0
    flags: list[str] = Field(default_factory=list, description="e.g. 'post_truncated'.")
    created_at: float = 0.0

    @property
    def scored(self) -> bool:
        return self.score is not None

    @property
    def key(self) -> tuple[str, str, str, int]:
        """Identity of the judgment within a run: (judge, item, criterion, sample)."""
        return (self.judge, self.item_id, self.criterion, self.sample)

    def judged_items(self) -> list[tuple[str, str | None]]:
        """The item judged and its content hash as judged (``judge.engine.task.TaskRecord``)."""
        return [(self.item_id, self.item_hash)]


def judgment_from_answer(
    meta: dict[str, Any],
    content: str | None,
    rubric: Rubric,
    *,
    finish_reason: str | None = None,
    group: list[Rubric] | None = None,
    usage: dict[str, Any] | None = None,
    reply: CachedReply | None = None,
    expected: bool = False,
) -> Judgment:
    """The judgment of an answer that arrived: parsed exactly as every answer is (live, cached or imported).

    Args:
        meta: the record's identity and provenance (item_id, criterion, judge, sample, model, rubric, flags...).
        content: the judge's raw text.
        rubric: the criterion read from the answer.
        group: the rubrics of a combined answer (every criterion in one call), if it is one.
        usage: tokens, cost and latency of the call.
        reply: the reply, whose answer probabilities or token logprobs give the distribution over the scale.
        expected: record the expected score (the mode for a nominal criterion) as ``score`` when the distribution
            is known; otherwise the answer is the score.
    """
    from judge.engine.parse import parse_answer, parse_multi_answer

    if group is not None:
        parsed = parse_multi_answer(content, group, finish_reason=finish_reason)[rubric.name]
    else:
        parsed = parse_answer(content, rubric, finish_reason=finish_reason)
    flags = [*meta.get("flags", []), f"parsed:{parsed.method}"]
    dist = _distribution(reply, content, rubric) if parsed.score is not None and group is None else None
    score = parsed.score
    scored_by: Literal["answer", "expected", "mode"] | None = "answer" if parsed.score is not None else None
    if dist is not None and expected:
        score, scored_by = (dist.mode(), "mode") if rubric.level == "nominal" else (dist.expected(), "expected")
    elif expected and parsed.score is not None:
        flags.append("no_distribution")  # scored by its answer: the provider gave no usable probabilities
    return Judgment(
        **{**meta, "flags": flags},
        score=score,
        scored_by=scored_by,
        answer_score=parsed.score,
        distribution=dist.probs if dist is not None else None,
        unscored_reason=parsed.unscored_reason,
        detail=parsed.detail,
        rationale=parsed.rationale,
        raw_output=content,
        **(usage or {}),
    )


def _distribution(reply: CachedReply | None, content: str | None, rubric: Rubric) -> Any:
    from judge.engine.distribution import from_choice_probs, from_token_logprobs

    if reply is None:
        return None
    if reply.choice_probs:
        return from_choice_probs(reply.choice_probs, rubric)
    if reply.logprobs:
        return from_token_logprobs(content, reply.logprobs, rubric)
    return None


def unanswered_judgment(meta: dict[str, Any], *, error: str | None, overflow: bool = False) -> Judgment:
    """The judgment of a call that brought no answer: ``context_overflow`` or ``api_error``, with the error."""
    reason: UnscoredReason = "context_overflow" if overflow else "api_error"
    return Judgment(**meta, unscored_reason=reason, detail=error)

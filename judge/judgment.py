"""A judgment: one judge's answer on one item, criterion and sample, scored or unscored with a reason.

An answer that cannot be read, an off-scale score, an empty answer, a refusal or an API error becomes an
*unscored* judgment: missing data, never a 0 and never dropped. Parsing lives in ``judge.parse``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RECORD_VERSION = 1

UnscoredReason = Literal[
    "parse_failure",  # no score could be read from the answer
    "off_scale",  # a score was read but it is not a point of the rubric's scale
    "empty",  # the model returned nothing
    "refusal",  # the model declined to judge
    "api_error",  # the call failed after retries (or permanently)
    "truncated",  # the answer was cut off (length limit) before a score
    "context_overflow",  # the item does not fit the judge's context window
]


class Judgment(BaseModel):
    """One record of a run store (``judgments.jsonl``): append-only, versioned."""

    model_config = ConfigDict(extra="forbid")

    record_version: int = RECORD_VERSION
    item_id: str
    criterion: str
    judge: str = Field(description="Judge name (its config name, or the model string).")
    sample: int = Field(default=0, ge=0, description="Sample index (each has its own seed).")
    score: float | None = Field(default=None, description="The parsed score on the rubric's scale; None if unscored.")
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
    cost_usd: float = 0.0
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

"""Framing: how a rubric set presents the judging task (who the judge is, what it rates, what it is shown).

A rubric set states its framing in one file beside its criteria, ``framing.yaml`` (``rubrics/resort/framing.yaml``
frames the RESORT criteria: a clinical psychologist rating reappraisals of Reddit posts). A set without one gets
``NEUTRAL_FRAMING``, which claims no domain. Every rubric loaded from a set carries the set's framing
(``Rubric.framing``); the prompt renders it, so a changed framing changes the messages (hence the cache keys) and
the prompt hash (hence calibrators fitted under another framing are refused as stale).

Example ``framing.yaml``::

    # yaml-language-server: $schema=../framing.schema.json
    persona: an experienced peer-support trainer
    task: >-
      rating replies written by volunteer supporters in text conversations with people in distress.
    post: {name: conversation, phrase: the conversation so far}
    response: {name: reply, phrase: the supporter's reply}
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judge.errors import InputError, Problem
from judge.fileio import load_document

FRAMING_FILE = "framing.yaml"
SCHEMA_FILE = "framing.schema.json"
Shown = Literal["post", "standards"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Block(_Strict):
    """A block of untrusted item text in the judge's user message, and how the instructions refer to it."""

    name: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9 _-]{0,39}$",
        description="The word in the block's markers, upper-cased: 'post' gives [[BEGIN POST ...]].",
    )
    phrase: str = Field(
        min_length=1,
        max_length=200,
        description='How the instructions name the block, lower-case, e.g. "the person\'s post".',
    )


class Framing(_Strict):
    """The set-level framing of a rubric set. The system message opens ``You are {persona} {task}``."""

    persona: str = Field(min_length=1, description="Who the judge is, e.g. 'an experienced clinical psychologist'.")
    task: str = Field(
        min_length=1,
        description="The task in one paragraph, continuing 'You are <persona> ...', e.g. 'rating responses "
        "written to people who asked for emotional support online.'",
    )
    task_all_criteria: str | None = Field(
        default=None,
        description="The task as worded when one call rates one response on every criterion (default: task).",
    )
    post: Block = Field(
        default=Block(name="context", phrase="the message or conversation being answered"),
        description="The block holding what the response answers: the item's post, or its conversation.",
    )
    response: Block = Field(
        default=Block(name="response", phrase="the response"), description="The block holding the rated text."
    )
    shows: list[Shown] = Field(
        default=["post", "standards"],
        description="Which item fields the judge sees besides the response: 'post' (the post or conversation) and "
        "'standards' (the appraisal dimension and its standards, for rubrics with uses_standards).",
    )

    @model_validator(mode="after")
    def _blocks_differ(self) -> Framing:
        # The markers are the names upper-cased: blocks named alike would share [[BEGIN X]] ... [[END X]], and the
        # judge could not tell the post from the response it rates.
        if self.post.name.strip().upper() == self.response.name.strip().upper():
            raise ValueError(
                f"post.name and response.name must differ (both are {self.response.name!r}, case aside): each block "
                "is marked by its name"
            )
        return self

    @cached_property
    def content_hash(self) -> str:
        """sha256 (first 16 hex) of the framing's canonical content."""
        canon = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]


NEUTRAL_FRAMING = Framing(
    persona="a careful, impartial expert rater",
    task="rating responses written in reply to a message or a conversation. Judge only what the criterion below "
    "asks about.",
    task_all_criteria="rating one response written in reply to a message or a conversation.",
)


def load_framing(path: str | Path) -> Framing:
    """Read and validate a framing file; ``InputError`` names the file and every bad field."""
    return load_document(path, Framing, "framing file", fmt="yaml")


def find_framing(directory: Path, stop: Path) -> Path | None:
    """The framing file governing rubric files in ``directory``: the nearest ``framing.yaml`` in it or a parent,
    looking no higher than ``stop``."""
    d = directory.resolve()
    top = stop.resolve()
    while True:
        cand = d / FRAMING_FILE
        if cand.is_file():
            return cand
        if d == top or top not in d.parents:
            return None
        d = d.parent


def framing_json_schema() -> dict[str, Any]:
    """JSON Schema of framing files (kept in ``rubrics/framing.schema.json`` for editors)."""
    schema = Framing.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "reappraisal-judge rubric-set framing"
    return schema


def one_framing(framings: dict[str, Framing], source: str) -> Framing:
    """The framing shared by a set's criteria (criterion -> framing); criteria framed differently are an error."""
    distinct = {f.content_hash: f for f in framings.values()}
    if len(distinct) > 1:
        groups: dict[str, list[str]] = {}
        for c, f in framings.items():
            groups.setdefault(f.content_hash, []).append(c)
        raise InputError(
            Problem(
                source,
                "criteria from rubric sets with different framings cannot be judged together "
                f"({' vs '.join(str(sorted(g)) for g in groups.values())}); load one set",
            )
        )
    return next(iter(distinct.values()), NEUTRAL_FRAMING)


def new_framing_yaml(framing: Framing = NEUTRAL_FRAMING, schema: str | None = None) -> str:
    """The text of a framing file (default: the neutral framing, written out so it can be edited); ``schema``: where
    its ``$schema`` comment points (``judge.data.rubric.schema_ref``; default: beside the set's directory)."""
    import yaml

    body = yaml.safe_dump(framing.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=116)
    return (
        f"# yaml-language-server: $schema={schema or '../' + SCHEMA_FILE}\n"
        "# How the judge is framed for every criterion of this set (docs/your-data.md, 'Framing'). The system\n"
        "# message opens 'You are <persona> <task>'. Editing this changes every prompt, cache key and prompt hash.\n"
        f"{body}"
    )

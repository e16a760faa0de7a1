"""Rubrics: the criteria a judge scores, as validated, versioned data.

A rubric file is YAML, one criterion per file (see ``rubrics/resort/``). It declares the scale (points and what
each anchor means), the level of measurement used by the agreement statistics, the answer the judge must give,
and a version. ``Rubric.content_hash`` changes whenever any of the rubric's content changes, so caches and
calibrators keyed on it can never serve a stale answer for an edited rubric.

Example::

    from judge.data.rubric import load_rubric_set
    rubrics = load_rubric_set("rubrics/resort")
    rubrics["empathy"].points_values()   # [1.0, 2.0, 3.0, 4.0, 5.0]
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from judge.data.framing import FRAMING_FILE, NEUTRAL_FRAMING, Framing, find_framing, load_framing, one_framing
from judge.errors import InputError, Problem
from judge.fileio import (
    read_document,
    validated,
    validation_problems as validation_problems,  # the converter's public home is judge.fileio
)

Level = Literal["nominal", "ordinal", "interval"]
Aggregate = Literal["mean", "median", "mode"]

SCHEMA_FILE = "rubric.schema.json"
#: The most points a scale may have: every point is described to the judge in each prompt (0-100 fits).
MAX_SCALE_POINTS = 101
_NAME_RE = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScalePoint(_Strict):
    """One point of a rating scale."""

    value: float = Field(
        allow_inf_nan=False, description="The numeric value recorded for this point (e.g. 0.5 for 'minor error')."
    )
    label: str = Field(min_length=1, description="Short name of the point, shown to the judge (e.g. 'Minor error').")
    anchor: str = Field(min_length=1, description="What a response at this point looks like, in plain words.")
    aliases: list[str] = Field(
        default_factory=list,
        description="Other spellings a judge may use for this point (matched case-insensitively by the parser).",
    )


class Dimension(_Strict):
    """An appraisal dimension of the RESORT framework, with its aim and evaluation standards."""

    id: int = Field(description="Dimension id as numbered in the RESORT release (1, 4, 6, 7, 8, 23).")
    name: str = Field(min_length=1)
    aim: str = Field(min_length=1, description="What a reappraisal along this dimension tries to change.")
    standards: str = Field(min_length=1, description="What a good response does on this dimension.")


class Answer(_Strict):
    """The structured answer the judge must return: a JSON object ``{"rationale": str, "<field>": ...}``."""

    field: str = Field(default="score", pattern=_NAME_RE, description="Name of the JSON field holding the score.")
    kind: Literal["value", "label"] = Field(
        default="value",
        description="'value': the judge answers with a point's number; 'label': with a point's label.",
    )
    rationale_words: int = Field(default=40, ge=0, le=400, description="Suggested length of the rationale.")


class Rubric(_Strict):
    """One criterion: its scale, level of measurement, judging instructions and version."""

    name: str = Field(pattern=_NAME_RE, description="Criterion name, used as a key everywhere.")
    version: str = Field(pattern=r"^\d+\.\d+(\.\d+)?$", description="Semantic version; bump when the text changes.")
    title: str = Field(min_length=1)
    question: str = Field(min_length=1, description="The question the judge answers about a response.")
    guidance: str = Field(default="", description="Extra instructions for the judge.")
    level: Level = Field(description="Level of measurement used for agreement statistics.")
    direction: Literal["higher", "lower"] = Field(
        default="higher", description="Which end of the scale is better (harmfulness: lower)."
    )
    aggregate: Aggregate | None = Field(
        default=None,
        description="How several samples combine; default by level (interval: mean, ordinal: median, nominal: mode).",
    )
    scale: list[ScalePoint] = Field(
        min_length=2, max_length=MAX_SCALE_POINTS, description="The points of the scale, lowest value first."
    )
    answer: Answer = Field(default_factory=Answer)
    uses_standards: bool = Field(
        default=False, description="Whether the judge is shown the item's appraisal dimension and its standards."
    )
    dimensions: list[Dimension] = Field(default_factory=list)
    source: str = Field(default="", description="Citation of where the criterion comes from.")
    # The set-level framing (judge/data/framing.py), attached when the rubric is loaded from a set. Not a field:
    # it belongs to the set, not to the criterion file, and it is not part of the content hash or the ref; it
    # reaches cache keys through the rendered messages and calibrators through the prompt hash.
    _framing: Framing | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        problems: list[str] = []
        values = [p.value for p in self.scale]
        if values != sorted(values) or len(set(values)) != len(values):
            problems.append(f"scale values must be distinct and increasing, got {values}")
        labels = [s.lower() for p in self.scale for s in [p.label, *p.aliases]]
        dup = sorted({s for s in labels if labels.count(s) > 1})
        if dup:
            problems.append(f"scale labels and aliases must be unique, repeated: {dup}")
        ids = [d.id for d in self.dimensions]
        if len(set(ids)) != len(ids):
            problems.append(f"dimension ids must be unique, got {ids}")
        if self.uses_standards and not self.dimensions:
            problems.append("uses_standards is true but no dimensions are given")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- derived views -------------------------------------------------------------------------------------

    @property
    def aggregation(self) -> Aggregate:
        """How repeated samples are combined (declared, or by level of measurement)."""
        if self.aggregate:
            return self.aggregate
        return {"interval": "mean", "ordinal": "median", "nominal": "mode"}[self.level]  # type: ignore[return-value]

    def points_values(self) -> list[float]:
        return [p.value for p in self.scale]

    @property
    def low(self) -> float:
        return self.scale[0].value

    @property
    def high(self) -> float:
        return self.scale[-1].value

    def dimension(self, dim_id: int | None) -> Dimension | None:
        return next((d for d in self.dimensions if d.id == dim_id), None)

    @cached_property
    def content_hash(self) -> str:
        """sha256 (first 16 hex) of the rubric's canonical content: any edit changes it."""
        canon = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    @property
    def ref(self) -> str:
        """``name@version#hash``: how records and reports name the exact rubric used."""
        return f"{self.name}@{self.version}#{self.content_hash}"

    @property
    def framing(self) -> Framing:
        """The framing of the set this rubric was loaded from (the neutral default if the set has none)."""
        return self._framing or NEUTRAL_FRAMING

    def with_framing(self, framing: Framing | None) -> Rubric:
        """A copy of this rubric framed by ``framing`` (None: the neutral default)."""
        copy = self.model_copy()
        copy._framing = framing
        return copy

    def answer_choices(self) -> list[Any]:
        """The values allowed in the answer's score field (numbers, or labels for ``kind: label``)."""
        if self.answer.kind == "label":
            return [p.label for p in self.scale]
        return [_num(p.value) for p in self.scale]


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


# -- loading ---------------------------------------------------------------------------------------------------


def parse_rubric(data: Any, source: str, framing: Framing | None = None) -> Rubric:
    """Validate already-parsed YAML data as a rubric (framed by ``framing``, default neutral); ``InputError`` with
    every problem."""
    rubric = validated(Rubric, data, source, what="a rubric file")
    return rubric.with_framing(framing) if framing is not None else rubric


def load_rubric(path: str | Path, set_root: str | Path | None = None) -> Rubric:
    """Load and validate one rubric YAML file, framed by the nearest ``framing.yaml`` in its directory (or a parent
    up to ``set_root``)."""
    p = Path(path)
    rubric = parse_rubric(read_document(p, "rubric file", fmt="yaml"), str(p))
    if rubric.name != p.stem:
        raise InputError(Problem(f"{p}: name", f"must match the file name {p.stem!r}, got {rubric.name!r}"))
    framing_file = find_framing(p.parent, Path(set_root) if set_root is not None else p.parent)
    return rubric.with_framing(load_framing(framing_file)) if framing_file else rubric


def rubric_files(path: str | Path) -> list[Path]:
    """The rubric files under a path (a file, or every ``*.yaml``/``*.yml`` below a directory)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InputError(Problem(str(p), "no such rubric file or directory"))
    files = sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file() and f.name != FRAMING_FILE)
    if not files:
        raise InputError(Problem(str(p), "no rubric files (*.yaml) found"))
    return files


def load_rubric_set(path: str | Path, criteria: list[str] | None = None) -> dict[str, Rubric]:
    """Load every rubric below ``path`` (collecting the problems of all files), keyed by criterion name.

    Every criterion carries the set's framing (``framing.yaml`` beside the files, or in a directory between them
    and ``path``); criteria framed differently cannot be loaded together.

    Args:
        path: a rubric file or a directory such as ``rubrics/resort``.
        criteria: keep only these criteria; an unknown name is an ``InputError`` listing the known ones.
    """
    problems: list[Problem] = []
    rubrics: dict[str, Rubric] = {}
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    for f in rubric_files(path):
        try:
            r = load_rubric(f, set_root=root)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if r.name in rubrics:
            problems.append(Problem(str(f), f"criterion {r.name!r} is defined twice"))
        rubrics[r.name] = r
    if problems:  # a bad framing file is reported once, not once per criterion
        raise InputError(list(dict.fromkeys(problems)), source=str(path))
    one_framing({c: r.framing for c, r in rubrics.items()}, str(path))
    if criteria:
        unknown = [c for c in criteria if c not in rubrics]
        if unknown:
            raise InputError(Problem("--criteria", f"unknown criterion {unknown}; expected one of {sorted(rubrics)}"))
        rubrics = {c: rubrics[c] for c in criteria}
    return rubrics


def rubric_json_schema() -> dict[str, Any]:
    """JSON Schema of rubric files (kept in ``rubrics/rubric.schema.json`` so editors validate as you type)."""
    schema = Rubric.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "reappraisal-judge rubric"
    return schema


def default_rubrics_dir() -> Path:
    """The RESORT rubric set: from the source tree if present, else the copy packaged in the wheel."""
    package = Path(__file__).resolve().parents[1]
    for cand in (package.parent / "rubrics" / "resort", package / "_data" / "rubrics" / "resort"):
        if cand.is_dir():
            return cand
    raise InputError(Problem("rubrics/resort", "the bundled RESORT rubrics are missing from this installation"))


def schema_ref(out_dir: str | Path, schema_file: str) -> str:
    """Where a file written into ``out_dir`` finds the installed JSON Schema ``schema_file`` (``rubric.schema.json``
    or ``framing.schema.json``, beside the bundled rubric sets): a relative path inside the same tree, else an
    absolute one, so an editor finds it wherever the set is written (``judge rubrics schema --out`` writes a copy)."""
    schema = (default_rubrics_dir().parent / schema_file).resolve()
    out = Path(out_dir).resolve()
    if out == schema.parent.parent or schema.parent.parent in out.parents:
        return Path(os.path.relpath(schema, out)).as_posix()
    return schema.as_posix()


def find_criterion_name(text: str) -> str:
    """Normalise a criterion spelling from other sources (``standard_alignment``, ``harmful``...)."""
    t = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")  # digits stay: criterion names may hold them
    aliases = {
        "standard_alignment": "alignment_with_standards",
        "alignment": "alignment_with_standards",
        "harmful": "harmfulness",
        "factual": "factuality",
    }
    return aliases.get(t, t)


def scale_values(spec: str) -> list[float]:
    """Scale points from ``1-5`` (every whole number from 1 to 5) or ``0,0.5,1`` (these values): at least 2 and
    at most ``MAX_SCALE_POINTS`` finite numbers, increasing."""
    text = spec.strip()
    expected = (
        f"expected LOW-HIGH (1-5) or increasing finite values (0,0.5,1), 2 to {MAX_SCALE_POINTS} points, got {spec!r}"
    )
    m = re.fullmatch(r"(-?\d+)\s*-\s*(-?\d+)", text)
    try:
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi - lo + 1 > MAX_SCALE_POINTS:  # checked before the points are made: 1-100000000 would fill memory
                raise InputError(Problem("--scale", f"{hi - lo + 1:,} points; {expected}"))
            values = [float(v) for v in range(lo, hi + 1)]
        else:
            values = [float(v) for v in text.split(",") if v.strip()]
    except (ValueError, OverflowError):
        values = []
    if len(values) > MAX_SCALE_POINTS:
        raise InputError(Problem("--scale", f"{len(values):,} points; {expected}"))
    if len(values) < 2 or not all(math.isfinite(v) for v in values) or values != sorted(set(values)):
        raise InputError(Problem("--scale", expected))
    return values


def new_rubric_yaml(
    name: str,
    values: list[float],
    anchors: dict[float, str],
    *,
    title: str | None = None,
    question: str | None = None,
    level: Level = "ordinal",
    labels: dict[float, str] | None = None,
    schema: str | None = None,
) -> str:
    """The text of a new rubric file (validated): a name, a scale and anchors; missing anchors are marked TODO.

    ``schema``: where its ``$schema`` comment points (``schema_ref``; default: beside the set's directory, as in
    this repository)."""
    labels = labels or {}
    points = [
        {
            "value": _num(v),
            "label": labels.get(v, f"{v:g}"),
            "anchor": anchors.get(v) or f"TODO: what a response rated {v:g} looks like",
        }
        for v in values
    ]
    data = {
        "name": name,
        "version": "1.0.0",
        "title": title or name.replace("_", " ").capitalize(),
        "question": question or f"TODO: the question the judge answers about {name.replace('_', ' ')}",
        "guidance": "",
        "level": level,
        "scale": points,
        "answer": {"field": "score", "kind": "value" if not labels else "label", "rationale_words": 30},
        "source": "",
    }
    parse_rubric(data, f"{name}.yaml")  # the scaffold itself must be a valid rubric
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=116)
    head = (
        f"# yaml-language-server: $schema={schema or '../' + SCHEMA_FILE}\n"
        f"# {data['title']}: written by `judge rubrics new`.\n"
    )
    return head + body

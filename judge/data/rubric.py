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
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from judge.errors import InputError, Problem

Level = Literal["nominal", "ordinal", "interval"]
Aggregate = Literal["mean", "median", "mode"]

SCHEMA_FILE = "rubric.schema.json"
_NAME_RE = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScalePoint(_Strict):
    """One point of a rating scale."""

    value: float = Field(description="The numeric value recorded for this point (e.g. 0.5 for 'minor error').")
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
    scale: list[ScalePoint] = Field(min_length=2, description="The points of the scale, lowest value first.")
    answer: Answer = Field(default_factory=Answer)
    uses_standards: bool = Field(
        default=False, description="Whether the judge is shown the item's appraisal dimension and its standards."
    )
    dimensions: list[Dimension] = Field(default_factory=list)
    source: str = Field(default="", description="Citation of where the criterion comes from.")

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

    def answer_choices(self) -> list[Any]:
        """The values allowed in the answer's score field (numbers, or labels for ``kind: label``)."""
        if self.answer.kind == "label":
            return [p.label for p in self.scale]
        return [_num(p.value) for p in self.scale]


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


# -- loading ---------------------------------------------------------------------------------------------------


def _loc(loc: tuple[Any, ...], data: Any) -> tuple[str, Any]:
    """Render a pydantic error location as a dotted path with names (``scale[2].anchor``) and fetch the value."""
    parts: list[str] = []
    cur: Any = data
    for key in loc:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(("." if parts else "") + str(key))
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            cur = None
    return "".join(parts) or "(top level)", cur


def validation_problems(err: ValidationError, source: str, data: Any, line_prefix: str = "") -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into one ``Problem`` per error, naming the field and the bad value."""
    out = []
    for e in err.errors():
        path, value = _loc(tuple(e["loc"]), data)
        msg = e["msg"]
        if e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field (not part of the format; check the spelling)"
        shown = "" if e["type"] == "missing" else f" (got {value!r:.80})"
        out.append(Problem(f"{source}{line_prefix}: {path}", f"{msg}{shown}"))
    return out


def parse_rubric(data: Any, source: str) -> Rubric:
    """Validate already-parsed YAML data as a rubric; raise ``InputError`` with every problem."""
    if not isinstance(data, dict):
        raise InputError(Problem(source, f"a rubric file must hold a mapping, got {type(data).__name__}"))
    try:
        return Rubric.model_validate(data)
    except ValidationError as err:
        raise InputError(validation_problems(err, source, data), source=source) from None


def load_rubric(path: str | Path) -> Rubric:
    """Load and validate one rubric YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(Problem(str(p), f"cannot read rubric file: {exc.strerror}")) from None
    except UnicodeDecodeError as exc:  # a ValueError, not an OSError: without this it escaped as a traceback
        raise InputError(Problem(str(p), f"not UTF-8 text ({exc.reason} at byte {exc.start})")) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise InputError(Problem(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")) from None
    rubric = parse_rubric(data, str(p))
    if rubric.name != p.stem:
        raise InputError(Problem(f"{p}: name", f"must match the file name {p.stem!r}, got {rubric.name!r}"))
    return rubric


def rubric_files(path: str | Path) -> list[Path]:
    """The rubric files under a path (a file, or every ``*.yaml``/``*.yml`` below a directory)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InputError(Problem(str(p), "no such rubric file or directory"))
    files = sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())
    if not files:
        raise InputError(Problem(str(p), "no rubric files (*.yaml) found"))
    return files


def load_rubric_set(path: str | Path, criteria: list[str] | None = None) -> dict[str, Rubric]:
    """Load every rubric below ``path`` (collecting the problems of all files), keyed by criterion name.

    Args:
        path: a rubric file or a directory such as ``rubrics/resort``.
        criteria: keep only these criteria; an unknown name is an ``InputError`` listing the known ones.
    """
    problems: list[Problem] = []
    rubrics: dict[str, Rubric] = {}
    for f in rubric_files(path):
        try:
            r = load_rubric(f)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if r.name in rubrics:
            problems.append(Problem(str(f), f"criterion {r.name!r} is defined twice"))
        rubrics[r.name] = r
    if problems:
        raise InputError(problems, source=str(path))
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


def find_criterion_name(text: str) -> str:
    """Normalise a criterion spelling from other sources (``standard_alignment``, ``harmful``...)."""
    t = re.sub(r"[^a-z]+", "_", text.lower()).strip("_")
    aliases = {
        "standard_alignment": "alignment_with_standards",
        "alignment": "alignment_with_standards",
        "harmful": "harmfulness",
        "factual": "factuality",
    }
    return aliases.get(t, t)

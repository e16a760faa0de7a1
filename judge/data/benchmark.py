"""Benchmarks: candidate responses to score, and the expert ratings to compare judges with.

A benchmark is a directory (the format is documented in docs/your-data.md, with a JSON Schema per file in
``datasets/schema/``)::

    benchmark.json   manifest: name, description, source, counts (BenchmarkManifest; optional: without it the
                     benchmark is named after its directory)
    items.jsonl      one Item per line: a post and a response, or a conversation and the turn(s) being judged
    ratings.jsonl    one ExpertRating per line (optional; raters rate subsets, so ratings may be sparse)

Example::

    from judge.data.benchmark import load_benchmark
    bench = load_benchmark("datasets/demo")
    bench.items["demo:001"].response
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from judge.data.names import Name, NameMap, spellings
from judge.data.numbers import Number
from judge.errors import InputError, Problem
from judge.fileio import read_document, read_jsonl_collect, validated, validation_problems, write_json, write_jsonl

if TYPE_CHECKING:
    from judge.data.rubric import Rubric

M = TypeVar("M", bound=BaseModel)

FORMAT_VERSION = 1
# Where the JSON Schemas of the three files live, relative to the repository (and packaged in the wheel as
# judge/_data/datasets/schema/); benchmark.json names them in "$schema" and "schemas".
SCHEMA_DIR = "datasets/schema"
SCHEMA_FILES = {
    "benchmark.json": "benchmark.schema.json",
    "items.jsonl": "item.schema.json",
    "ratings.jsonl": "rating.schema.json",
}
ROLE_PATTERN = r"^[A-Za-z][A-Za-z0-9 _-]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(_Strict):
    """One turn of a conversation: who speaks, and what they say (untrusted text)."""

    role: str = Field(pattern=ROLE_PATTERN, description="Who speaks, e.g. 'seeker' or 'supporter'.")
    text: str = Field(description="What they say (untrusted).")


class Item(_Strict):
    """One thing to judge: a response to a post, or the judged turn(s) of a conversation.

    Either ``post`` and ``response`` are given, or ``conversation`` (ordered turns) with ``judged_turns`` (1-based
    turn numbers; default: the last turn). The judge sees the turns before the first judged turn as the context,
    and the turns from the first judged one to the last as the rated text, neutralised like a post.
    """

    item_id: Name = Field(min_length=1, description="Stable id, unique in the benchmark (e.g. 'resort:0').")
    post_id: Name = Field(
        min_length=1,
        description="Id of the post or conversation; items sharing one are resampled together in CIs.",
    )
    post: str = Field(description="The help-seeker's text (untrusted). Empty for a conversation item.")
    response: str = Field(description="The candidate response (untrusted). Empty for a conversation item.")
    conversation: list[Turn] | None = Field(
        default=None,
        min_length=1,
        exclude_if=lambda v: v is None,
        description="Ordered turns, instead of post and response.",
    )
    judged_turns: list[int] | None = Field(
        default=None,
        min_length=1,
        exclude_if=lambda v: v is None,
        description="1-based numbers of the conversation's turns being judged (default: the last turn).",
    )
    system: NameMap = Field(
        default_factory=dict, description="What produced the response, e.g. {model, pipeline, method}."
    )
    dimension_id: int | None = Field(default=None, description="Appraisal dimension id (1, 4, 6, 7, 8, 23).")
    dimension_aim: str | None = None
    standards: str | None = Field(default=None, description="Standards shown to the judge for this item.")
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _conversation_needs_no_post(cls, data: Any) -> Any:
        # A conversation item stores empty post and response, so every other item keeps both fields required
        # (and a missing one is reported under its own name).
        if isinstance(data, dict) and data.get("conversation") is not None:
            return {"post": "", "response": "", **data}
        return data

    @model_validator(mode="after")
    def _check_turns(self) -> Item:
        if self.conversation is None:
            if self.judged_turns is not None:
                raise ValueError("judged_turns is given but there is no conversation")
            return self
        if self.post or self.response:
            raise ValueError("an item has a post and a response, or a conversation, not both")
        n = len(self.conversation)
        turns = self.judged_turns or []
        if any(not 1 <= t <= n for t in turns) or len(set(turns)) != len(turns):
            raise ValueError(f"judged_turns must be distinct turn numbers from 1 to {n}, got {turns}")
        return self

    @property
    def judged_turn_numbers(self) -> list[int]:
        """The judged turns of a conversation item, 1-based and sorted (empty for a post-and-response item)."""
        if self.conversation is None:
            return []
        return sorted(self.judged_turns or [len(self.conversation)])

    @property
    def judged_text(self) -> str:
        """What is rated: the response, or the judged turns of a conversation (joined by blank lines)."""
        if self.conversation is None:
            return self.response
        return "\n\n".join(self.conversation[n - 1].text for n in self.judged_turn_numbers)

    @property
    def system_name(self) -> str:
        """A readable one-string name of the system (``model / pipeline / method``, empty parts dropped)."""
        parts = [v for v in self.system.values() if v]
        return " / ".join(parts) or "unknown"

    @property
    def content_hash(self) -> str:
        """What the judge was shown of this item, hashed: sha256 (16 hex digits) over the post and response (or the
        conversation and its judged turns) and the appraisal dimension with its aim and standards.

        Every judgment records it (``Judgment.item_hash``): an answer belongs to the content it judged, and a
        record whose item has changed since is judged again, never reused. The id, system and meta are left out:
        they change no prompt.
        """
        shown = {
            "post": self.post,
            "response": self.response,
            "conversation": [[t.role, t.text] for t in self.conversation] if self.conversation is not None else None,
            "judged_turns": self.judged_turn_numbers,
            "dimension_id": self.dimension_id,
            "dimension_aim": self.dimension_aim,
            "standards": self.standards,
        }
        blob = json.dumps(shown, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def input_key(self) -> str:
        """What a response answers: the post and the appraisal dimension (pairs runs of different prompts)."""
        return f"{self.post_id}|{self.dimension_id if self.dimension_id is not None else '-'}"


class ExpertRating(_Strict):
    """One expert's rating of one item on one criterion."""

    item_id: Name = Field(min_length=1)
    rater: Name = Field(min_length=1)
    criterion: Name = Field(min_length=1)
    value: Number
    rationale: str | None = None


class BenchmarkManifest(_Strict):
    """``benchmark.json``: what the benchmark is and where it comes from (counts are written by the tool)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: str = Field(
        default=f"{SCHEMA_DIR}/{SCHEMA_FILES['benchmark.json']}",
        alias="$schema",
        description="The JSON Schema of this file (path in the reappraisal-judge repository).",
    )
    schemas: dict[str, str] = Field(
        default_factory=lambda: {f: f"{SCHEMA_DIR}/{s}" for f, s in SCHEMA_FILES.items() if f != "benchmark.json"},
        description="The JSON Schema of each JSONL file of the benchmark (JSONL files hold records only).",
    )
    format_version: int = FORMAT_VERSION
    name: str
    description: str = ""
    source: str = ""
    license: str = ""
    counts: dict[str, Any] = Field(default_factory=dict)
    off_scale_missing: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,
        description="Ratings off their criterion's scale that the import read as not rated (`judge import table "
        "--off-scale missing`): criterion -> value as written -> how many. Reports that read the benchmark say so.",
    )


def off_scale_note(off_scale: Mapping[str, Mapping[str, int]]) -> str:
    """What reports say of ratings read as not rated because they were off their scale (``--off-scale missing``)."""
    total = sum(sum(v.values()) for v in off_scale.values())
    per = "; ".join(f"{c}: " + ", ".join(f"{v} x{n}" for v, n in counts.items()) for c, counts in off_scale.items())
    return (
        f"{total} expert rating(s) off their scale were read as not rated when the benchmark was imported "
        f"(--off-scale missing): {per}. Every statistic here is computed without them"
    )


class Benchmark(BaseModel):
    """A loaded benchmark: manifest, items by id (in file order) and expert ratings."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path | None = None
    manifest: BenchmarkManifest
    items: dict[str, Item]
    ratings: list[ExpertRating] = Field(default_factory=list)

    @property
    def name(self) -> str:
        return self.manifest.name

    def raters(self) -> list[str]:
        return sorted({r.rater for r in self.ratings})

    def rated_item_ids(self, criterion: str | None = None) -> list[str]:
        """Ids of items with at least one rating (on ``criterion`` if given), in item order."""
        rated = {r.item_id for r in self.ratings if criterion is None or r.criterion == criterion}
        return [i for i in self.items if i in rated]

    def ratings_by_criterion(self) -> dict[str, list[ExpertRating]]:
        out: dict[str, list[ExpertRating]] = defaultdict(list)
        for r in self.ratings:
            out[r.criterion].append(r)
        return dict(out)

    def summary(self) -> dict[str, Any]:
        """Counts a script can read: items, rated items, ratings per criterion, raters, posts, systems."""
        return {
            "name": self.name,
            "items": len(self.items),
            "rated_items": len({r.item_id for r in self.ratings}),
            "ratings": dict(sorted(Counter(r.criterion for r in self.ratings).items())),
            "raters": len(self.raters()),
            "posts": len({it.post_id for it in self.items.values()}),
            "systems": len({it.system_name for it in self.items.values()}),
        }


def _validate_rows(path: Path, model: type[M]) -> tuple[list[tuple[int, dict[str, Any], M]], list[Problem]]:
    """``(line, raw object, model)`` for every valid line of a JSONL file, and one problem per bad line."""
    rows: list[tuple[int, dict[str, Any], M]] = []
    raw, problems = read_jsonl_collect(path)
    for lineno, obj in raw:
        try:
            rows.append((lineno, obj, model.model_validate(obj)))
        except ValidationError as err:
            problems.extend(validation_problems(err, str(path), obj, line_prefix=f":{lineno}"))
    return rows, problems


def _same_name(raw: Any, other: Any) -> str:
    """How two spellings that became one id differ (empty when spelled alike)."""
    if not isinstance(raw, str) or not isinstance(other, str) or raw == other:
        return ""
    return f"; {spellings([other, raw])} are one id once compared as names are (Unicode NFC, trimmed)"


def load_benchmark(path: str | Path, known_criteria: Iterable[str] | None = None) -> Benchmark:
    """Load a benchmark directory, reporting every problem of every file together.

    Ids and names (items, posts, raters, criteria, systems) are normalised as ``judge.data.names`` says; two items
    whose ids become one are refused like any repeated id.

    Args:
        path: the benchmark directory.
        known_criteria: if given, a rating on any other criterion is reported as a problem.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(Problem(str(root), "no such benchmark directory (expected benchmark.json, items.jsonl)"))
    problems: list[Problem] = []
    manifest_path = root / "benchmark.json"
    manifest = BenchmarkManifest(name=root.name)
    if manifest_path.exists():
        try:
            data = read_document(manifest_path, "benchmark manifest", fmt="json")
            manifest = validated(BenchmarkManifest, data, str(manifest_path), what="a benchmark manifest")
        except InputError as exc:
            problems.extend(exc.problems)
    items_path = root / "items.jsonl"
    if not items_path.exists():
        raise InputError(Problem(str(items_path), "missing: a benchmark needs items.jsonl"))
    item_rows, p1 = _validate_rows(items_path, Item)
    problems += p1
    items: dict[str, Item] = {}
    first_item: dict[str, tuple[int, Any]] = {}
    for lineno, obj, it in item_rows:
        if it.item_id in items:
            line, raw = first_item[it.item_id]
            problems.append(
                Problem(
                    f"{items_path}:{lineno}: item_id",
                    f"duplicate item_id {it.item_id!r} (first at line {line}){_same_name(obj.get('item_id'), raw)}",
                )
            )
        first_item.setdefault(it.item_id, (lineno, obj.get("item_id")))
        items[it.item_id] = it
    ratings: list[ExpertRating] = []
    ratings_path = root / "ratings.jsonl"
    if ratings_path.exists():
        rating_rows, p2 = _validate_rows(ratings_path, ExpertRating)
        ratings = [r for _, _, r in rating_rows]
        problems += p2
        known = set(known_criteria) if known_criteria is not None else None
        seen: dict[tuple[str, str, str], tuple[int, Any]] = {}
        for lineno, obj, r in rating_rows:
            where = f"{ratings_path}:{lineno}"
            if r.item_id not in items:
                problems.append(Problem(f"{where}: item_id", f"{r.item_id!r} is not in items.jsonl"))
            if known is not None and r.criterion not in known:
                expected = f"expected one of {sorted(known)}"
                problems.append(Problem(f"{where}: criterion", f"unknown criterion {r.criterion!r}; {expected}"))
            key = (r.item_id, r.rater, r.criterion)
            if key in seen:
                line, raw = seen[key]
                problems.append(
                    Problem(
                        where,
                        f"a second rating by {r.rater!r} of item {r.item_id!r} on {r.criterion!r} (first at line "
                        f"{line}){_same_name(obj.get('rater'), raw)}",
                    )
                )
            seen.setdefault(key, (lineno, obj.get("rater")))
    if problems:
        raise InputError(problems, source=str(root))
    return Benchmark(path=root, manifest=manifest, items=items, ratings=ratings)


def check_dimensions(bench: Benchmark, rubrics: Mapping[str, Rubric], item_ids: Iterable[str] | None = None) -> None:
    """Refuse items a rubric that shows standards would judge with no standards at all.

    A rubric with ``uses_standards`` shows the judge the item's appraisal dimension and that dimension's standards
    (or the item's own ``standards`` text). An item whose ``dimension_id`` is none of the rubric's dimensions, with
    no standards of its own, would be rated on alignment with standards nobody showed. Items without a dimension
    are left alone (the rubric judges them without a dimension block, as documented).

    Raises:
        InputError: naming the items (a few, with a count), their dimension ids and the rubric's.
    """
    ids = list(item_ids) if item_ids is not None else list(bench.items)
    problems: list[Problem] = []
    where = str(bench.path / "items.jsonl") if bench.path is not None else f"benchmark {bench.name}"
    for rubric in rubrics.values():
        if not rubric.uses_standards or "standards" not in rubric.framing.shows:
            continue
        known = {d.id for d in rubric.dimensions}
        bad = [
            i
            for i in ids
            if (it := bench.items[i]).dimension_id is not None and it.dimension_id not in known and not it.standards
        ]
        if bad:
            dims = sorted({d for i in bad if (d := bench.items[i].dimension_id) is not None})
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            problems.append(
                Problem(
                    f"{where}: dimension_id",
                    f"items {bad[:3]}{more} have dimension ids {dims}, which the {rubric.name} rubric does not "
                    f"define (it defines {sorted(known)}) and carry no standards of their own: the judge would rate "
                    "alignment with standards it is never shown. Fix the ids, give the items a 'standards' text, "
                    "or leave the criterion out (--criteria)",
                )
            )
    if problems:
        raise InputError(problems)


_MAX_SHOWN = 20  # distinct rating problems listed before "... and N more problems"


def check_ratings(bench: Benchmark, rubrics: Mapping[str, Rubric], criteria: Iterable[str] | None = None) -> None:
    """Check every expert rating against its criterion's rubric: exit-2 problems, not silently changed statistics.

    A rating is refused when its criterion has no rubric (a misspelling would otherwise drop it) or when
    ``judge.data.ratings.rating_problems`` refuses its value (not a finite number; off the scale, or between the
    points of a nominal or ordinal scale). Each problem names the file and line (when the benchmark was loaded from
    a directory), the field, the value and what is allowed; identical problems (same criterion, same value) are
    listed once with a count, and at most 20 are listed.

    Args:
        criteria: check only the ratings on these criteria (default: every rating).

    Raises:
        InputError: every problem found.
    """
    from judge.data.ratings import rating_problems

    points = {c: set(r.points_values()) for c, r in rubrics.items()}
    only = set(criteria) if criteria is not None else None
    groups: dict[tuple[str, str, str], list[int]] = {}
    for k, r in enumerate(bench.ratings):
        if only is not None and r.criterion not in only:
            continue
        rubric = rubrics.get(r.criterion)
        if rubric is not None and r.value in points[r.criterion]:
            continue  # the common case, checked first: a point of the scale
        if rubric is None:
            found = ("criterion", f"{r.criterion!r} has no rubric; expected one of {sorted(rubrics)}")
        else:
            why = rating_problems(r.value, rubric)
            if why is None:
                continue
            found = ("value", why)
        groups.setdefault((found[0], r.criterion, found[1]), []).append(k)
    if not groups:
        return
    lines = _rating_lines(bench)
    where = str(bench.path / "ratings.jsonl") if bench.path is not None else f"benchmark {bench.name}"
    problems = []
    for (field, _, message), hits in list(groups.items())[:_MAX_SHOWN]:
        k = hits[0]
        r = bench.ratings[k]
        loc = f"{where}:{lines[k]}" if lines is not None else f"{where}: rating {k + 1}"
        more = f" ... and {len(hits) - 1:,} more like this" if len(hits) > 1 else ""
        problems.append(Problem(f"{loc}: {field}", f"{message} (rater {r.rater!r}, item {r.item_id!r}){more}"))
    if len(groups) > _MAX_SHOWN:
        rest = sum(len(h) for h in list(groups.values())[_MAX_SHOWN:])
        problems.append(
            Problem(where, f"... and {rest:,} more rating(s) with {len(groups) - _MAX_SHOWN} other problems")
        )
    raise InputError(problems, source=where)


def _rating_lines(bench: Benchmark) -> list[int] | None:
    """The line of each rating in ``ratings.jsonl`` (ratings are kept in file order), or None if not from a file.

    Read again only when there is a problem to place: the benchmark keeps no line numbers.
    """
    if bench.path is None or not (bench.path / "ratings.jsonl").exists():
        return None
    rows, problems = read_jsonl_collect(bench.path / "ratings.jsonl")
    if problems or len(rows) != len(bench.ratings):
        return None
    return [lineno for lineno, _ in rows]


def save_benchmark(bench: Benchmark, out: str | Path) -> Path:
    """Write a benchmark directory (each file atomically); returns the directory."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    write_jsonl(root / "items.jsonl", bench.items.values())
    if bench.ratings:
        write_jsonl(root / "ratings.jsonl", bench.ratings)
    elif (root / "ratings.jsonl").exists():  # re-imported without ratings: old ones must not stay behind
        (root / "ratings.jsonl").unlink()
    manifest = bench.manifest.model_copy(update={"counts": bench.summary()})
    write_json(root / "benchmark.json", manifest.model_dump(mode="json", by_alias=True))
    return root


def default_demo_dir() -> Path:
    """The bundled demo benchmark (source tree, or the copy packaged in the wheel)."""
    package = Path(__file__).resolve().parents[1]
    for cand in (package.parent / "datasets" / "demo", package / "_data" / "datasets" / "demo"):
        if (cand / "items.jsonl").exists():
            return cand
    raise InputError(Problem("datasets/demo", "the bundled demo benchmark is missing from this installation"))


def benchmark_json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each benchmark file, by schema file name (kept in ``datasets/schema/``)."""
    out: dict[str, dict[str, Any]] = {}
    models: dict[str, type[BaseModel]] = {
        "benchmark.json": BenchmarkManifest,
        "items.jsonl": Item,
        "ratings.jsonl": ExpertRating,
    }
    for file, model in models.items():
        schema = model.model_json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"reappraisal-judge benchmark: {file}" + (" (one object per line)" if "jsonl" in file else "")
        out[SCHEMA_FILES[file]] = schema
    return out

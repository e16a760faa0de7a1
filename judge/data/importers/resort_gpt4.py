"""GPT-4's judge outputs in the RESORT release (``eval-gpt4/``), matched to the expert-rated items.

The release keeps GPT-4's answers beside the responses it judged, not beside the rated items:
``eval-gpt4/{oracle,reddit_top_comment}/<n_criterion>.jsonl`` and ``eval-gpt4/{INDV,ITER}/<n_criterion>/<method>/
<model>.jsonl``. A row holds one post and GPT-4's raw answers under ``evaluation_raw_output...`` keys: one per
appraisal dimension (``_dim_<d>``, each beside the response it judged, ``reappraisal_output_dim_<d>`` or
``intermediate_output_dim_<d>``), or one for the row (``evaluation_raw_output``, ``..._dim``) beside a single
response (``reappraisal_output``, ``Reappraisal``, ``Top Comment``). The oracle files name every answer ``_dim_1``
and give the dimension in a ``Dimension`` field, which wins.

A rated item and an answer match when they share the post (``Reddit ID``), the response text (compared after
``normalise_text``: the release's copies differ only in whitespace and typographic quotes) and the dimension (an
answer without one matches any dimension: its prompt did not name one). Where several different answers match one
item and criterion, those from the item's own system (the file's folder and name) are preferred; if they still
differ, the item is *ambiguous* and left out. Every count is reported per criterion: answers read, items matched,
ambiguous, and rated items with no answer. Nothing is guessed; the answers are parsed later by the tool's own
answer parser, like live answers (``judge.engine.imported``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.data.benchmark import Benchmark, Item
from judge.errors import InputError, Problem
from judge.fileio import read_jsonl

GPT4_DIR = "eval-gpt4"
#: The judge model the paper names for its GPT-4 evaluations.
GPT4_JUDGE = "gpt-4-1106-preview"
#: ``<n>_<name>`` (a file stem or a folder) -> criterion.
CRITERION_OF = {
    "1_standard_alignment": "alignment_with_standards",
    "2_empathy": "empathy",
    "3_harmful": "harmfulness",
    "4_factuality": "factuality",
}
#: Folders of the human baselines -> the ``model`` field the rated file gives them.
BASELINES = {"oracle": "oracle_response", "reddit_top_comment": "top_reddit_comment"}
_ANSWER_KEY = re.compile(r"^evaluation_raw_output(?:_dim_?(\d*))?$")
_RESPONSE_KEYS = ("reappraisal_output", "Reappraisal", "Reappraisal Response", "Top Comment")
# Typography the release's copies of one text differ in: curly quotes, dashes, ellipsis, no-break space.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)


def normalise_text(text: str) -> str:
    """A response as compared for matching: NFKC, straight quotes and dashes, whitespace runs as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY).split())


@dataclass
class CriterionCount:
    """How GPT-4's answers on one criterion met the rated items (the counts of the import summary)."""

    files: int = 0
    answers: int = 0
    rated_items: int = 0
    matched: int = 0
    ambiguous: int = 0
    unmatched: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Gpt4Outputs:
    """GPT-4's answers on the rated items: judge rows for ``Imported.judge_rows``, and the counts per criterion."""

    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    counts: dict[str, CriterionCount] = field(default_factory=dict)
    ambiguous: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "judge": GPT4_JUDGE,
            "matched": sum(c.matched for c in self.counts.values()),
            "by_criterion": {c: n.as_dict() for c, n in sorted(self.counts.items())},
            "ambiguous_items": self.ambiguous[:20],
        }


@dataclass(frozen=True)
class _Answer:
    raw: str
    where: str
    system: tuple[str, str, str]


def _system(parts: Sequence[str], pipelines: dict[tuple[str, str], tuple[str, str]]) -> tuple[str, str, str]:
    """(model, pipeline, method) of a file ``eval-gpt4/...``, as the rated file names systems."""
    if parts[1] in BASELINES:
        return (BASELINES[parts[1]], "", "")
    if len(parts) == 5:  # eval-gpt4/<PIPE>/<n_criterion>/<method>/<model>.jsonl
        method_dir = parts[3].replace("_", " ")
        pipeline, method = pipelines.get((parts[1], method_dir), (parts[1], method_dir))
        return (Path(parts[4]).stem, pipeline, method)
    return ("", "", "")


def _criterion(parts: Sequence[str]) -> str | None:
    for p in parts:
        name = CRITERION_OF.get(Path(p).stem)
        if name is not None:
            return name
    return None


def _answers(row: dict[str, Any]) -> Iterator[tuple[str, int | None, str, str]]:
    """``(key, dimension, response, raw answer)`` for each answer of one row (skipping those with no response)."""
    fixed = row.get("Dimension")
    for key, raw in row.items():
        m = _ANSWER_KEY.match(key)
        if m is None or raw is None:
            continue
        dim = int(m.group(1)) if m.group(1) else None
        response = None
        if dim is not None:
            response = next(
                (v for k, v in row.items() if k != key and k.endswith(f"_output_dim_{dim}") and isinstance(v, str)),
                None,
            )
        if response is None:
            response = next((row[k] for k in _RESPONSE_KEYS if isinstance(row.get(k), str)), None)
        if response is None:
            continue
        if fixed is not None and str(fixed).strip().isdigit():
            dim = int(str(fixed).strip())
        yield key, dim, response, str(raw)


def read_gpt4_outputs(src: Path, bench: Benchmark, pipelines: dict[tuple[str, str], tuple[str, str]]) -> Gpt4Outputs:
    """Match GPT-4's answers under ``src/eval-gpt4`` to the rated items of ``bench`` (see the module docstring).

    Raises:
        InputError: the release has no ``eval-gpt4`` folder, or it holds no answer for any rated item.
    """
    root = src / GPT4_DIR
    files = sorted(root.rglob("*.jsonl")) if root.is_dir() else []
    if not files:
        raise InputError(
            Problem(str(root), "no GPT-4 outputs: expected eval-gpt4/<group>/<n_criterion>.jsonl files of the release")
        )
    rated = [bench.items[i] for i in bench.rated_item_ids()]
    by_text: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for it in rated:
        by_text[(it.post_id, normalise_text(it.response))].append(it)
    rated_on: dict[str, set[str]] = defaultdict(set)
    for r in bench.ratings:
        rated_on[r.criterion].add(r.item_id)
    found: dict[tuple[str, str], list[_Answer]] = defaultdict(list)
    out = Gpt4Outputs(counts={c: CriterionCount() for c in CRITERION_OF.values()})
    for f in files:
        parts = f.relative_to(src).parts
        criterion = _criterion(parts)
        if criterion is None:
            continue  # not a judge-output file of a known criterion (the release has none such today)
        count = out.counts[criterion]
        count.files += 1
        system = _system(parts, pipelines)
        rel = f.relative_to(src).as_posix()
        for lineno, row in read_jsonl(f):
            if not isinstance(row, dict):
                continue
            post = str(row.get("Reddit ID", ""))
            for key, dim, response, raw in _answers(row):
                count.answers += 1
                for it in by_text.get((post, normalise_text(response)), ()):
                    if dim is None or it.dimension_id is None or it.dimension_id == dim:
                        found[(it.item_id, criterion)].append(_Answer(raw, f"{rel}:{lineno}: {key}", system))
    for criterion, count in out.counts.items():
        items = sorted(rated_on.get(criterion, set()), key=_position)
        count.rated_items = len(items)
        for item_id in items:
            answers = found.get((item_id, criterion))
            if not answers:
                count.unmatched += 1
                continue
            own = [a for a in answers if a.system == _item_system(bench.items[item_id])]
            chosen = own or answers
            if len({a.raw for a in chosen}) > 1:
                count.ambiguous += 1
                out.ambiguous.append(f"{item_id} {criterion}: {len(chosen)} different answers")
                continue
            count.matched += 1
            answer = chosen[0]
            out.rows.append(
                (
                    answer.where,
                    {"item_id": item_id, "criterion": criterion, "judge": GPT4_JUDGE, "raw_output": answer.raw},
                )
            )
    if not out.rows:
        raise InputError(Problem(str(root), "holds no GPT-4 answer for any rated item (nothing matched)"))
    return out


def _item_system(it: Item) -> tuple[str, str, str]:
    s = it.system or {}
    return (str(s.get("model", "")), str(s.get("pipeline", "")), str(s.get("method", "")))


def _position(item_id: str) -> tuple[int, str]:
    tail = item_id.rsplit(":", 1)[-1]
    return (int(tail), item_id) if tail.isdigit() else (1 << 30, item_id)

"""Importer for the official RESORT release (github.com/honglizhan/RESORT_cognitive_reappraisal).

Reads the release in its own layout and writes a benchmark:

- the 227 expert-rated responses of ``eval-human/human_eval_annotations_cleaned.json`` become items
  ``resort:<0-based position>`` with two ratings each, indexed by the ``annotator`` id (the two slots of the file
  are not fixed raters);
- the released model outputs (``model_outputs/``) and oracle responses become unrated items
  (``resort:out:<file>:<post>[:<dimension>]``), and the 400 posts of ``source_data/`` go to ``posts.jsonl``;
- with ``options["gpt4"]`` (``--gpt4-run DIR``), GPT-4's own answers in ``eval-gpt4/`` are matched to the rated
  items (``resort_gpt4``) and become judge rows, written as a run and parsed like live answers.

Quirks normalised without losing data: dimension keys spelled ``..._dim_1``, ``..._dim`` or without a suffix, or
``Appraisal Dimension ID``; the model outputs' ``Model`` field truncating ``v0.1`` to ``v0`` (the file name is used,
the field kept in ``meta``); null rationales kept as null; empty ``model``/``pipeline``/``method`` of the human
baselines kept as given; annotation metadata (ids, timing) kept in ``item.meta``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item
from judge.data.importers.base import Imported, register_importer
from judge.data.ratings import rating_problems
from judge.errors import InputError, Problem
from judge.fileio import read_document, read_jsonl

if TYPE_CHECKING:
    from judge.data.rubric import Rubric

RATINGS_FILE = "eval-human/human_eval_annotations_cleaned.json"
CRITERIA = ("alignment_with_standards", "empathy", "harmfulness", "factuality")
DIMENSIONS = (1, 4, 6, 7, 8, 23)
_ANNOTATION_META = ("annotation_id", "id", "lead_time", "created_at", "updated_at")
_DIM_KEY = re.compile(r"_dim_?(\d+)$")

# model_outputs/<PIPE>/<method dir>/<model>.jsonl -> (pipeline, method) as the rated file names them.
_PIPELINES = {
    ("INDV", "vanilla"): ("vanilla", "vanilla"),
    ("INDV", "+cons"): ("individual_guided_reappraisal", "+cons"),
    ("INDV", "+appr"): ("individual_guided_reappraisal", "+appr"),
    ("INDV", "+appr +cons"): ("individual_guided_reappraisal", "+appr +cons"),
    ("ITER", "+cons"): ("iterative_guided_refinement", "+cons"),
    ("ITER", "+appr"): ("iterative_guided_refinement", "+appr"),
    ("ITER", "+appr +cons"): ("iterative_guided_refinement", "+appr +cons"),
    ("ITER", "self-refine"): ("self-refine", "self-refine"),
}


def _require(src: Path, rel: str) -> Path:
    p = src / rel
    if not p.exists():
        raise InputError(
            Problem(
                str(p),
                f"missing from the RESORT release at {src} (expected the layout of "
                "github.com/honglizhan/RESORT_cognitive_reappraisal)",
            )
        )
    return p


def _rated(src: Path) -> tuple[list[Item], list[ExpertRating]]:
    path = _require(src, RATINGS_FILE)
    rows = read_document(path, "RESORT ratings file", fmt="json")
    if not isinstance(rows, list):
        raise InputError(Problem(str(path), f"expected a JSON list of rated responses, got {type(rows).__name__}"))
    items: list[Item] = []
    ratings: list[ExpertRating] = []
    problems: list[Problem] = []
    need = ("Reddit ID", "Reddit Post", "reappraisal_response", "appraisal_dimension_id", "model")
    for i, row in enumerate(rows):
        where = f"{path}: entry {i}"
        missing = [k for k in need if k not in row]
        if missing:
            problems.append(Problem(where, f"missing field(s) {missing}"))
            continue
        item_id = f"resort:{i}"
        annotations = [row[k] for k in ("human_eval_annotation_1", "human_eval_annotation_2") if row.get(k)]
        items.append(
            Item(
                item_id=item_id,
                post_id=str(row["Reddit ID"]),
                post=row["Reddit Post"],
                response=row["reappraisal_response"],
                system={k: str(row.get(k) or "") for k in ("model", "pipeline", "method")},
                dimension_id=int(row["appraisal_dimension_id"]),
                dimension_aim=row.get("appraisal_dimension"),
                standards=row.get("reappraisal_standards"),
                meta={
                    "source": f"{RATINGS_FILE}#{i}",
                    "subreddit": _subreddit(str(row["Reddit ID"])),
                    "annotations": [{k: a.get(k) for k in ("annotator", *_ANNOTATION_META)} for a in annotations],
                },
            )
        )
        for slot, a in enumerate(annotations, 1):
            if "annotator" not in a:
                problems.append(Problem(f"{where}: human_eval_annotation_{slot}", "missing field 'annotator'"))
                continue
            for c in CRITERIA:
                v = a.get(c)
                if v is None:
                    continue  # a missing rating is missing data; raters rate subsets
                if not isinstance(v, int | float):
                    problems.append(
                        Problem(f"{where}: human_eval_annotation_{slot}.{c}", f"expected a number, got {v!r}")
                    )
                    continue
                ratings.append(
                    ExpertRating(
                        item_id=item_id,
                        rater=f"resort:{a['annotator']}",
                        criterion=c,
                        value=float(v),
                        rationale=a.get(f"{c}_rationale"),
                    )
                )
    if problems:
        raise InputError(problems, source=str(path))
    return items, ratings


def _subreddit(reddit_id: str) -> str:
    return reddit_id.rsplit("_", 1)[0].lower()


def _output_items(src: Path) -> Iterator[Item]:
    """Unrated items from the released model outputs and the oracle responses."""
    root = src / "model_outputs"
    for f in sorted(root.glob("*/*/*.jsonl")):
        pipe_dir, method_dir, model = f.parent.parent.name, f.parent.name, f.stem
        pipeline, method = _PIPELINES.get((pipe_dir, method_dir), (pipe_dir, method_dir))
        rel = f.relative_to(src).as_posix()
        for lineno, row in read_jsonl(f):
            post_id = str(row.get("Reddit ID", f"line{lineno}"))
            # The file name carries the full model name; the rows' "Model" field drops the version's minor part
            # ("Mistral-7B-Instruct-v0" for v0.1), which would split one system in two. Kept in meta as written.
            base = dict(
                post_id=post_id,
                post=row.get("Reddit Post", ""),
                system={"model": model, "pipeline": pipeline, "method": method},
            )
            meta = {"source": f"{rel}:{lineno}", "subreddit": row.get("Sub-Reddit") or _subreddit(post_id)}
            if row.get("Model") not in (None, model):
                meta["model_field"] = row["Model"]
            dim_outputs = {
                int(m.group(1)): v
                for k, v in row.items()
                if k.startswith("reappraisal_output") and (m := _DIM_KEY.search(k))
            }
            steps = sorted(
                (int(k.rsplit("_", 1)[1]), v) for k, v in row.items() if k.startswith("reappraisal_output_step_")
            )
            if dim_outputs:
                for dim, text in sorted(dim_outputs.items()):
                    yield Item(
                        item_id=f"resort:out:{rel}:{post_id}:{dim}", response=text, dimension_id=dim, meta=meta, **base
                    )
            elif steps:  # iterative refinement: the final step is the system's answer
                yield Item(
                    item_id=f"resort:out:{rel}:{post_id}",
                    response=steps[-1][1],
                    meta={**meta, "steps": len(steps)},
                    **base,
                )
            elif "reappraisal_output" in row:
                yield Item(item_id=f"resort:out:{rel}:{post_id}", response=row["reappraisal_output"], meta=meta, **base)
    oracle = root / "oracle_responses.jsonl"
    if oracle.exists():
        for lineno, row in read_jsonl(oracle):
            post_id = str(row.get("Reddit ID"))
            dim = row.get("Appraisal Dimension ID")
            yield Item(
                item_id=f"resort:oracle:{post_id}:{dim}",
                post_id=post_id,
                post=row.get("Reddit Post", ""),
                response=row.get("Reappraisal Response", ""),
                system={"model": "oracle_response", "pipeline": "", "method": ""},
                dimension_id=int(dim) if dim is not None else None,
                meta={"source": f"model_outputs/oracle_responses.jsonl:{lineno}", "subreddit": _subreddit(post_id)},
            )


def read_posts(src: Path) -> list[dict[str, Any]]:
    """The source posts of the release (``source_data/r_*.jsonl``): ``{post_id, post, subreddit}``."""
    files = sorted((src / "source_data").glob("r_*.jsonl"))
    if not files:
        raise InputError(Problem(str(src / "source_data"), "missing: expected the posts as source_data/r_*.jsonl"))
    posts = []
    for f in files:
        for lineno, row in read_jsonl(f):
            if "Reddit ID" not in row or "Reddit Post" not in row:
                raise InputError(Problem(f"{f}:{lineno}", "expected fields 'Reddit ID' and 'Reddit Post'"))
            posts.append({"post_id": str(row["Reddit ID"]), "post": row["Reddit Post"], "subreddit": f.stem[2:]})
    return posts


def import_resort(src: str | Path) -> Benchmark:
    """Read the RESORT release at ``src`` into a ``Benchmark`` (rated items first, then unrated outputs).

    The source posts are attached as ``bench.manifest.counts['source_posts']`` and returned by ``read_posts``.
    """
    root = Path(src).expanduser()
    if not root.is_dir():
        raise InputError(Problem(str(root), "no such directory: point at a clone of the RESORT release"))
    items, ratings = _rated(root)
    posts = read_posts(root)
    by_id: dict[str, Item] = {it.item_id: it for it in items}
    for it in _output_items(root):
        by_id.setdefault(it.item_id, it)
    manifest = BenchmarkManifest(
        name="resort",
        description="RESORT expert study: 227 responses rated by clinical psychologists (2 of 4 per response), "
        "plus the released model outputs as unrated items.",
        source="Zhan et al., COLM 2024 (arXiv 2404.01288); github.com/honglizhan/RESORT_cognitive_reappraisal",
        license="no license stated by the release; research use only",
        counts={"source_posts": len(posts)},
    )
    return Benchmark(path=None, manifest=manifest, items=by_id, ratings=ratings)


def import_summary(bench: Benchmark, n_posts: int) -> dict[str, Any]:
    """The ``--json`` summary of an import: real counts, computed from what was read."""
    s = bench.summary()
    rated = set(bench.rated_item_ids())
    return {
        "rated_items": s["rated_items"],
        "ratings": s["ratings"],
        "raters": s["raters"],
        "posts": n_posts,
        "rated_posts": len({bench.items[i].post_id for i in rated}),
        "items": s["items"],
        "unrated_items": s["items"] - len(rated),
        "systems": s["systems"],
        "rated_systems": len({bench.items[i].system_name for i in rated}),
        "dimensions": sorted({it.dimension_id for it in bench.items.values() if it.dimension_id is not None}),
    }


@register_importer
class ResortImporter:
    """``judge import resort SRC --out BENCH [--gpt4-run RUN]``: the release in its own layout, ratings checked
    against the rubrics; GPT-4's released answers on the rated items as a run when asked."""

    kind = "resort"
    reads = "the RESORT expert study release -> benchmark directory"

    def read(self, sources: Sequence[Path], rubrics: Mapping[str, Rubric], options: Mapping[str, Any]) -> Imported:
        if len(sources) != 1:
            raise InputError(Problem("SRC", f"expected one directory (a clone of the release), got {len(sources)}"))
        src = Path(sources[0]).expanduser()
        bench = import_resort(src)
        posts = read_posts(src)
        problems = []
        for n, r in enumerate(bench.ratings, 1):
            rubric = rubrics.get(r.criterion)
            why = rating_problems(r.value, rubric) if rubric is not None else None
            if why is not None:
                problems.append(Problem(f"{src / RATINGS_FILE}: rating {n} ({r.item_id}, {r.rater})", why))
        summary = import_summary(bench, len(posts))
        rows: list[tuple[str, dict[str, Any]]] = []
        if options.get("gpt4"):
            from judge.data.importers.resort_gpt4 import read_gpt4_outputs

            gpt4 = read_gpt4_outputs(src, bench, _PIPELINES)
            rows = [(f"{src / where}", row) for where, row in gpt4.rows]
            summary["gpt4"] = gpt4.summary()
        return Imported(
            benchmark=bench,
            judge_rows=rows,
            extra_files={"posts.jsonl": posts},
            problems=problems,
            summary=summary,
        )

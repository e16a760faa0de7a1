"""Candidate vs baseline: two benchmarks of replies to the same posts (e.g. two ``judge generate`` outputs) as one.

``judge import versus CANDIDATE BASELINE --out DIR`` writes a benchmark holding both sides' replies, so that a
pairwise run can put each candidate reply beside the baseline's reply to the same post and dimension::

    judge import versus out/candidates ci/baseline-replies --out out/versus
    judge run --task pairwise --pairs baseline:baseline --benchmark out/versus --judge judge.toml --out out/pairs
    judge gate --pairwise out/pairs

The replies of two prompt versions usually come from systems of the same name (the PR's ``app-reply`` and main's),
so their items would collide by id and by system. Each item is renamed for its side: its id becomes
``candidate:<id>`` or ``baseline:<id>`` and its system ``{"side": "candidate"}`` or ``{"side": "baseline"}``
(``Item.system_name``: ``candidate``, ``baseline``); what generated it is kept in ``meta["versus"]`` (the source
directory, the original id and system). Posts, dimensions and conversations are unchanged, so the pair plan
(``judge.engine.pairwise.PairPlan``) pairs replies to the same post, dimension and context only. Expert ratings of
either side are kept, under the new ids.

Each side must hold at most one reply per post and dimension (a benchmark of several systems: use ``--pairs
baseline:SYSTEM`` on it directly, and ``judge gate --pairwise RUN --system NAME``), and the two sides must share
at least one post and dimension.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.data.importers.base import Imported, register_importer
from judge.errors import InputError, Problem

if TYPE_CHECKING:
    from judge.data.benchmark import Benchmark
    from judge.data.rubric import Rubric

#: The two sides, in the order ``judge import versus`` takes them; also their items' system names.
SIDES = ("candidate", "baseline")


def _side_items(bench: Benchmark, side: str, source: Path) -> tuple[dict[str, Any], list[Problem]]:
    from judge.engine.pairwise import comparable_key

    keys = Counter(comparable_key(it) for it in bench.items.values())
    twice = [k for k, n in keys.items() if n > 1]
    problems = []
    if twice:
        systems = sorted({it.system_name for it in bench.items.values()})
        problems.append(
            Problem(
                str(source),
                f"the {side} holds {keys[twice[0]]} replies to {twice[0]!r} ({len(twice)} post x dimension(s) with "
                f"several; systems {systems}): each side must hold one reply per post and dimension. For a "
                "benchmark of several systems, judge --pairs baseline:SYSTEM on it directly",
            )
        )
    items = {
        f"{side}:{it.item_id}": it.model_copy(
            update={
                "item_id": f"{side}:{it.item_id}",
                "system": {"side": side},
                "meta": {
                    **it.meta,
                    "versus": {"side": side, "source": str(source), "item_id": it.item_id, "system": it.system},
                },
            }
        )
        for it in bench.items.values()
    }
    return items, problems


@register_importer
class VersusImporter:
    """Two benchmarks of replies to the same posts (e.g. two `judge generate`
    outputs: the candidate first, then the baseline) as one benchmark, each item
    renamed for its side (ids candidate:<id> and baseline:<id>, systems
    'candidate' and 'baseline'), for a pairwise run of candidate vs baseline.
    Each side holds at most one reply per post and dimension; the two share at
    least one.

    example:
      judge import versus out/candidates ci/baseline-replies --out out/versus
      judge run --task pairwise --pairs baseline:baseline \\
                --benchmark out/versus --judge judge.toml --out out/pairs
      judge gate --pairwise out/pairs
    """

    kind = "versus"
    reads = "two benchmarks of replies (candidate, baseline) -> one benchmark for a pairwise gate"

    def read(self, sources: Sequence[Path], rubrics: Mapping[str, Rubric], options: Mapping[str, Any]) -> Imported:
        from judge.data.benchmark import Benchmark, BenchmarkManifest, load_benchmark
        from judge.engine.pairwise import comparable_key

        if len(sources) != 2:
            raise InputError(
                Problem(
                    "SRC", f"expected two benchmark directories (the candidate, then the baseline), got {len(sources)}"
                )
            )
        benches = [load_benchmark(s) for s in sources]
        items: dict[str, Any] = {}
        problems: list[Problem] = []
        for side, bench, source in zip(SIDES, benches, sources, strict=True):
            got, bad = _side_items(bench, side, source)
            items.update(got)
            problems += bad
        keys = [{comparable_key(it) for it in b.items.values()} for b in benches]
        shared = keys[0] & keys[1]
        if not shared:
            problems.append(
                Problem(
                    f"{sources[0]}, {sources[1]}",
                    f"the candidate ({len(keys[0])} post x dimension) and the baseline ({len(keys[1])}) share no post "
                    "and dimension: were they generated from the same posts with the same dimensions?",
                )
            )
        if problems:
            raise InputError(problems)
        ratings = [
            r.model_copy(update={"item_id": f"{side}:{r.item_id}"})
            for side, bench in zip(SIDES, benches, strict=True)
            for r in bench.ratings
        ]
        described = "; ".join(
            f"{side}: {source} ({', '.join(sorted({it.system_name for it in b.items.values()}))})"
            for side, b, source in zip(SIDES, benches, sources, strict=True)
        )
        manifest = BenchmarkManifest(
            name=f"{benches[0].name}-vs-{benches[1].name}",
            description=f"Candidate vs baseline replies for a pairwise gate. {described}",
            source=f"judge import versus {sources[0]} {sources[1]}",
        )
        out = Benchmark(manifest=manifest, items=items, ratings=ratings)
        summary = {
            "items": len(items),
            "ratings": dict(sorted(Counter(r.criterion for r in ratings).items())),
            "raters": out.raters(),
            "candidate_items": len(benches[0].items),
            "baseline_items": len(benches[1].items),
            "shared_inputs": len(shared),
        }
        return Imported(benchmark=out, summary=summary)

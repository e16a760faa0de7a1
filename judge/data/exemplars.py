"""Few-shot exemplars: rated items of other posts shown to a judge, with the experts' mean and their reasons.

An exemplar set is chosen once from a benchmark with expert ratings (``judge exemplars``) and saved as a JSON file.
A judge given it (``judge run --exemplars FILE``, or ``exemplars`` in a judge config) sees the set as one message
after its instructions, the same message for every item: the embedded judge evaluates it once and keeps it in
llama.cpp's KV cache (``judge.engine.local.provider``), so few-shot costs little per item.

Why a fixed set from a few reserved posts, rather than exemplars drawn afresh for each fold of a cross-fit: the
set is then a prefix shared by every prompt (one evaluation, one cache entry per item), and the held-out figures
stay honest by construction: every item of the exemplars' posts is left out of the run (``reserved_items``), so
no rating the judge was shown is ever scored against, and ``judge align`` counts these posts as seen.

The items are spread over the experts' scale (the lowest, middle and highest rated, for three), one per post, so
the judge sees how the experts use the whole range, not only its middle.

Example::

    from judge.data.exemplars import choose_exemplars
    shots = choose_exemplars(bench, ["alignment_with_standards", "empathy"], count=3, seed=0)
    shots.save("aligned/shots.json")
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from judge import __version__
from judge.data.benchmark import Benchmark, Item
from judge.errors import UsageError
from judge.fileio import load_versioned, write_json

FORMAT_VERSION = 1
MAX_RATIONALES = 2  # reasons shown per criterion and exemplar: enough to show how experts argue, short enough to fit
MAX_RATIONALE_CHARS = 400


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Exemplar(_Model):
    """One rated item shown to the judge: the item as the benchmark has it, and what its experts said."""

    item: Item
    ratings: dict[str, float] = Field(description="criterion -> the experts' mean rating.")
    raters: dict[str, int] = Field(description="criterion -> how many experts rated it.")
    rationales: dict[str, list[str]] = Field(
        default_factory=dict, description="criterion -> the experts' reasons, where the data has them (capped)."
    )


class ExemplarSet(_Model):
    """A versioned set of exemplars (``judge exemplars --out``); its ``content_hash`` is in the prompt hash."""

    format_version: int = FORMAT_VERSION
    kind: Literal["exemplars"] = "exemplars"
    benchmark: str = Field(description="Name of the benchmark the exemplars come from.")
    criteria: list[str] = Field(min_length=1, description="The criteria whose expert ratings are shown.")
    seed: int = 0
    exemplars: list[Exemplar] = Field(min_length=1)
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    tool_version: str = __version__

    @property
    def posts(self) -> list[str]:
        """The posts the exemplars come from (sorted): their items are reserved, never judged with this set."""
        return sorted({e.item.post_id for e in self.exemplars})

    @functools.cached_property  # hashed once per loaded set: the prompt hash asks for it with every unit
    def content_hash(self) -> str:
        """What the judge is shown, hashed (not when or by which version the file was written)."""
        shown = self.model_dump(mode="json", include={"criteria", "exemplars"})
        return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:12]

    def reserved_items(self, bench: Benchmark) -> list[str]:
        """Items of ``bench`` from the exemplars' posts (only when it is the benchmark they come from): a judge shown
        the set is not run on them, so no rating it was shown is scored against."""
        if bench.name != self.benchmark:
            return []
        posts = set(self.posts)
        return [i for i, it in bench.items.items() if it.post_id in posts]

    def save(self, path: str | Path) -> Path:
        write_json(path, self.model_dump(mode="json"))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> ExemplarSet:
        """Read and validate an exemplar file (``InputError`` naming the file and field on a bad one)."""
        return load_versioned(
            path, cls, "exemplar set", version=FORMAT_VERSION, kind="exemplars", written_by="judge exemplars --out"
        )


def _cap(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_RATIONALE_CHARS else text[: MAX_RATIONALE_CHARS - 3].rstrip() + "..."


def choose_exemplars(
    bench: Benchmark, criteria: Sequence[str], *, count: int = 3, seed: int = 0, max_chars: int | None = 2500
) -> ExemplarSet:
    """``count`` items rated on every one of ``criteria``, one per post, spread over the first criterion's expert
    means (evenly spaced quantiles: the lowest, middle and highest for 3); ties broken by ``seed``.

    Args:
        max_chars: skip items whose post and rated text together are longer (the set is shown with every item and
            must leave room in a small model's context); None: no limit.

    Raises:
        UsageError: fewer than ``count`` posts have an item rated on every criterion.
    """
    if count < 1:
        raise UsageError(f"--count {count}: expected 1 or more exemplars")
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    reasons: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in bench.ratings:
        if r.criterion in criteria and r.item_id in bench.items:
            values[r.item_id][r.criterion].append(float(r.value))
            if r.rationale and r.rationale.strip():
                reasons[r.item_id][r.criterion].append(_cap(r.rationale))

    def short(it: Item) -> bool:
        return max_chars is None or len(it.post) + len(it.judged_text) <= max_chars

    rng = random.Random(seed)
    pool = [i for i, v in values.items() if all(v.get(c) for c in criteria) and short(bench.items[i])]
    rng.shuffle(pool)  # the seed decides among equally rated items
    first = criteria[0]
    pool.sort(key=lambda i: sum(values[i][first]) / len(values[i][first]))
    posts = {bench.items[i].post_id for i in pool}
    if len(posts) < count:
        raise UsageError(
            f"{count} exemplars need {count} posts with an item rated on {', '.join(criteria)}"
            + ("" if max_chars is None else f" and at most {max_chars} characters long")
            + f"; the benchmark {bench.name!r} has {len(posts)}"
        )
    chosen: list[str] = []
    used: set[str] = set()
    for k in range(count):
        target = (len(pool) - 1) // 2 if count == 1 else round(k * (len(pool) - 1) / (count - 1))
        # the nearest item to the target position whose post is not used yet
        order = sorted(range(len(pool)), key=lambda j: (abs(j - target), j))
        pick = next(pool[j] for j in order if bench.items[pool[j]].post_id not in used)
        chosen.append(pick)
        used.add(bench.items[pick].post_id)
    shots = [
        Exemplar(
            item=bench.items[i],
            ratings={c: sum(values[i][c]) / len(values[i][c]) for c in criteria},
            raters={c: len(values[i][c]) for c in criteria},
            rationales={c: reasons[i][c][:MAX_RATIONALES] for c in criteria if reasons[i][c]},
        )
        for i in chosen
    ]
    return ExemplarSet(benchmark=bench.name, criteria=list(criteria), seed=seed, exemplars=shots)

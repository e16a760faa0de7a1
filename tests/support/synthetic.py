"""A large synthetic benchmark and run, written as real files, for testing what must stay usable at scale (the item
viewer with 10,000 items x 4 criteria x 3 judges).

Deterministic (seeded). Scores are points of the real RESORT rubrics' scales; a third of the items carry two expert
ratings; one judge answers twice per item (sample spread); about 1% of judgments are unscored with a reason; item 0's
response is hostile markup, to check it is shown as text.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from judge.data.benchmark import BenchmarkManifest
from judge.data.rubric import Rubric
from judge.engine.store import RunManifest

HOSTILE = "</script><script>window.pwned = 1; document.title = 'pwned'</script><img src=x onerror=\"window.pwned=2\">"
NEEDLE = "periwinkle"  # a word only in every 97th response: what a text filter must find
SYSTEMS = ["alpha-7b / vanilla", "beta-13b / guided", "gamma-70b / guided / +cons", "delta-api / self-refine"]
REASONS = ["parse_failure", "off_scale", "refusal", "api_error"]


@dataclass
class Synthetic:
    bench: Path
    run: Path
    n_items: int
    judges: list[str]
    criteria: list[str]


def _response(i: int, rng: random.Random) -> str:
    if i == 0:
        return f"A reply with markup in it: {HOSTILE} and text after it."
    words = ["It", "sounds", "hard", "and", "you", "handled", "a", "lot", "today", "consider", "another", "view"]
    text = " ".join(rng.choice(words) for _ in range(rng.randint(25, 60)))
    return text + (f" Like a {NEEDLE} sky." if i % 97 == 5 else "")


def write_synthetic(root: Path, rubrics: dict[str, Rubric], n_items: int = 10_000, seed: int = 0) -> Synthetic:
    """Write ``root/bench`` (items, ratings) and ``root/run`` (3 judges: ``judge-a``, ``judge-b`` and ``judge-c``
    with 2 samples) on every criterion of ``rubrics``."""
    rng = random.Random(seed)
    bench, run = root / "bench", root / "run"
    bench.mkdir(parents=True)
    run.mkdir(parents=True)
    crits = list(rubrics)
    with (bench / "items.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n_items):
            item = {
                "item_id": f"syn:{i}",
                "post_id": f"post:{i // 4}",
                "post": f"Post {i // 4}: something went wrong at work and I keep thinking about it. " * 2,
                "response": _response(i, rng),
                "system": dict(zip(("model", "pipeline", "method"), SYSTEMS[i % 4].split(" / "), strict=False)),
            }
            fh.write(json.dumps(item) + "\n")
    truth: dict[tuple[str, int], float] = {}
    with (bench / "ratings.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n_items):
            for c in crits:
                pts = rubrics[c].points_values()
                truth[(c, i)] = rng.choice(pts)
                if i % 3:
                    continue
                for rater in ("expert-1", "expert-2"):
                    value = truth[(c, i)] if rng.random() < 0.6 else rng.choice(pts)
                    fh.write(json.dumps({"item_id": f"syn:{i}", "rater": rater, "criterion": c, "value": value}) + "\n")
    (bench / "benchmark.json").write_text(BenchmarkManifest(name="synthetic-10k").model_dump_json(), encoding="utf-8")
    judges = {"judge-a": 1, "judge-b": 1, "judge-c": 2}
    manifest = RunManifest(
        command=["synthetic"],
        benchmark={"name": "synthetic-10k", "path": str(bench), "items": n_items},
        judges={j: {"name": j, "model": f"synthetic/{j}", "params": {}} for j in judges},
        rubrics={c: rubrics[c].ref for c in crits},
        aggregation={c: rubrics[c].aggregation for c in crits},
        levels={c: rubrics[c].level for c in crits},
        samples=2,
        items=n_items,
    )
    (run / "run.json").write_text(manifest.model_dump_json(), encoding="utf-8")
    now = time.time()
    with (run / "judgments.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n_items):
            for c in crits:
                pts = rubrics[c].points_values()
                for judge, samples in judges.items():
                    for s in range(samples):
                        rec: dict[str, object] = {
                            "item_id": f"syn:{i}",
                            "criterion": c,
                            "judge": judge,
                            "sample": s,
                            "model": f"synthetic/{judge}",
                            "rubric": rubrics[c].ref,
                            "created_at": now,
                        }
                        if rng.random() < 0.01:
                            rec.update(
                                unscored_reason=rng.choice(REASONS),
                                detail="synthetic failure",
                                raw_output="no score here",
                            )
                        else:
                            near = truth[(c, i)] if rng.random() < 0.5 else rng.choice(pts)
                            rec.update(score=near, rationale=f"{judge} on {c} for syn:{i}: reasons for {near:g}.")
                        fh.write(json.dumps(rec) + "\n")
    return Synthetic(bench=bench, run=run, n_items=n_items, judges=list(judges), criteria=crits)

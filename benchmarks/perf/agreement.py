"""``judge agree`` at scale: 10,000 items x 7 criteria x 4 judges with 2,000 bootstrap resamples.

Data (synthetic, generated into a temporary directory, seed 0): ``--items`` items on ``items / 10`` posts from 20
systems; 4 experts, each item rated by 2 of them on 7 criteria (2 interval 1-10, 3 ordinal 1-5, 1 ordinal 0/0.5/1,
1 nominal 0/1); ``--judges`` judge runs, one sample per item and criterion, about 2% unscored. Every judge tracks
the latent quality with its own noise and bias, so no statistic is degenerate.

What is timed: the command a user runs, ``judge agree --benchmark B --rubrics R --run J1 ... --n-boot N`` in a
fresh process (reading the benchmark, checking the ratings, reading the runs, every statistic, printing the
tables), ``--repeat`` times; the report gives each wall time, the median and the peak resident memory of the process.
Run it on a quiet machine: other work on the cores changes the figure.

Usage: ``python -m benchmarks.perf agreement`` (full size) -> ``reports/perf/agreement.json`` and ``.md``;
``python -m benchmarks.perf agreement --items 500 --n-boot 200 --repeat 1 --out /tmp/agree`` checks it works.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item, save_benchmark
from judge.data.rubric import Rubric, ScalePoint
from judge.engine.judgment import Judgment
from judge.engine.store import RunManifest
from judge.fileio import write_json, write_text

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "perf"

# name, level, scale points
CRITERIA: list[tuple[str, str, list[float]]] = [
    ("alignment", "interval", [float(v) for v in range(1, 11)]),
    ("helpfulness", "interval", [float(v) for v in range(1, 11)]),
    ("empathy", "ordinal", [1.0, 2.0, 3.0, 4.0, 5.0]),
    ("clarity", "ordinal", [1.0, 2.0, 3.0, 4.0, 5.0]),
    ("specificity", "ordinal", [1.0, 2.0, 3.0, 4.0, 5.0]),
    ("factuality", "ordinal", [0.0, 0.5, 1.0]),
    ("harmfulness", "nominal", [0.0, 1.0]),
]
RATERS = ["r1", "r2", "r3", "r4"]


def _rubric(name: str, level: str, points: list[float]) -> Rubric:
    return Rubric(
        name=name,
        version="1.0",
        title=name.title(),
        question=f"How {name}?",
        level=level,  # type: ignore[arg-type]
        direction="lower" if name == "harmfulness" else "higher",
        scale=[ScalePoint(value=v, label=f"p{v:g}", anchor=f"anchor {v:g}") for v in points],
    )


def _snap(values: np.ndarray, points: list[float]) -> np.ndarray:
    """Each value's nearest scale point."""
    pts = np.asarray(points)
    return pts[np.abs(values[:, None] - pts[None, :]).argmin(axis=1)]


def make_data(root: Path, n_items: int, n_judges: int, seed: int = 0) -> tuple[Path, Path, list[Path]]:
    """Write the rubric set, the benchmark and the judge runs; return their paths."""
    rng = np.random.default_rng(seed)
    rubrics_dir = root / "rubrics"
    rubrics_dir.mkdir(parents=True)
    for name, level, points in CRITERIA:
        r = _rubric(name, level, points)
        (rubrics_dir / f"{name}.yaml").write_text(yaml.safe_dump(r.model_dump(mode="json", exclude_defaults=True)))
    items = {
        f"x:{k}": Item(
            item_id=f"x:{k}", post_id=f"p{k // 10}", post="post", response="reply", system={"model": f"m{k % 20}"}
        )
        for k in range(n_items)
    }
    quality = rng.uniform(0, 1, n_items) + (np.arange(n_items) % 20) / 40  # systems differ a little
    ratings = []
    for name, _, points in CRITERIA:
        lo, hi = points[0], points[-1]
        for k in range(n_items):
            for r in rng.choice(4, 2, replace=False):
                v = _snap(np.array([lo + (hi - lo) * quality[k] / 1.5 + rng.normal(0, 0.15 * (hi - lo))]), points)
                ratings.append(ExpertRating(item_id=f"x:{k}", rater=RATERS[r], criterion=name, value=float(v[0])))
    bench_dir = save_benchmark(
        Benchmark(manifest=BenchmarkManifest(name="synthetic-10k"), items=items, ratings=ratings), root / "bench"
    )
    rubric_refs = {name: _rubric(name, level, pts).ref for name, level, pts in CRITERIA}
    runs = []
    for j in range(n_judges):
        name = f"judge-{j + 1}"
        run = root / "runs" / name
        run.mkdir(parents=True)
        manifest = RunManifest(
            judges={name: {"name": name, "model": f"synthetic/{name}", "params": {}}},
            rubrics=rubric_refs,
            aggregation={c: "mean" for c, _, _ in CRITERIA},
            items=n_items,
        )
        (run / "run.json").write_text(manifest.model_dump_json())
        noise, bias = 0.1 + 0.05 * j, 0.05 * j
        with (run / "judgments.jsonl").open("w") as fh:
            for crit, _, points in CRITERIA:
                lo, hi = points[0], points[-1]
                latent = lo + (hi - lo) * (quality / 1.5 + bias) + rng.normal(0, noise * (hi - lo), n_items)
                scores = _snap(latent, points)
                unscored = rng.random(n_items) < 0.02
                for k in range(n_items):
                    rec = Judgment(
                        item_id=f"x:{k}",
                        criterion=crit,
                        judge=name,
                        score=None if unscored[k] else float(scores[k]),
                        unscored_reason="parse_failure" if unscored[k] else None,
                    )
                    fh.write(rec.model_dump_json() + "\n")
        runs.append(run)
    return bench_dir, rubrics_dir, runs


def time_agree(bench: Path, rubrics: Path, runs: list[Path], n_boot: int) -> tuple[float, float, int]:
    """Wall seconds, peak resident memory (MiB) and exit code of one ``judge agree`` in a fresh process."""
    cmd = [sys.executable, "-m", "judge", "agree", "--benchmark", str(bench), "--rubrics", str(rubrics)]
    for r in runs:
        cmd += ["--run", str(r)]
    cmd += ["--n-boot", str(n_boot)]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)
        # wait4 reaps this child and gives its own peak resident set (kilobytes on Linux)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            sys.stderr.write(err.read().decode(errors="replace"))
    return wall, usage.ru_maxrss / 1024, code


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--judges", type=int, default=4)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=float, default=60.0, help="seconds the median must stay within (report only)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="agree-bench-") as tmp:
        t0 = time.perf_counter()
        bench, rubrics, runs = make_data(Path(tmp), args.items, args.judges)
        setup_s = time.perf_counter() - t0
        walls, peaks = [], []
        for _ in range(args.repeat):
            wall, peak, code = time_agree(bench, rubrics, runs, args.n_boot)
            if code != 0:
                print(f"judge agree exited {code}", file=sys.stderr)
                return 1
            walls.append(wall)
            peaks.append(peak)
    peak_mib = max(peaks)
    median = statistics.median(walls)
    result: dict[str, Any] = {
        "data": {
            "items": args.items,
            "criteria": len(CRITERIA),
            "levels": {c: lv for c, lv, _ in CRITERIA},
            "judges": args.judges,
            "experts": len(RATERS),
            "ratings_per_item": 2,
            "judgments": args.items * len(CRITERIA) * args.judges,
        },
        "n_boot": args.n_boot,
        "wall_s": [round(w, 2) for w in walls],
        "median_s": round(median, 2),
        "peak_rss_mib": round(peak_mib, 1),
        "budget_s": args.budget,
        "within_budget": median <= args.budget,
        "setup_s": round(setup_s, 1),
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu": platform.machine(),
            "cores": os.cpu_count(),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "agreement.json", result)
    n_judgments = result["data"]["judgments"]
    runs_text = ", ".join(f"{w:.1f}" for w in walls)
    verdict = "met" if median <= args.budget else "NOT met"
    md = f"""# `judge agree` at scale

Generated by `python -m benchmarks.perf agreement`; do not edit by hand.

Data: {args.items:,} items x {len(CRITERIA)} criteria x {args.judges} judges ({n_judgments:,} judgments),
4 experts with 2 ratings per item; levels: 2 interval, 4 ordinal, 1 nominal. {args.n_boot:,} bootstrap
resamples, and as many shuffles for the permuted chance row. Timed: the whole command in a fresh process
(read, check, every statistic, print), {args.repeat} time(s) on {os.cpu_count()} core(s).

| | wall time | peak memory |
|---|---|---|
| `judge agree` | median **{median:.1f} s** ({runs_text}) | {peak_mib:.0f} MiB |

Budget {args.budget:.0f} s: {verdict}.
"""
    write_text(args.out / "agreement.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

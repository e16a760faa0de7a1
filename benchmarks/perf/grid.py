"""A grid at scale: 10,000 items x 5 judges x 7 criteria, from a table to the reports, timed and weighed.

Data (synthetic, generated into a temporary directory, seed 0): one CSV table with a row per item (``item_id``,
``post_id``, ``post``, ``response``, ``system``: 20 systems, 10 items per post), 4 experts of whom 2 rate each item
(``r1_<criterion>`` ... ``r4_<criterion>``, empty where not rated) and ``--judges`` judges' scores
(``j1_<criterion>`` ...) on the 7 criteria of ``benchmarks.perf.agreement`` (2 interval 1-10, 3 ordinal 1-5, 1
ordinal 0/0.5/1, 1 nominal 0/1), about 2% of judge cells empty (no answer). The rubrics are written beside it.

What is timed, each in a fresh process, as a user runs them (wall time and peak resident memory):

1. ``judge import table grid.csv --scores '{rater}_{criterion}' --as-judge j1 ... --out B --run-out R``;
2. ``judge agree --benchmark B --run R --out A`` (every format);
3. ``judge leaderboard --judges --benchmark B --run R --out L`` (every format);

and the size of every report file they write (the judge board's HTML had one scatter circle per item and judge and
criterion: 19.9 MB at 10,000 items; issue 27 asks for less than 2 MB). Run it on a quiet machine.

Usage: ``python -m benchmarks.perf grid`` (full size) -> ``reports/perf/grid.json`` and ``.md``;
``python -m benchmarks.perf grid --items 60 --judges 2 --n-boot 50 --out /tmp/grid`` checks that it works.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmarks.perf.agreement import CRITERIA, RATERS, _rubric, _snap
from judge.fileio import write_json, write_text

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "perf"
SIZE_GOAL_MB = 2.0


def make_table(root: Path, n_items: int, n_judges: int, seed: int = 0) -> tuple[Path, Path, list[str]]:
    """Write the rubric set and the table; return their paths and the judges' names."""
    rng = np.random.default_rng(seed)
    rubrics = root / "rubrics"
    rubrics.mkdir(parents=True)
    for name, level, points in CRITERIA:
        r = _rubric(name, level, points)
        (rubrics / f"{name}.yaml").write_text(yaml.safe_dump(r.model_dump(mode="json", exclude_defaults=True)))
    judges = [f"j{k + 1}" for k in range(n_judges)]
    quality = rng.uniform(0, 1, n_items) + (np.arange(n_items) % 20) / 40
    columns: dict[str, list[str]] = {
        "item_id": [f"x{k}" for k in range(n_items)],
        "post_id": [f"p{k // 10}" for k in range(n_items)],
        "post": ["a post"] * n_items,
        "response": ["a reply"] * n_items,
        "system": [f"m{k % 20}" for k in range(n_items)],
    }
    for name, _, points in CRITERIA:
        lo, hi = points[0], points[-1]
        rated = np.zeros((len(RATERS), n_items), dtype=bool)
        for k in range(n_items):
            rated[rng.choice(len(RATERS), 2, replace=False), k] = True
        for r, rater in enumerate(RATERS):
            values = _snap(lo + (hi - lo) * quality / 1.5 + rng.normal(0, 0.15 * (hi - lo), n_items), points)
            columns[f"{rater}_{name}"] = [f"{v:g}" if rated[r, k] else "" for k, v in enumerate(values)]
        for j, judge in enumerate(judges):
            latent = lo + (hi - lo) * (quality / 1.5 + 0.05 * j) + rng.normal(0, (0.1 + 0.05 * j) * (hi - lo), n_items)
            empty = rng.random(n_items) < 0.02
            columns[f"{judge}_{name}"] = ["" if empty[k] else f"{v:g}" for k, v in enumerate(_snap(latent, points))]
    table = root / "grid.csv"
    with table.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(zip(*columns.values(), strict=True))
    return table, rubrics, judges


def timed(args: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, peak resident memory (MiB), exit code and stderr of ``judge ARGS`` in a fresh process."""
    cmd = [sys.executable, "-m", "judge", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)  # reaps the child and gives its own peak resident set (KiB)
        wall = time.perf_counter() - t0
        err.seek(0)
        text = err.read().decode(errors="replace")
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), text


def sizes(directory: Path) -> dict[str, int]:
    """Bytes of every file a verb wrote, by name."""
    return {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}


def run_grid(work: Path, n_items: int, n_judges: int, n_boot: int) -> dict[str, Any]:
    """Generate the grid in ``work``, run the three verbs, and return the timings and sizes (raises on a failure)."""
    t0 = time.perf_counter()
    table, rubrics, judges = make_table(work, n_items, n_judges)
    setup_s = time.perf_counter() - t0
    bench, run = work / "bench", work / "run"
    base = ["--rubrics", str(rubrics)]
    steps = {
        "import": [
            "import", "table", str(table), "--scores", "{rater}_{criterion}", "--raters", ",".join([*RATERS, *judges]),
            *(a for j in judges for a in ("--as-judge", j)), *base, "--out", str(bench), "--run-out", str(run),
        ],
        "agree": [
            "agree", "--benchmark", str(bench), "--run", str(run), *base, "--n-boot", str(n_boot),
            "--out", str(work / "agree"),
        ],
        "leaderboard --judges": [
            "leaderboard", "--judges", "--benchmark", str(bench), "--run", str(run), *base, "--n-boot", str(n_boot),
            "--out", str(work / "judges"),
        ],
    }  # fmt: skip
    out: dict[str, Any] = {"setup_s": round(setup_s, 1), "table_mb": round(table.stat().st_size / 1e6, 2), "steps": {}}
    for name, args in steps.items():
        wall, peak, code, err = timed(args)
        if code != 0:
            raise RuntimeError(f"judge {name} exited {code}:\n{err}")
        out["steps"][name] = {"wall_s": round(wall, 2), "peak_rss_mib": round(peak, 1)}
    out["sizes"] = {"agree": sizes(work / "agree"), "leaderboard --judges": sizes(work / "judges")}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--judges", type=int, default=5)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grid-bench-") as tmp:
        try:
            got = run_grid(Path(tmp), args.items, args.judges, args.n_boot)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
    board_html = got["sizes"]["leaderboard --judges"].get("judges.html", 0) / 1e6
    result: dict[str, Any] = {
        "data": {
            "items": args.items,
            "judges": args.judges,
            "criteria": len(CRITERIA),
            "experts": len(RATERS),
            "ratings_per_item": 2,
            "judge_scores": args.items * args.judges * len(CRITERIA),
        },
        "n_boot": args.n_boot,
        **got,
        "judge_board_html_mb": round(board_html, 2),
        "size_goal_mb": SIZE_GOAL_MB,
        "within_size_goal": board_html <= SIZE_GOAL_MB,
        "machine": {"python": platform.python_version(), "cpu": platform.machine(), "cores": os.cpu_count()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "grid.json", result)
    step_rows = "\n".join(
        f"| `judge {name}` | {s['wall_s']:.1f} s | {s['peak_rss_mib']:.0f} MiB |" for name, s in got["steps"].items()
    )
    size_rows = "\n".join(
        f"| {verb} | `{f}` | {b / 1e6:.2f} MB |" for verb, files in got["sizes"].items() for f, b in files.items()
    )
    verdict = "met" if result["within_size_goal"] else "NOT met"
    md = f"""# A grid at scale: import, agree, judge board

Generated by `python -m benchmarks.perf grid`; do not edit by hand.

Data: {args.items:,} items x {args.judges} judges x {len(CRITERIA)} criteria ({result["data"]["judge_scores"]:,}
judge scores) and 4 experts with 2 ratings per item, in one CSV table of {got["table_mb"]:.2f} MB; {args.n_boot:,}
bootstrap resamples. Each command timed once in a fresh process on {os.cpu_count()} core(s).

| command | wall time | peak memory |
|---|---|---|
{step_rows}

| verb | file | size |
|---|---|---|
{size_rows}

Judge board HTML: {board_html:.2f} MB (goal: under {SIZE_GOAL_MB:g} MB: {verdict}).
"""
    write_text(args.out / "grid.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

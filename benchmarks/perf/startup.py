"""How long ``judge --help`` (and each ``judge VERB --help``) takes to start, and what it imports.

Each command runs in a fresh interpreter, ``--repeats`` times, interleaved with the other commands so a busy moment
hits all of them alike; wall time and CPU time (user + sys of the child, steadier on a shared machine) are reported
as min and median. ``--against DIR`` also times the same commands with another checkout's ``judge`` first on
``PYTHONPATH`` (e.g. a ``git archive`` of the base of a branch), so a change is measured against its base on the
same machine at the same time. The modules of ``judge`` that ``judge --help`` imports are listed: the registries
keep the importers, renderers and report builders out of it.

Run: ``python -m benchmarks.perf startup [--repeats 30] [--against /tmp/base]`` -> ``reports/perf/startup.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from judge.fileio import write_json, write_text

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "perf"

LIST_IMPORTS = (
    "import json, sys\nfrom judge.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
    "print(json.dumps(sorted(m for m in sys.modules if m == 'judge' or m.startswith('judge.'))))"
)


def time_command(argv: list[str], tree: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``python -m judge argv`` with ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "judge", *argv], env=env, cwd=tree, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"judge {' '.join(argv)} exited {os.waitstatus_to_exitcode(status)} in {tree}")
    return wall, usage.ru_utime + usage.ru_stime


def help_imports(tree: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", LIST_IMPORTS], env=env, cwd=tree, capture_output=True, text=True)
    out.check_returncode()
    modules: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return modules


def measure(trees: dict[str, Path], commands: list[list[str]], repeats: int) -> dict[str, Any]:
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(repeats):
        for argv in commands:
            for name, tree in trees.items():
                samples.setdefault((name, " ".join(argv)), []).append(time_command(argv, tree))
    rows = []
    for (name, cmd), got in samples.items():
        walls, cpus = [w for w, _ in got], [c for _, c in got]
        rows.append(
            {
                "tree": name,
                "command": f"judge {cmd}",
                "wall_min_ms": 1000 * min(walls),
                "wall_median_ms": 1000 * statistics.median(walls),
                "cpu_min_ms": 1000 * min(cpus),
                "cpu_median_ms": 1000 * statistics.median(cpus),
                "repeats": len(got),
            }
        )
    return {"rows": rows, "help_imports": {name: help_imports(tree) for name, tree in trees.items()}}


def render(result: dict[str, Any]) -> str:
    lines = [
        "# Start-up time of `judge`",
        "",
        f"{result['machine']}; {result['repeats']} runs of each command, interleaved; fresh interpreter each run.",
        "CPU = user + sys time of the process (steadier than wall time on a shared machine).",
        "",
        "| tree | command | wall min (ms) | wall median (ms) | CPU min (ms) | CPU median (ms) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['tree']} | `{r['command']}` | {r['wall_min_ms']:.0f} | {r['wall_median_ms']:.0f} | "
            f"{r['cpu_min_ms']:.0f} | {r['cpu_median_ms']:.0f} |"
        )
    for name, modules in result["help_imports"].items():
        lines += ["", f"Modules of `judge` imported by `judge --help` ({name}, {len(modules)}):", ""]
        lines.append(", ".join(f"`{m}`" for m in modules))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf startup", description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=30, help="runs of each command (30)")
    ap.add_argument("--against", metavar="DIR", help="another checkout to time side by side (e.g. the base)")
    ap.add_argument("--verbs", action="store_true", help="also time 'judge VERB --help' for every verb")
    ap.add_argument("--out", default=str(OUT), help="report directory (reports/perf)")
    args = ap.parse_args(argv)
    trees = {"this": ROOT}
    if args.against:
        trees = {"against": Path(args.against).resolve(), "this": ROOT}
    commands = [["--help"]]
    if args.verbs:
        from judge.cli import VERBS

        commands += [[verb, "--help"] for verb in VERBS.names()]
    result = measure(trees, commands, args.repeats)
    result.update(machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"Python {platform.python_version()}", repeats=args.repeats)  # fmt: skip
    out = Path(args.out)
    write_json(out / "startup.json", result)
    write_text(out / "startup.md", render(result))
    print(render(result), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

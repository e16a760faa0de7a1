"""Mutation testing of the numbers: how many small wrong versions of the statistics code the fast tests catch.

Tool: mutmut 3 (``[tool.mutmut]`` in pyproject.toml says what is mutated and which tests run). Why mutmut and not
cosmic-ray: mutmut forks each mutant from a warm process and runs only the tests that reach the mutated function
(it records which tests call which function once), so a mutant costs about a second here instead of a fresh pytest
start (numpy, scipy, pydantic: several seconds) per mutant; it works on this flat layout (``judge/`` at the root)
and on Python 3.11. It mutates operators, numbers, strings, arguments and assignments with libcst.

Scope (issue 26): ``judge/analysis/stats/`` (target: at least 90% of non-equivalent mutants killed) and the
analyses that report its numbers, ``agreement``, ``calibration``, ``leaderboard``, ``ppi``, ``judge_board``, and
``judge/jobs/gate.py`` (target: 80%). The text of field descriptions, error messages and report notes is not
mutated (words, not numbers).

A mutant is **killed** when a test fails (or it times out), **survived** when every test passes, and **no tests**
when no fast test reaches its function; survivors judged equivalent (no behaviour can tell them apart: the line
each in ``equivalent.toml``) are left out of the score. Score = killed / (mutants - equivalent).

``python -m benchmarks.mutation run`` runs every mutant (resumable: mutmut keeps each result in ``mutants/``, so
the run can be done in chunks with ``--only``); ``--sample N --seed S`` runs a seeded sample of the mutants and the
report gives the score as an estimate with its 95% interval. ``python -m benchmarks.mutation report`` writes
``reports/quality/mutation.{md,json}`` from mutmut's results. ``ci_sample`` (``tests/test_mutation_sample.py``)
re-runs a fixed sample of mutants the report lists as killed, without mutmut's set-up, and fails when one
survives: a regression in test strength fails the build.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "mutants"
REPORT_DIR = ROOT / "reports" / "quality"
EQUIVALENT = Path(__file__).with_name("equivalent.toml")
RESORT = Path(os.environ.get("RESORT_RELEASE") or ROOT.parent / "shared" / "data" / "resort")
STATS_PREFIX = "judge.analysis.stats."

KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def group_of(name: str) -> str:
    """``stats`` for a mutant of judge/analysis/stats/, ``analyses`` for the rest of the scope."""
    return "stats" if name.startswith(STATS_PREFIX) else "analyses"


def module_of(name: str) -> str:
    """The module of a mutant name: ``judge.analysis.stats.resample`` for ``...resample.x_too_few__mutmut_3`` (a
    function) or ``...pairwise.xǁPairTableǁkappa__mutmut_2`` (a method)."""
    for sep in (".x_", ".xǁ"):
        if sep in name:
            return name.split(sep, 1)[0]
    return name


def module_path(module: str) -> Path:
    """The source file of a module: ``judge/analysis/stats/resample.py``, or a package's ``__init__.py`` (mutants of
    ``judge.analysis.stats.__getattr__`` live in ``judge/analysis/stats/__init__.py``)."""
    base = ROOT / module.replace(".", "/")
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def env() -> dict[str, str]:
    """The environment of the mutmut run: offline LiteLLM, and where the RESORT release is (mutmut runs the tests
    in its copy of the project, from which ../shared is not the release)."""
    return {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "RESORT_RELEASE": str(RESORT)}


def mutmut(args: Sequence[str], log: Path) -> int:
    """Run ``mutmut ARGS`` in the project root, its (very chatty) output to ``log``."""
    exe = Path(sys.executable).with_name("mutmut")
    with log.open("a", encoding="utf-8") as out:
        return subprocess.run([str(exe), *args], cwd=ROOT, env=env(), stdout=out, stderr=subprocess.STDOUT).returncode


def results(mutants_dir: Path = MUTANTS) -> dict[str, str]:
    """mutant name -> status (killed, survived, no tests, timeout, ..., or "not checked"), from mutmut's meta files."""
    from mutmut.stats import status_by_exit_code

    out: dict[str, str] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data.get("exit_code_by_key", {}).items():
            out[name] = status_by_exit_code[code]
    return out


def durations(mutants_dir: Path = MUTANTS) -> float:
    """Seconds mutmut spent running mutants (the sum over mutants, as its meta files record)."""
    total = 0.0
    for meta in mutants_dir.rglob("*.py.meta"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        total += sum(float(v) for v in data.get("durations_by_key", {}).values())
    return total


def load_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """mutant name -> why it is equivalent (``equivalent.toml``: ``[equivalent]`` NAME = "reason")."""
    if not path.exists():
        return {}
    return dict(tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", {}))


def sample(names: Iterable[str], n: int, seed: int) -> list[str]:
    """``n`` mutant names drawn without replacement by ``seed`` (the same names for the same list and seed)."""
    pool = sorted(names)
    return sorted(random.Random(seed).sample(pool, min(n, len(pool))))


def recorded_sample(report: Mapping[str, Any], current: set[str]) -> tuple[list[str], int]:
    """The mutant names a report's sample ran (killed, survived, no tests, equivalent) that still exist, and its
    seed: the same mutants again after tests were added."""
    fig = next((f for f in report.get("figures", {}).values() if f.get("sample")), None)
    if fig is None:
        raise ValueError("the report ran no sample (no figure has a seed)")
    ran = set(report["killed"]) | set(report["survivors"]) | set(report["no_tests"]) | set(report["equivalent"])
    return sorted(ran & current), int(fig["sample"]["seed"])


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float] | None:
    """The Wilson 95% interval of a proportion ``k / n`` (the score of a sample of mutants); None for ``n = 0``."""
    if n == 0:
        return None
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def score(status: Mapping[str, str], equivalent: Mapping[str, str], group: str | None = None) -> dict[str, Any]:
    """Counts and the score of the checked mutants of one group (None: all), equivalent ones left out."""
    names = [n for n, s in status.items() if s != "not checked" and (group is None or group_of(n) == group)]
    counts = Counter(status[n] for n in names)
    equiv = [n for n in names if n in equivalent and status[n] == "survived"]
    killed = sum(counts[s] for s in KILLED)
    denominator = len(names) - len(equiv)
    return {
        "mutants": len(names),
        "killed": killed,
        "survived": counts["survived"] - len(equiv),
        "no_tests": counts["no tests"],
        "equivalent": len(equiv),
        "other": {s: c for s, c in counts.items() if s not in KILLED | {"survived", "no tests"}},
        "score": killed / denominator if denominator else None,
        "interval": wilson(killed, denominator),
    }

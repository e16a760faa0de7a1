"""The CI sample: re-run a fixed, seeded sample of mutants the committed report lists as killed; any survivor fails.

    python -m benchmarks.mutation.sample --n 40 --seed 0      # exit 1 when a sampled mutant survives

It does without mutmut's set-up (copying the project, trampolines for every mutant, a traced run of every test),
which takes minutes: it makes each sampled mutant with mutmut's own mutation operators (``create_mutations``,
numbered as mutmut numbers them, so the names are the report's), imports the heavy libraries once, and forks a
child per mutant that imports ``judge`` afresh with the one mutated module and runs the tests that reached the
mutated function in the full run (``reports/quality/mutation.json``), fastest first, stopping at the first failure.

A mutant whose function changed since the report (its source no longer gives the same mutant) is skipped and
replaced by the next name of the seeded order, and counted: many stale names mean the report should be
regenerated (``python -m benchmarks.mutation run`` then ``report``).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import hashlib
import importlib.abc
import importlib.util
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.mutation import REPORT_DIR, ROOT, env, module_of, module_path

TIMEOUT_S = 120.0
# Test files whose work is in a fixture: mutmut times a test's call only (the README golden test's call takes a
# millisecond, its fixture computes every RESORT table), so "fastest first" would try them first. They go last.
SETUP_HEAVY = ("tests/test_readme_tables.py",)


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str
    path: Path
    tree: Any  # libcst Module of the file
    mutation: Any  # mutmut's Mutation

    @property
    def code(self) -> str:
        """The whole module with this one mutation."""
        from mutmut.mutation.file_mutation import deep_replace

        return str(deep_replace(self.tree, self.mutation.original_node, self.mutation.mutated_node).code)

    @property
    def digest(self) -> str:
        """Of the mutated function's source: another digest for the same name means the code changed."""
        from mutmut.mutation.file_mutation import deep_replace

        func = self.mutation.contained_by_top_level_function
        mutated = deep_replace(func, self.mutation.original_node, self.mutation.mutated_node)
        return hashlib.sha256(self.tree.code_for_node(mutated).encode()).hexdigest()[:16]


def file_mutants(path: Path, module: str) -> dict[str, Mutant]:
    """Every mutant of one file, keyed by mutmut's name for it (the mutated code is made on demand)."""
    import libcst as cst
    from mutmut.mutation.file_mutation import create_mutations
    from mutmut.mutation.trampoline_templates import mangle_function_name

    source = path.read_text(encoding="utf-8")
    tree, mutations, ignored_classes, ignored_functions = create_mutations(str(path), source)
    owner: dict[int, str | None] = {}
    for stmt in tree.body:
        if isinstance(stmt, cst.FunctionDef):
            owner[id(stmt)] = None
        elif isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            for method in stmt.body.body:
                if isinstance(method, cst.FunctionDef):
                    owner[id(method)] = stmt.name.value
    counter: dict[int, int] = {}
    out: dict[str, Mutant] = {}
    for mut in mutations:
        func = mut.contained_by_top_level_function
        if func is None or id(func) not in owner:
            continue
        cls = owner[id(func)]
        if (cls and cls in ignored_classes) or func.name.value in ignored_functions:
            continue
        counter[id(func)] = counter.get(id(func), 0) + 1
        mangled = mangle_function_name(name=func.name.value, class_name=cls)
        name = f"{module}.{mangled}__mutmut_{counter[id(func)]}"
        out[name] = Mutant(name, module, path, tree, mut)
    return out


class _Serve(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module's mutated source in place of the file."""

    def __init__(self, mutant: Mutant) -> None:
        self.mutant = mutant
        self.code = mutant.code

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.mutant.module:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, origin=str(self.mutant.path))
        if spec is not None and self.mutant.path.name == "__init__.py":  # a package: its submodules stay on disk
            spec.submodule_search_locations = [str(self.mutant.path.parent)]
        return spec

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        module.__file__ = str(self.mutant.path)
        exec(compile(self.code, str(self.mutant.path), "exec"), module.__dict__)


def _child(mutant: Mutant, tests: Sequence[str], workdir: str) -> int:
    """In a forked child: import judge afresh with the mutated module, run the tests (stop at the first failure)."""
    import pytest

    for name in [m for m in sys.modules if m == "judge" or m.startswith(("judge.", "tests"))]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Serve(mutant))
    os.environ["JUDGE_CACHE_DIR"] = os.path.join(workdir, "cache")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # --assert=plain: pytest would otherwise load judge's modules itself (it rewrites asserts in every module of the
    # distribution that provides a plugin, and this project ships one), from the files, not the mutant.
    args = [*tests, "-x", "-q", "--assert=plain", "-p", "no:cacheprovider", "-p", "no:randomly"]
    args += ["-m", "not local_model and not slow"]
    return int(pytest.main([*args, "--basetemp", os.path.join(workdir, "tmp"), "-o", "addopts="]))


def _start(mutant: Mutant, tests: Sequence[str]) -> tuple[int, tempfile.TemporaryDirectory[str]]:
    work = tempfile.TemporaryDirectory()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            code = _child(mutant, tests, work.name)
        except BaseException:
            code = 3
        os._exit(code)
    return pid, work


def run_mutants(
    jobs: Sequence[tuple[Mutant, Sequence[str]]], workers: int = 2, timeout_s: float = TIMEOUT_S
) -> dict[str, str]:
    """Each mutant's fate, ``workers`` children at a time: ``killed``, ``survived`` or ``timeout`` (a child over
    ``timeout_s``; counted as killed, as mutmut counts it)."""
    todo = list(jobs)
    running: dict[int, tuple[Mutant, float, tempfile.TemporaryDirectory[str]]] = {}
    out: dict[str, str] = {}
    while todo or running:
        while todo and len(running) < workers:
            mutant, tests = todo.pop(0)
            pid, work = _start(mutant, tests)
            running[pid] = (mutant, time.monotonic() + timeout_s, work)
        for pid, (mutant, deadline, work) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                out[mutant.name] = "survived" if os.waitstatus_to_exitcode(status) == 0 else "killed"
            elif time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                out[mutant.name] = "timeout"
            else:
                continue
            work.cleanup()
            del running[pid]
        time.sleep(0.05)
    return out


def run_mutant(mutant: Mutant, tests: Sequence[str], timeout_s: float = TIMEOUT_S) -> str:
    """One mutant's fate (see ``run_mutants``)."""
    return run_mutants([(mutant, tests)], workers=1, timeout_s=timeout_s)[mutant.name]


def warm_up() -> None:
    """Import what every child needs and should not import again: numpy, scipy, pydantic, pytest, the statistics
    libraries (``judge`` itself is imported afresh by each child)."""
    import krippendorff  # noqa: F401
    import numpy  # noqa: F401
    import pydantic  # noqa: F401
    import pytest  # noqa: F401
    import scipy.optimize
    import scipy.sparse
    import scipy.stats  # noqa: F401
    import yaml  # noqa: F401


def draw(report: dict[str, Any], n: int, seed: int) -> tuple[list[tuple[Mutant, list[str]]], list[str]]:
    """``n`` mutants from the report's killed ones in the seeded order, skipping names whose mutant changed
    (returned second)."""
    killed: dict[str, list[str]] = report["killed"]
    digests: dict[str, str] = report.get("digests", {})
    order = sorted(killed)
    random.Random(seed).shuffle(order)
    files: dict[str, dict[str, Mutant]] = {}
    chosen: list[tuple[Mutant, list[str]]] = []
    stale: list[str] = []
    for name in order:
        if len(chosen) == n:
            break
        module = module_of(name)
        if module not in files:
            path = module_path(module)
            files[module] = file_mutants(path, module) if path.exists() else {}
        mutant = files[module].get(name)
        if mutant is None or not killed[name] or (name in digests and digests[name] != mutant.digest):
            stale.append(name)
            continue
        chosen.append((mutant, sorted(killed[name], key=lambda t: t.split("::")[0] in SETUP_HEAVY)))
    return chosen, stale


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.mutation.sample", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--n", type=int, default=40, help="mutants in the sample (default 40)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", type=Path, default=REPORT_DIR / "mutation.json")
    p.add_argument("--workers", type=int, default=2, help="mutants run at once (default 2: the cores)")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    args = p.parse_args(argv)
    os.environ.update(env())
    os.chdir(ROOT)  # mutmut's create_mutations reads [tool.mutmut] (what not to mutate) from ./pyproject.toml
    start = time.monotonic()
    report = json.loads(args.report.read_text(encoding="utf-8"))
    chosen, stale = draw(report, args.n, args.seed)
    warm_up()
    outcome = run_mutants(chosen, workers=args.workers)
    survivors = sorted(n for n, s in outcome.items() if s == "survived")
    result = {
        "sampled": len(outcome),
        "killed": sum(s != "survived" for s in outcome.values()),
        "survivors": survivors,
        "stale": stale,
        "seconds": round(time.monotonic() - start, 1),
        "outcome": outcome,
    }
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{result['killed']}/{result['sampled']} sampled mutants killed in {result['seconds']} s")
        for name in survivors:
            print(f"SURVIVED: {name} (mutmut show {name}: the tests that killed it no longer do)")
        if stale:
            print(f"{len(stale)} name(s) skipped: their code changed since reports/quality/mutation.json")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())

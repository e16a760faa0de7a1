"""Interrupts: SIGINT and SIGKILL at seeded random moments of an import, a run and a ``judge models add``.

After each interrupt every output is compared with the two versions it may hold:

* ``judge import table`` (a benchmark and a run of judge scores, from a generated table): each output must be the
  old import or the new one, byte for byte in what it holds (items, ratings, manifest; the run's records). Running
  the same command again must then leave the new one.
* ``judge run`` (against the loopback stub): ``judgments.jsonl`` only grows by whole records, so an output is
  ``old`` (nothing recorded since the interrupt's run started), ``new`` (more records, every one valid, none twice,
  each the answer of an uninterrupted reference run) or ``mixed`` (anything else: a broken or unreadable record, a
  duplicate, an answer the reference did not give). The same command must then complete the run, equal to the
  reference.
* ``judge models add``: the registry must hold the models it held (old) or those plus the new one (new); running
  the same command again (when the add did not finish) must add it.

A SIGINT must also end with exit 130 (or 0 if the command had already finished) and a message, never a traceback.
``run_interrupts`` returns one ``InterruptTarget`` per command; the report (``report.py``) shows them.

The CI test (``tests/test_interrupts.py``) runs a few interrupts of each; ``python -m benchmarks.reliability`` runs
many (``SIZES["interrupts"]``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
import signal
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from benchmarks.reliability._common import ROOT, judge_cmd, subprocess_env, synthetic_benchmark

SIGNALS = {"SIGINT": signal.SIGINT, "SIGKILL": signal.SIGKILL}


class InterruptTarget(BaseModel):
    """What the interrupts of one command left, counted."""

    target: str = Field(description="The command interrupted.")
    size: str = Field(description="How much work each invocation does.")
    tries: int
    by_signal: dict[str, int] = Field(default_factory=dict, description="Interrupts delivered, per signal.")
    outcomes: dict[str, int] = Field(
        default_factory=dict, description="Outputs found after an interrupt: old, new, mixed (one per output)."
    )
    finished_first: int = Field(default=0, description="Tries where the command ended before the signal landed.")
    clean_sigint: int = Field(default=0, description="SIGINTs answered by exit 130 (or 0) and no traceback.")
    completed_by_next: int = Field(default=0, description="Tries after which the same command completed the work.")
    leftovers: int = Field(default=0, description="Staging directories or old copies left after completing.")
    problems: list[str] = Field(default_factory=list, description="Every mixed output or failed completion, told.")
    wall_s: float = 0.0

    @property
    def mixed(self) -> int:
        return self.outcomes.get("mixed", 0)

    @property
    def sigints(self) -> int:
        return self.by_signal.get("SIGINT", 0)


class InterruptResult(BaseModel):
    """Every interrupted command; the headline counts are over all of them."""

    targets: list[InterruptTarget]
    interrupts: int = Field(description="Signals delivered, all commands together.")
    mixed: int = Field(description="Outputs that were neither the old nor the new version (must be 0).")
    not_completed: int = Field(description="Tries the same command did not complete (must be 0).")
    unclean_sigint: int = Field(description="SIGINTs that ended with a traceback or another exit code (must be 0).")


def _deliver(
    cmd: list[str], sig: str, delay: float, env: dict[str, str], until: Callable[[], bool] | None = None
) -> tuple[int, str, bool]:
    """Start ``cmd`` and send it ``sig`` after ``delay`` seconds, or as soon as ``until()`` holds when given (polled
    every 10 ms, at most 120 s); return (exit code, stderr, whether it finished before the signal)."""
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + (120.0 if until is not None else delay)
    while p.poll() is None and time.monotonic() < deadline and not (until is not None and until()):
        time.sleep(0.01)
    finished = p.poll() is not None
    if not finished:
        p.send_signal(SIGNALS[sig])
    _, err = p.communicate(timeout=300)
    return p.returncode, err, finished


def _sigint_clean(rc: int, err: str, finished: bool) -> bool:
    """Ctrl-C ends with exit 130 and a message (or the command had finished: exit 0), never a traceback.

    A SIGINT that lands while the interpreter starts (before Python handles signals) or after the command's work is
    done (while the interpreter shuts down) ends the process the way the system ends any program: exit -2, no
    message. That is clean too: the outputs are then the old ones or the new ones, which is checked separately.
    """
    if "Traceback" in err:
        return False
    return (rc == 130 and "interrupted" in err) or (finished and rc == 0) or rc == -2


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.monotonic()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-800:]}")
    return time.monotonic() - t0


def _leftovers(target: Path) -> int:
    if not target.parent.is_dir():
        return 0
    prefixes = (f".{target.name}.staging-", f".{target.name}.old-")
    return sum(1 for p in target.parent.iterdir() if p.name.startswith(prefixes))


def _count(result: InterruptTarget, key: str, field: str) -> None:
    bucket = getattr(result, field)
    bucket[key] = bucket.get(key, 0) + 1


# -- judge import table --------------------------------------------------------------------------------------------


def write_table(path: Path, n_items: int, seed: int) -> Path:
    """A long table of ratings: each item rated by two experts and scored by one judge (``gpt``), on two criteria."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "post", "response", "rater", "empathy", "factuality"])
        for i in range(n_items):
            post = f"Post {i} (version {seed}). I keep thinking I ruined everything at work. " * 3
            response = f"Reply {i} (version {seed}): that sounds heavy; one mistake is not who you are."
            for rater in ("ana", "ben", "gpt"):
                w.writerow([f"it{i:06d}", post, response, rater, rng.randint(1, 5), rng.randint(0, 1)])
    return path


def _bench_state(d: Path) -> str:
    if not d.is_dir():
        return "missing"
    h = hashlib.sha256()
    for name in ("benchmark.json", "items.jsonl", "ratings.jsonl"):
        f = d / name
        h.update(name.encode() + b"\0" + (f.read_bytes() if f.exists() else b"-") + b"\0")
    return h.hexdigest()


def _run_state(d: Path) -> str:
    """What an imported run holds: its records' answers and the benchmark its manifest names (not timestamps)."""
    if not d.is_dir():
        return "missing"
    try:
        manifest = json.loads((d / "run.json").read_text(encoding="utf-8"))
        rows = [json.loads(line) for line in (d / "judgments.jsonl").read_text(encoding="utf-8").splitlines(True)]
    except (OSError, ValueError):
        return "unreadable"
    keep = ("judge", "item_id", "criterion", "sample", "score", "raw_output", "item_hash")
    records = sorted(json.dumps({k: r.get(k) for k in keep}, sort_keys=True) for r in rows)
    blob = json.dumps([manifest.get("benchmark", {}).get("content_hash"), records])
    return hashlib.sha256(blob.encode()).hexdigest()


def _import_cmd(table: Path, bench: Path, run: Path) -> list[str]:
    return judge_cmd("import", "table", str(table), "--as-judge", "gpt", "--name", "interrupts", "--out", str(bench),
                     "--run-out", str(run))  # fmt: skip


def interrupt_import(work: Path, n_items: int, tries: int, *, seed: int = 21) -> InterruptTarget:
    """Interrupt re-imports of a generated table over an older import, ``tries`` times (SIGINT and SIGKILL in turn).

    Each try imports the other of two tables over the current output, interrupts it at a random moment (up to a bit
    longer than an uninterrupted import takes, so some land after it finished), classifies the benchmark and the run,
    then runs the same command again and checks the outputs are the new import, with nothing left beside them.
    """
    rng = random.Random(seed)
    env = subprocess_env()
    t0 = time.monotonic()
    tables = [write_table(work / f"table-{v}.csv", n_items, seed=v) for v in (1, 2)]
    refs: list[tuple[str, str]] = []
    took = 0.0
    for v, table in enumerate(tables):
        took = max(took, _timed(_import_cmd(table, work / f"ref{v}" / "bench", work / f"ref{v}" / "run"), env))
        refs.append((_bench_state(work / f"ref{v}" / "bench"), _run_state(work / f"ref{v}" / "run")))
    bench, run = work / "out" / "bench", work / "out" / "run"
    _timed(_import_cmd(tables[0], bench, run), env)
    result = InterruptTarget(target="judge import table (benchmark + run)", size=f"{n_items * 3:,} rows", tries=tries)
    current = 0
    for k in range(tries):
        nxt = 1 - current
        sig = "SIGINT" if k % 2 == 0 else "SIGKILL"
        cmd = _import_cmd(tables[nxt], bench, run)
        rc, err, finished = _deliver(cmd, sig, rng.uniform(0.0, took * 1.2), env)
        _count(result, sig, "by_signal")
        result.finished_first += finished
        got = (_bench_state(bench), _run_state(run))
        for what, state, old, new in (("benchmark", got[0], refs[current][0], refs[nxt][0]),
                                      ("run", got[1], refs[current][1], refs[nxt][1])):  # fmt: skip
            outcome = "old" if state == old else "new" if state == new else "mixed"
            _count(result, outcome, "outcomes")
            if outcome == "mixed":
                result.problems.append(f"try {k} ({sig}): the {what} is neither the old import nor the new one")
        if sig == "SIGINT":
            # what it says must be true: "unchanged" when both outputs are the old ones, "new" when both are new
            said_old = "unchanged" in err or "nothing was written" in err or not err.strip()
            told = (got == refs[current] and said_old) or (got == refs[nxt] and ("new" in err or rc == 0))
            clean = _sigint_clean(rc, err, finished) and told
            result.clean_sigint += clean
            if not clean:
                result.problems.append(f"try {k} (SIGINT): exit {rc}, stderr {err.strip()[-300:]!r}")
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        complete = done.returncode == 0 and (_bench_state(bench), _run_state(run)) == refs[nxt]
        result.completed_by_next += complete
        if not complete:
            result.problems.append(f"try {k}: the same command did not complete it (exit {done.returncode})")
        result.leftovers += _leftovers(bench) + _leftovers(run)
        current = nxt
    result.wall_s = round(time.monotonic() - t0, 1)
    return result


# -- judge run -----------------------------------------------------------------------------------------------------


def _run_cmd(bench: Path, url: str, out: Path, cache: Path) -> list[str]:
    return judge_cmd("run", "--benchmark", str(bench), "--judge", "openai/stub-judge", "--api-base", url, "--out",
                     str(out), "--cache-dir", str(cache), "--concurrency", "4", "--no-progress")  # fmt: skip


def _answers(out: Path) -> dict[tuple[str, str, str, int], tuple[Any, Any, Any]] | None:
    """Each record's answer by key, or None when a record is broken, unreadable or repeated."""
    from judge.engine.judgment import Judgment

    path = out / "judgments.jsonl"
    if not path.exists():
        return {}
    found: dict[tuple[str, str, str, int], tuple[Any, Any, Any]] = {}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for n, line in enumerate(lines):
        if not line.endswith("\n"):
            if n == len(lines) - 1:
                continue  # a kill's partial last line: skipped by every reader, cut by the next writer
            return None
        try:
            j = Judgment.model_validate_json(line)
        except ValueError:
            return None
        if j.key in found:
            return None
        found[j.key] = (j.score, j.unscored_reason, j.raw_output)
    return found


def _reached(out: Path, records: int) -> bool:
    """Whether ``records`` whole records are on disk (cheap enough to poll)."""
    try:
        return (out / "judgments.jsonl").read_bytes().count(b"\n") >= records
    except OSError:
        return False


def _in_process(cmd: list[str]) -> int:
    """Run a ``judge`` command line (as ``judge_cmd`` builds it) in this process, its output discarded."""
    import contextlib
    import io

    from judge.cli import main

    args = cmd[cmd.index("judge") + 1 :]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(args)


def _manifest_ok(out: Path) -> bool:
    from judge.engine.store import RunManifest

    path = out / "run.json"
    if not path.exists():
        return True  # killed before it was written (or a failed start removed it): no run yet, nothing mixed
    try:
        RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def interrupt_run(work: Path, n_items: int, tries: int, *, seed: int = 23, latency_s: float = 0.02) -> InterruptTarget:
    """Interrupt ``judge run`` against the stub ``tries`` times (SIGINT and SIGKILL in turn), each in a fresh run
    directory and cache, at a random moment; then the same command must complete it, equal to a reference run."""
    from tests.support.stub import StubServer

    rng = random.Random(seed)
    env = subprocess_env()
    t0 = time.monotonic()
    bench = synthetic_benchmark(work / "bench", n_items)
    result = InterruptTarget(target="judge run (loopback stub)", size=f"{n_items * 4:,} judgments", tries=tries)
    total = n_items * 4
    with StubServer(latency_s=latency_s) as url:
        t_ref = time.monotonic()
        _in_process(_run_cmd(bench, url, work / "ref", work / "cache-ref"))  # the reference, uninterrupted
        reference = _answers(work / "ref")
        took = max(2.0, time.monotonic() - t_ref)  # a time-based signal lands within about a start-up
        for k in range(tries):
            sig = "SIGINT" if k % 2 == 0 else "SIGKILL"
            out, cache = work / f"try-{k}" / "run", work / f"try-{k}" / "cache"
            cmd = _run_cmd(bench, url, out, cache)
            if k % 3 == 2:  # a run resumed from a part already recorded: the old output is not empty
                _deliver(cmd, "SIGKILL", 0.0, env, until=partial(_reached, out, total // 3))
            before = _answers(out)
            if rng.random() < 0.3:  # at a random moment, often while it starts (loads, plans, reads the cache)
                rc, err, finished = _deliver(cmd, sig, rng.uniform(0.0, took), env)
            else:  # while it calls: once a random number of new records are on disk
                target = len(before or {}) + rng.randint(1, max(1, total - len(before or {}) - 1))
                rc, err, finished = _deliver(cmd, sig, 0.0, env, until=partial(_reached, out, target))
            _count(result, sig, "by_signal")
            result.finished_first += finished
            after = _answers(out)
            consistent = (
                after is not None
                and before is not None
                and reference is not None
                and _manifest_ok(out)
                and all(reference.get(key) == answer for key, answer in after.items())
                and all(after.get(key) == answer for key, answer in before.items())
            )
            outcome = "mixed" if not consistent else "old" if after == before else "new"
            _count(result, outcome, "outcomes")
            if outcome == "mixed":
                result.problems.append(f"try {k} ({sig}): a record is broken, repeated or not the reference's")
            if sig == "SIGINT":
                clean = _sigint_clean(rc, err, finished) and (
                    "interrupted before" in err or "resume" in err or rc != 130
                )
                result.clean_sigint += clean
                if not clean:
                    result.problems.append(f"try {k} (SIGINT): exit {rc}, stderr {err.strip()[-300:]!r}")
            rc = _in_process(cmd)  # the same command again (in this process: no second start-up to wait for)
            complete = rc == 0 and _answers(out) == reference
            result.completed_by_next += complete
            if not complete:
                result.problems.append(f"try {k}: the same command did not complete it (exit {rc})")
            shutil.rmtree(work / f"try-{k}", ignore_errors=True)
    result.wall_s = round(time.monotonic() - t0, 1)
    return result


# -- judge models add ----------------------------------------------------------------------------------------------


def _fake_gguf(path: Path, size: int, seed: int) -> Path:
    """A file with a GGUF header and ``size`` bytes of noise (hashing it takes a moment; it is not loaded)."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, 1, 1))
        left = size
        while left > 0:
            chunk = min(left, 1 << 20)
            fh.write(rng.randbytes(chunk))
            left -= chunk
    return path


def _registry(models: Path) -> list[tuple[str, str]] | None:
    """(name, sha256) of every model in the registry; None when it cannot be read as a registry."""
    path = models / "models.json"
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return sorted((m["name"], m["sha256"]) for m in data["models"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _add_cmd(file: Path, name: str) -> list[str]:
    return judge_cmd("models", "add", str(file), "--name", name, "--no-load-check")


def interrupt_models_add(work: Path, size_mb: int, tries: int, *, seed: int = 29) -> InterruptTarget:
    """Interrupt ``judge models add`` of a new file ``tries`` times (SIGINT and SIGKILL in turn) over a registry that
    already holds models; the registry must hold the old models, or those and the new one."""
    rng = random.Random(seed)
    models = work / "models"
    env = subprocess_env(JUDGE_MODEL_DIR=str(models))
    t0 = time.monotonic()
    first = _fake_gguf(work / "files" / "base.gguf", size_mb << 20, seed)
    took = _timed(_add_cmd(first, "base"), env)
    result = InterruptTarget(target="judge models add", size=f"{size_mb} MB file", tries=tries)
    for k in range(tries):
        sig = "SIGINT" if k % 2 == 0 else "SIGKILL"
        file = _fake_gguf(work / "files" / f"m{k}.gguf", size_mb << 20, seed + k + 1)
        old = _registry(models)
        rc, err, finished = _deliver(_add_cmd(file, f"m{k}"), sig, rng.uniform(0.0, took * 1.2), env)
        _count(result, sig, "by_signal")
        result.finished_first += finished
        now = _registry(models)
        sha = hashlib.sha256(file.read_bytes()).hexdigest()
        new = sorted([*(old or []), (f"m{k}", sha)])
        outcome = "old" if now == old else "new" if now == new else "mixed"
        _count(result, outcome, "outcomes")
        if outcome == "mixed":
            result.problems.append(f"try {k} ({sig}): the registry holds {now}")
        if sig == "SIGINT":
            clean = _sigint_clean(rc, err, finished)
            result.clean_sigint += clean
            if not clean:
                result.problems.append(f"try {k} (SIGINT): exit {rc}, stderr {err.strip()[-300:]!r}")
        if outcome == "old":  # not added: the same command adds it
            subprocess.run(_add_cmd(file, f"m{k}"), env=env, cwd=ROOT, capture_output=True, text=True)
        complete = _registry(models) == new
        result.completed_by_next += complete
        if not complete:
            result.problems.append(f"try {k}: the model was not added by the same command")
        file.unlink()
    result.wall_s = round(time.monotonic() - t0, 1)
    return result


def run_interrupts(
    work: Path,
    *,
    tries: int,
    import_items: int,
    run_items: int,
    model_mb: int,
    log: Callable[[str], None] = lambda m: None,
) -> InterruptResult:
    """Interrupt each command ``tries`` times; return what the interrupts left (see the module docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    log("interrupts: import...")
    targets = [interrupt_import(work / "import", import_items, tries)]
    log("interrupts: run...")
    targets.append(interrupt_run(work / "run", run_items, tries))
    log("interrupts: models add...")
    targets.append(interrupt_models_add(work / "models-add", model_mb, tries))
    signals: Counter[str] = Counter()
    for t in targets:
        signals.update(t.by_signal)
    return InterruptResult(
        targets=targets,
        interrupts=sum(signals.values()),
        mixed=sum(t.mixed for t in targets),
        not_completed=sum(t.tries - t.completed_by_next for t in targets),
        unclean_sigint=sum(t.sigints - t.clean_sigint for t in targets),
    )


def interrupts_markdown(r: InterruptResult) -> list[str]:
    """The report's section on interrupts (rendered by ``report.render_markdown``)."""

    def row(*cells: object) -> str:
        return "| " + " | ".join(str(c) for c in cells) + " |"

    head = ("command", "size", "interrupts (SIGINT / SIGKILL)", "ended first", "old", "new", "mixed",
            "clean SIGINT", "completed by the next command", "leftovers", "wall s")  # fmt: skip
    lines = ["## Interrupts (SIGINT and SIGKILL at random moments)", "", row(*head), row(*["---"] * len(head))]
    for t in r.targets:
        lines.append(row(t.target, t.size, f"{t.sigints} / {t.by_signal.get('SIGKILL', 0)}", t.finished_first,
                         t.outcomes.get("old", 0), t.outcomes.get("new", 0), t.mixed,
                         f"{t.clean_sigint}/{t.sigints}", f"{t.completed_by_next}/{t.tries}", t.leftovers,
                         t.wall_s))  # fmt: skip
    lines += ["", "Outcomes are counted per output (an import has two: the benchmark and the run). For a run, 'new' "
              "means more whole records than before the interrupt, each the answer an uninterrupted run gave; "
              "'old', none added. 'Ended first': the command finished before its signal was sent.", ""]  # fmt: skip
    for t in r.targets:
        lines += [f"- {t.target}: {p}" for p in t.problems]
    return lines


if __name__ == "__main__":  # a quick look by hand: python -m benchmarks.reliability.interrupts
    import tempfile

    res = run_interrupts(Path(tempfile.mkdtemp(prefix="interrupts-")), tries=2, import_items=500, run_items=20,
                         model_mb=20, log=print)  # fmt: skip
    print("\n".join(interrupts_markdown(res)))
    raise SystemExit(0 if res.mixed == res.not_completed == res.unclean_sigint == 0 else 1)

"""The run store: a directory of versioned, append-only records.

::

    run.json          RunManifest: benchmark (path and content hash), judges (no secrets), rubric refs, prompt hash,
                      samples, command
    judgments.jsonl   one Judgment per line, appended as each arrives (never rewritten)
    summary.json      RunSummary, written when an invocation ends

Appends go through ``judge.fileio.AppendedRecords`` (one whole line, then a flush), so a killed process leaves at
most one partial last line, which is cut before appending again.

Every record carries the hash of the item content it judged (``Judgment.item_hash``). When a run directory is
reused for items whose content changed (say, ``run.json`` was deleted and another benchmark with the same ids was
run into it), the records of the changed items are no answer to the new content: the runner moves them, under the
run's lock and atomically, to ``judgments.superseded.jsonl`` (``set_aside``) and judges those items again. That is
the one time ``judgments.jsonl`` is rewritten; nothing is deleted, and the calls the superseded records paid for
still count in the run's totals (``--budget`` is for the directory). So every record in ``judgments.jsonl`` answers
the benchmark its ``run.json`` names.

A key (judge, item, criterion, sample) can have several records: a judgment whose call failed for a transient
reason (``api_error``: server errors, timeouts, rate limits after every retry) is recorded, and the next
invocation asks again and appends the new answer. The **latest** record of a key is the judgment; the earlier ones
stay in the file as history (their calls and cost count in the run's totals). A scored record is final: the engine
never asks again for a key that has one.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, ConfigDict, Field

from judge import __version__
from judge.data.numbers import Count, Number
from judge.engine.judgment import DEFAULT_MAX_UNSCORED as DEFAULT_MAX_UNSCORED, TRANSIENT_REASONS, Judgment
from judge.engine.task import TaskRecord, read_record
from judge.errors import InputError, Problem
from judge.fileio import AppendedRecords, read_appended, read_document, validated, write_json, write_text

if TYPE_CHECKING:
    from judge.data import Benchmark

STORE_VERSION = 1
MANIFEST = "run.json"
RECORDS = "judgments.jsonl"
SUMMARY = "summary.json"
SUPERSEDED = "judgments.superseded.jsonl"


class RunManifest(BaseModel):
    """What a run is: enough to reproduce it and to refuse mixing it with an incompatible one."""

    store_version: int = STORE_VERSION
    tool_version: str = __version__
    created_at: float = Field(default_factory=time.time)
    command: list[str] = Field(default_factory=list)
    benchmark: dict[str, Any] = Field(
        default_factory=dict,
        description="name, path (as given), abs_path, items, content_hash (see benchmark_content_hash): what "
        "finds the benchmark again from another directory or machine.",
    )
    judges: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rubrics: dict[str, str] = Field(default_factory=dict, description="criterion -> name@version#hash")
    aggregation: dict[str, str] = Field(default_factory=dict, description="criterion -> mean|median|mode")
    levels: dict[str, str] = Field(default_factory=dict)
    directions: dict[str, str] = Field(
        default_factory=dict,
        description="criterion -> 'lower' for each criterion whose low end is better (harmfulness); a criterion "
        "not named here is better when higher. Pairwise analyses read it: the experts prefer the better reply.",
    )
    prompt_hash: str = ""
    samples: int = 1
    items: int = 0
    source: str = Field(default="live", description="'live' (judge calls) or 'imported' (precomputed outputs)")
    task: str = Field(default="score", description="What was judged (judge.engine.task): 'score', 'pairwise'...")
    task_options: dict[str, Any] = Field(default_factory=dict, description="The task's options (e.g. its pairs).")


class RunTotals(BaseModel):
    """Counts over every record a run directory holds, all invocations together (superseded records included)."""

    model_calls: int = Field(default=0, description="Provider requests whose result is recorded, retries included.")
    retries: int = Field(default=0, description="Of those, the attempts after a judgment's first.")
    cost_usd: float = Field(default=0.0, description="What the priced calls cost: the spending a --budget counts.")
    unpriced_calls: int = Field(default=0, description="Calls of a model with no known price (cost unknown).")
    reissued: int = Field(default=0, description="Judgments asked again after a transient failure (or on request).")


class JudgeTotals(BaseModel):
    """One judge's counts in ``summary.json`` (``RunSummary.per_judge``)."""

    model_config = ConfigDict(extra="allow")

    judgments: Count = 0
    scored: Count = 0
    unscored: dict[str, Count] = Field(default_factory=dict)
    cost_usd: Number = 0.0
    cost: str = ""
    unpriced_calls: Count = 0
    latency_s_total: Number = 0.0
    cache_hits: Count = 0


class RunSummary(BaseModel):
    """Counts a script can read. Unscored judgments are data: counted by reason, never hidden.

    ``model_calls``, ``retries`` and ``cache_hits`` are this invocation's; ``totals`` are the run directory's, over
    every invocation. ``problems`` say why the run is not a clean result (``judge run`` exits 1 when there are any).
    """

    judgments: int
    scored: int
    unscored: dict[str, int]
    model_calls: int
    retries: int = 0
    cache_hits: int
    cost_usd: float = Field(description="Spent on the priced calls of this run directory, all invocations together.")
    cost: str = Field(default="", description="The cost as a person reads it: '$0.0123', 'unpriced', 'free (local)'.")
    tokens_in: int
    tokens_out: int
    wall_s: float = 0.0
    run_dir: str
    complete: bool = True
    stop_reason: str | None = None
    problems: list[str] = Field(default_factory=list)
    totals: RunTotals = Field(default_factory=RunTotals)
    per_judge: dict[str, JudgeTotals] = Field(default_factory=dict)
    task: str = Field(default="score", description="The judge task of the run (judge.engine.task).")
    task_summary: dict[str, Any] = Field(
        default_factory=dict, description="What the task adds (pairwise: position counts per judge)."
    )
    # Written by runs before self-consistency moved to the analysis (judge.analysis.scores.run_self_consistency):
    # still read, never written, so an older run's summary stays valid.
    self_consistency: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class RunStore:
    """Append-only writer for one run directory (private permissions: records can hold sensitive text)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir)
        self._records = AppendedRecords(self.dir / RECORDS, private=True)

    def open(self) -> RunStore:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self._records.open()
        return self

    def append(self, j: Judgment) -> None:
        self._records.append(j)

    def close(self) -> None:
        self._records.close()

    def write_manifest(self, m: RunManifest) -> None:
        write_json(self.dir / MANIFEST, m.model_dump(mode="json"), private=True)

    def write_summary(self, s: RunSummary) -> None:
        write_json(self.dir / SUMMARY, s.model_dump(mode="json"), private=True)


def _add_to_totals(t: RunTotals, j: TaskRecord) -> None:
    if j.cache_hit:
        return
    t.model_calls += j.attempts
    t.retries += max(j.attempts - 1, 0)
    if j.cost_usd is None:
        t.unpriced_calls += 1
    else:
        t.cost_usd += j.cost_usd


def _latest(run_dir: str | Path, totals: RunTotals | None) -> Iterator[tuple[int, TaskRecord]]:
    """(position of the key's first record, latest record of the key), records of every task: see
    ``stream_task_records``."""
    first: dict[tuple[str, Hashable], int] = {}
    final: set[tuple[str, Hashable]] = set()
    held: dict[tuple[str, Hashable], TaskRecord] = {}
    reissued = 0
    for n, j in enumerate(read_appended(Path(run_dir) / RECORDS, read_record, "a valid judgment record")):
        if totals is not None:
            _add_to_totals(totals, j)
        key = (j.task, j.key)
        if key in final:
            continue  # a scored record was already the judgment (the engine never writes another)
        if key in held:
            reissued += 1
            if not j.scored:
                held[key] = j  # the latest unscored record replaces the earlier one
                continue
            del held[key]
        else:
            first[key] = n
        if not j.scored:
            held[key] = j
            continue
        final.add(key)
        yield first.pop(key), j
    for key, j in held.items():
        yield first[key], j
    if totals is not None:
        totals.reissued += reissued
        for j in read_appended(Path(run_dir) / SUPERSEDED, read_record, "a valid judgment record"):
            _add_to_totals(totals, j)  # paid for in this directory, though no longer an answer
        totals.cost_usd = round(totals.cost_usd, 6)


def stream_task_records(run_dir: str | Path, *, totals: RunTotals | None = None) -> Iterator[TaskRecord]:
    """The records of a run of any task (``judge.engine.task``), streamed: the latest record of each key.

    Scored records are final and stream out as they are read; unscored ones are held until the end (a later record
    of the same key may replace them), so memory holds only the unscored. A partial last line from a kill is
    skipped.

    Args:
        totals: if given, every record line (superseded ones too) is counted into it (calls, retries, cost).
    """
    for _, j in _latest(run_dir, totals):
        yield j


def stream_records(run_dir: str | Path, *, totals: RunTotals | None = None) -> Iterator[Judgment]:
    """The score judgments of a run, streamed: the latest record of each key (see ``stream_task_records``; the
    records of other tasks are left out, but counted in ``totals``). ``iter_records`` gives them in the order of
    the file instead."""
    for _, j in _latest(run_dir, totals):
        if isinstance(j, Judgment):
            yield cast(Judgment, j)


def iter_records(run_dir: str | Path) -> list[Judgment]:
    """All score judgments of a run as a list, in the order their keys first appear (see ``stream_records``)."""
    ordered = sorted(_latest(run_dir, None), key=lambda t: t[0])
    return [cast(Judgment, j) for _, j in ordered if isinstance(j, Judgment)]


def iter_task_records(run_dir: str | Path) -> list[TaskRecord]:
    """All records of a run, of any task, in the order their keys first appear (see ``stream_task_records``)."""
    return [j for _, j in sorted(_latest(run_dir, None), key=lambda t: t[0])]


def set_aside(run_dir: str | Path, keys: set[Hashable]) -> int:
    """Move every record of ``keys`` from ``judgments.jsonl`` to ``judgments.superseded.jsonl``; call with the run's
    lock held. Returns how many records moved.

    Both files are rewritten whole (staged, fsynced, renamed): the superseded file first, with the moved lines added
    once (a line already there, from a move a kill cut short, is not added twice), then the records file without
    them. Killed in between, the next call finds the same records and finishes the move.
    """
    run = Path(run_dir)
    path = run / RECORDS
    if not keys or not path.exists():
        return 0
    keep: list[str] = []
    moved: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # a kill's partial last line: dropped, as a reader skips it
            try:
                key = read_record(line).key
            except ValueError:
                keep.append(line)  # not ours to judge here: the readers name it
                continue
            (moved if key in keys else keep).append(line)
    if not moved:
        return 0
    superseded = run / SUPERSEDED
    old = superseded.read_text(encoding="utf-8").splitlines(keepends=True) if superseded.exists() else []
    old = [line for line in old if line.endswith("\n")]
    seen = set(old)
    write_text(superseded, "".join(old + [line for line in moved if line not in seen]), private=True)
    write_text(path, "".join(keep), private=True)
    return len(moved)


def has_records(run_dir: str | Path) -> bool:
    """Whether a run directory holds at least one whole judgment record (a kill's partial line does not count)."""
    path = Path(run_dir) / RECORDS
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            if b"\n" in chunk:
                return True
    return False


def is_final(j: TaskRecord, *, retry_unscored: bool = False) -> bool:
    """Whether a recorded judgment stands, or is asked again by the next invocation of the run.

    Scored judgments are final. Unscored ones are asked again when the call failed for a transient reason
    (``api_error``: server errors, timeouts, rate limits after every retry), or, with ``retry_unscored``, whatever
    the reason (an answer that could not be read is otherwise final: at temperature 0 it would come back the same).
    """
    if j.scored:
        return True
    return not retry_unscored and j.unscored_reason not in TRANSIENT_REASONS


# -- the benchmark a run judged -----------------------------------------------------------------------------------


def benchmark_content_hash(bench: Benchmark) -> str:
    """What identifies a benchmark's content wherever it is: sha256 (16 hex digits) over its items in order.

    Only the items count (what was judged); expert ratings added later do not change it.
    """
    h = hashlib.sha256()
    for item in bench.items.values():
        h.update(json.dumps(item.model_dump(mode="json"), sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def benchmark_record(bench: Benchmark) -> dict[str, Any]:
    """The manifest's ``benchmark`` entry: name, path as given, absolute path, item count and content hash."""
    path = str(bench.path or "")
    return {
        "name": bench.name,
        "path": path,
        "abs_path": str(Path(path).resolve()) if path else "",
        "items": len(bench.items),
        "content_hash": benchmark_content_hash(bench),
    }


def resolve_run_benchmark(run_dir: str | Path, given: Sequence[str | Path] = ()) -> Benchmark:
    """The benchmark a run judged, found from any working directory, also after the run was copied elsewhere.

    Candidates, in order: the ``given`` directories (e.g. every ``--benchmark`` of the verb; a run takes the one
    whose content matches), the path recorded in ``run.json`` as given (relative to the working directory),
    its absolute form, and that path relative to the run directory's parent and to the run directory itself, then
    a sibling of the run directory with the benchmark's directory name. A candidate is taken only if its content
    hash equals the recorded one (runs recorded before the hash existed take the first candidate that loads).

    Raises:
        InputError: no candidate holds the run's benchmark; the message lists what was tried and why each failed
            and says to pass ``--benchmark DIR``.
    """
    from judge.data import load_benchmark

    run = Path(run_dir)
    rec = load_run_manifest(run).benchmark
    want = rec.get("content_hash")
    recorded = str(rec.get("path") or "")
    places: list[Path] = [Path(g) for g in given]
    if recorded:
        rp = Path(recorded)
        places += [rp, Path(str(rec.get("abs_path") or "")) if rec.get("abs_path") else rp]
        places += [run.parent / rp, run / rp, run.parent / rp.name]
    tried: list[str] = []
    seen: set[Path] = set()
    for place in places:
        if not (place / "items.jsonl").exists():
            if str(place) not in tried and place not in seen:
                tried.append(f"{place}: no items.jsonl")
            seen.add(place)
            continue
        real = place.resolve()
        if real in seen:
            continue
        seen.add(real)
        bench = load_benchmark(place)
        got = benchmark_content_hash(bench)
        if want is None or got == want:
            return bench
        tried.append(f"{place}: other items (content hash {got})")
    raise InputError(
        Problem(
            f"{run / MANIFEST}: benchmark",
            f"the run's benchmark {rec.get('name', '')!r} (recorded at {recorded!r}, content hash {want}) was not "
            f"found; tried {'; '.join(dict.fromkeys(tried)) or 'nothing'}. Pass --benchmark DIR (the benchmark "
            "directory the run judged)",
        )
    )


def check_run_benchmark(run_dir: str | Path, bench: Benchmark) -> None:
    """Refuse a benchmark that is not the one a run judged (for verbs given both ``--benchmark`` and ``--run``).

    Runs recorded before the content hash existed are not checked.

    Raises:
        InputError: the run recorded another content hash; the message names both.
    """
    want = load_run_manifest(run_dir).benchmark.get("content_hash")
    if want is None:
        return
    got = benchmark_content_hash(bench)
    if got != want:
        raise InputError(
            Problem(
                f"{Path(run_dir) / MANIFEST}: benchmark",
                f"the run judged a benchmark with content hash {want}, but {bench.path} has {got} (other items or "
                "responses); pass the benchmark the run judged",
            )
        )


def load_run_manifest(run_dir: str | Path) -> RunManifest:
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        raise InputError(Problem(str(path), "not a run directory (run.json is missing)"))
    return validated(RunManifest, read_document(path, "run manifest", fmt="json"), str(path), what="a run manifest")


def aggregate(values: list[float], how: str) -> float:
    """Combine one item's scored samples: mean (interval), median (ordinal) or mode (nominal; ties -> lowest)."""
    if how == "mean":
        return float(statistics.fmean(values))
    if how == "median":
        return float(statistics.median(values))
    counts = Counter(values)
    top = max(counts.values())
    return float(min(v for v, c in counts.items() if c == top))


def load_run_scores(run_dir: str | Path) -> dict[str, dict[str, dict[str, float | None]]]:
    """judge -> criterion -> item_id -> aggregated score over samples (None when every sample is unscored)."""
    manifest = load_run_manifest(run_dir)
    samples: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    keys: dict[tuple[str, str, str], None] = {}
    for j in iter_records(run_dir):
        k = (j.judge, j.criterion, j.item_id)
        keys[k] = None
        if j.score is not None:
            samples[k].append(j.score)
    out: dict[str, dict[str, dict[str, float | None]]] = defaultdict(lambda: defaultdict(dict))
    for k in keys:
        judge, crit, item = k
        vals = samples.get(k)
        out[judge][crit][item] = aggregate(vals, manifest.aggregation.get(crit, "mean")) if vals else None
    return {j: dict(c) for j, c in out.items()}


IMPORTED_COST = "none (imported)"


def cost_text(cost_usd: float, unpriced_calls: int, *, local: bool = False, imported: bool = False) -> str:
    """A cost as a person should read it: never ``$0.0000`` for calls whose price is unknown, nor for judgments
    that were imported (no call was made: ``"none (imported)"``)."""
    if imported:
        return IMPORTED_COST
    if local and not unpriced_calls and not cost_usd:
        return "free (local)"
    if unpriced_calls and not cost_usd:
        return "unpriced"
    if unpriced_calls:
        return f"${cost_usd:.4f} + {unpriced_calls} unpriced calls"
    return f"${cost_usd:.4f}"


def run_problems(judgments: int, unscored: dict[str, int], max_unscored: float | None) -> list[str]:
    """Why a run's result is not clean: judgments left unscored by the provider, or too many unscored."""
    out = []
    transient = {r: n for r, n in unscored.items() if r in TRANSIENT_REASONS}
    if transient:
        n = sum(transient.values())
        out.append(
            f"{n} judgment(s) unscored for a provider reason ({', '.join(f'{r} {k}' for r, k in transient.items())}):"
            " the calls failed after every retry; run the same command again to ask again for exactly those"
        )
    total = sum(unscored.values())
    if max_unscored is not None and judgments and total / judgments > max_unscored:
        reasons = ", ".join(f"{r} {k}" for r, k in sorted(unscored.items()))
        out.append(
            f"{total} of {judgments} judgments unscored ({total / judgments:.1%}: {reasons}), more than "
            f"--max-unscored {max_unscored:.1%}"
        )
    return out


def summarise(
    run_dir: str | Path,
    *,
    model_calls: int,
    retries: int = 0,
    wall_s: float = 0.0,
    complete: bool = True,
    stop_reason: str | None = None,
    max_unscored: float | None = DEFAULT_MAX_UNSCORED,
) -> RunSummary:
    """Counts over a run's records in one streaming pass: scored, unscored by reason, cache hits, cost, tokens, per
    judge, the run's totals over every invocation, and its problems (how repeated samples agree is a statistic:
    ``judge.analysis.scores.run_self_consistency``).

    Args:
        model_calls: provider requests made by this invocation (retries included); ``retries`` of those.
        max_unscored: the share of unscored judgments above which the run has a problem (None: no limit).
    """
    run_dir = Path(run_dir)
    manifest = load_run_manifest(run_dir) if (run_dir / MANIFEST).exists() else None
    local = {
        name: str(spec.get("model", "")).startswith("local")
        for name, spec in (manifest.judges.items() if manifest is not None else [])
    }
    imported = manifest is not None and manifest.source == "imported"
    totals = RunTotals()
    total = Counter[str]()
    unscored: Counter[str] = Counter()
    judges: dict[str, Counter[str]] = defaultdict(Counter)
    judge_unscored: dict[str, Counter[str]] = defaultdict(Counter)
    money: dict[str, float] = defaultdict(float)
    latency: dict[str, float] = defaultdict(float)
    for j in stream_task_records(run_dir, totals=totals):
        total["judgments"] += 1
        total["cache_hits"] += j.cache_hit
        total["tokens_in"] += j.tokens_in
        total["tokens_out"] += j.tokens_out
        jc = judges[j.judge]
        jc["judgments"] += 1
        jc["cache_hits"] += j.cache_hit
        if j.cost_usd is None:
            jc["unpriced_calls"] += 1
        else:
            money[j.judge] += j.cost_usd
        if not j.cache_hit:
            latency[j.judge] += j.latency_s
        if not j.scored:
            unscored[j.unscored_reason or "unknown"] += 1
            judge_unscored[j.judge][j.unscored_reason or "unknown"] += 1
        else:
            total["scored"] += 1
            jc["scored"] += 1
    per_judge = {
        name: JudgeTotals(
            judgments=c["judgments"],
            scored=c["scored"],
            unscored=dict(judge_unscored[name]),
            cost_usd=round(money[name], 6),
            cost=cost_text(money[name], c["unpriced_calls"], local=local.get(name, False), imported=imported),
            unpriced_calls=c["unpriced_calls"],
            latency_s_total=round(latency[name], 3),
            cache_hits=c["cache_hits"],
        )
        for name, c in sorted(judges.items())
    }
    all_local = bool(local) and all(local.values())
    return RunSummary(
        judgments=total["judgments"],
        scored=total["scored"],
        unscored=dict(sorted(unscored.items())),
        model_calls=model_calls,
        retries=retries,
        cache_hits=total["cache_hits"],
        cost_usd=totals.cost_usd,
        cost=cost_text(totals.cost_usd, totals.unpriced_calls, local=all_local, imported=imported),
        tokens_in=total["tokens_in"],
        tokens_out=total["tokens_out"],
        wall_s=round(wall_s, 3),
        run_dir=str(run_dir),
        complete=complete,
        stop_reason=stop_reason,
        problems=run_problems(total["judgments"], dict(unscored), max_unscored),
        totals=totals,
        per_judge=per_judge,
    )


def read_summary(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's ``summary.json`` as written (None if there is none yet).

    Raises:
        InputError: the file is unreadable or not a run summary (naming the file and line, or the field).
    """
    p = Path(run_dir) / SUMMARY
    if not p.exists():
        return None
    data = validated(RunSummary, read_document(p, "run summary", fmt="json"), str(p), what="a run summary")
    return data.model_dump(mode="json")

"""The run store: a directory of versioned, append-only records.

::

    run.json          RunManifest: benchmark, judges (no secrets), rubric refs, prompt hash, samples, command
    judgments.jsonl   one Judgment per line, appended as each arrives (never rewritten)
    summary.json      RunSummary, written when the run ends

Appends are one ``write`` of a whole line followed by a flush, so a killed process leaves at most one partial last
line; ``RunStore.open`` cuts such a tail before appending again. Duplicate keys (which a resumed run never writes)
are ignored on reading, first record wins.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

from judge import __version__
from judge.engine.judgment import Judgment
from judge.errors import InputError, Problem
from judge.fileio import read_appended, read_document, validated, write_json

STORE_VERSION = 1
MANIFEST = "run.json"
RECORDS = "judgments.jsonl"
SUMMARY = "summary.json"


class RunManifest(BaseModel):
    """What a run is: enough to reproduce it and to refuse mixing it with an incompatible one."""

    store_version: int = STORE_VERSION
    tool_version: str = __version__
    created_at: float = Field(default_factory=time.time)
    command: list[str] = Field(default_factory=list)
    benchmark: dict[str, Any] = Field(default_factory=dict)
    judges: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rubrics: dict[str, str] = Field(default_factory=dict, description="criterion -> name@version#hash")
    aggregation: dict[str, str] = Field(default_factory=dict, description="criterion -> mean|median|mode")
    levels: dict[str, str] = Field(default_factory=dict)
    prompt_hash: str = ""
    samples: int = 1
    items: int = 0
    source: str = Field(default="live", description="'live' (judge calls) or 'imported' (precomputed outputs)")


class RunSummary(BaseModel):
    """Counts a script can read. Unscored judgments are data: counted by reason, never hidden."""

    judgments: int
    scored: int
    unscored: dict[str, int]
    model_calls: int
    cache_hits: int
    cost_usd: float
    tokens_in: int
    tokens_out: int
    wall_s: float = 0.0
    run_dir: str
    complete: bool = True
    stop_reason: str | None = None
    per_judge: dict[str, dict[str, Any]] = Field(default_factory=dict)
    self_consistency: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class RunStore:
    """Append-only writer for one run directory (private permissions: records can hold sensitive text)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir)
        self._fh: IO[str] | None = None

    def open(self) -> RunStore:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        path = self.dir / RECORDS
        _cut_partial_tail(path)
        self._fh = path.open("a", encoding="utf-8")
        os.chmod(path, 0o600)
        return self

    def append(self, j: Judgment) -> None:
        assert self._fh is not None, "RunStore.open() first"  # programming error, not input validation
        self._fh.write(j.model_dump_json() + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None

    def write_manifest(self, m: RunManifest) -> None:
        write_json(self.dir / MANIFEST, m.model_dump(mode="json"), private=True)

    def write_summary(self, s: RunSummary) -> None:
        write_json(self.dir / SUMMARY, s.model_dump(mode="json"), private=True)


def _cut_partial_tail(path: Path) -> None:
    """Drop an incomplete last line left by a killed writer."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
        data = path.read_bytes()
        fh.truncate(data.rfind(b"\n") + 1)


def stream_records(run_dir: str | Path) -> Iterator[Judgment]:
    """The records of a run, streamed, first record per key (a partial last line from a kill is skipped)."""
    seen: set[tuple[str, str, str, int]] = set()
    for j in read_appended(Path(run_dir) / RECORDS, Judgment, "a valid judgment record"):
        if j.key not in seen:
            seen.add(j.key)
            yield j


def iter_records(run_dir: str | Path) -> list[Judgment]:
    """All records of a run as a list (see ``stream_records``)."""
    return list(stream_records(run_dir))


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


def summarise(
    records: Iterable[Judgment],
    run_dir: str | Path,
    *,
    model_calls: int,
    wall_s: float = 0.0,
    complete: bool = True,
    stop_reason: str | None = None,
) -> RunSummary:
    """Counts over records in one streaming pass: scored, unscored by reason, cache hits, cost, tokens, per judge,
    and self-consistency of repeated samples."""
    total = Counter[str]()
    unscored: Counter[str] = Counter()
    judges: dict[str, Counter[str]] = defaultdict(Counter)
    judge_unscored: dict[str, Counter[str]] = defaultdict(Counter)
    money: dict[str, float] = defaultdict(float)
    latency: dict[str, float] = defaultdict(float)
    samples: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for j in records:
        total["judgments"] += 1
        total["cache_hits"] += j.cache_hit
        total["tokens_in"] += j.tokens_in
        total["tokens_out"] += j.tokens_out
        jc = judges[j.judge]
        jc["judgments"] += 1
        jc["cache_hits"] += j.cache_hit
        money[j.judge] += j.cost_usd
        if not j.cache_hit:
            latency[j.judge] += j.latency_s
        if j.score is None:
            unscored[j.unscored_reason or "unknown"] += 1
            judge_unscored[j.judge][j.unscored_reason or "unknown"] += 1
        else:
            total["scored"] += 1
            jc["scored"] += 1
            samples[(j.judge, j.criterion, j.item_id)].append(j.score)
    per_judge = {
        name: {
            "judgments": c["judgments"],
            "scored": c["scored"],
            "unscored": dict(judge_unscored[name]),
            "cost_usd": round(money[name], 6),
            "latency_s_total": round(latency[name], 3),
            "cache_hits": c["cache_hits"],
        }
        for name, c in sorted(judges.items())
    }
    return RunSummary(
        judgments=total["judgments"],
        scored=total["scored"],
        unscored=dict(sorted(unscored.items())),
        model_calls=model_calls,
        cache_hits=total["cache_hits"],
        cost_usd=round(sum(money.values()), 6),
        tokens_in=total["tokens_in"],
        tokens_out=total["tokens_out"],
        wall_s=round(wall_s, 3),
        run_dir=str(run_dir),
        complete=complete,
        stop_reason=stop_reason,
        per_judge=per_judge,
        self_consistency=self_consistency(samples),
    )


def self_consistency(samples: dict[tuple[str, str, str], list[float]]) -> dict[str, dict[str, dict[str, Any]]]:
    """judge -> criterion -> how repeated samples of one item agree (only where items have >= 2 scored samples)."""
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    by_jc: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
    for (judge, crit, _), vals in samples.items():
        if len(vals) >= 2:
            by_jc[(judge, crit)].append(vals)
    for (judge, crit), lists in by_jc.items():
        out[judge][crit] = {
            "items": len(lists),
            "mean_sd": round(statistics.fmean(statistics.pstdev(v) for v in lists), 4),
            "all_agree_rate": round(sum(len(set(v)) == 1 for v in lists) / len(lists), 4),
        }
    return dict(out)


def read_summary(run_dir: str | Path) -> dict[str, Any] | None:
    p = Path(run_dir) / SUMMARY
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

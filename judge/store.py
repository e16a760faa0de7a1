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
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

from judge import __version__
from judge.errors import InputError, Problem
from judge.fileio import write_json
from judge.judgment import Judgment

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


def iter_records(run_dir: str | Path) -> list[Judgment]:
    """All records of a run, first record per key (a partial last line from a kill is skipped)."""
    path = Path(run_dir) / RECORDS
    if not path.exists():
        return []
    seen: set[tuple[str, str, str, int]] = set()
    out: list[Judgment] = []
    with path.open(encoding="utf-8") as fh:
        lines = fh.readlines()
    for n, line in enumerate(lines, 1):
        if not line.endswith("\n"):
            break  # partial tail of a killed run
        try:
            j = Judgment.model_validate_json(line)
        except ValueError as exc:
            raise InputError(
                Problem(f"{path}:{n}", f"not a valid judgment record: {str(exc).splitlines()[0]}")
            ) from None
        if j.key not in seen:
            seen.add(j.key)
            out.append(j)
    return out


def load_run_manifest(run_dir: str | Path) -> RunManifest:
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        raise InputError(Problem(str(path), "not a run directory (run.json is missing)"))
    try:
        return RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(Problem(str(path), f"invalid run manifest: {str(exc).splitlines()[0]}")) from None


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
    records: list[Judgment],
    run_dir: str | Path,
    *,
    model_calls: int,
    wall_s: float = 0.0,
    complete: bool = True,
    stop_reason: str | None = None,
) -> RunSummary:
    """Counts over records: scored, unscored by reason, cache hits, cost and tokens, per judge; self-consistency."""
    unscored = Counter(j.unscored_reason or "unknown" for j in records if j.score is None)
    per_judge: dict[str, dict[str, Any]] = {}
    for name in sorted({j.judge for j in records}):
        rs = [j for j in records if j.judge == name]
        per_judge[name] = {
            "judgments": len(rs),
            "scored": sum(j.score is not None for j in rs),
            "unscored": dict(Counter(j.unscored_reason or "unknown" for j in rs if j.score is None)),
            "cost_usd": round(sum(j.cost_usd for j in rs), 6),
            "latency_s_total": round(sum(j.latency_s for j in rs if not j.cache_hit), 3),
            "cache_hits": sum(j.cache_hit for j in rs),
        }
    return RunSummary(
        judgments=len(records),
        scored=sum(j.score is not None for j in records),
        unscored=dict(sorted(unscored.items())),
        model_calls=model_calls,
        cache_hits=sum(j.cache_hit for j in records),
        cost_usd=round(sum(j.cost_usd for j in records), 6),
        tokens_in=sum(j.tokens_in for j in records),
        tokens_out=sum(j.tokens_out for j in records),
        wall_s=round(wall_s, 3),
        run_dir=str(run_dir),
        complete=complete,
        stop_reason=stop_reason,
        per_judge=per_judge,
        self_consistency=self_consistency(records),
    )


def self_consistency(records: list[Judgment]) -> dict[str, dict[str, dict[str, Any]]]:
    """judge -> criterion -> how repeated samples of one item agree (only where items have >= 2 scored samples)."""
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for j in records:
        if j.score is not None:
            groups[(j.judge, j.criterion, j.item_id)].append(j.score)
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    by_jc: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
    for (judge, crit, _), vals in groups.items():
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

"""System leaderboards: each system's mean score per criterion, with post-clustered bootstrap CIs and rank intervals.

Scores come from the expert ratings (per item: the mean of its experts) or from one judge's scores. Items that
share a post are not independent, so the bootstrap resamples *posts* and takes all their items; every system is
evaluated on the same resampled posts, which is what makes the rank intervals meaningful.

Example::

    from judge.data.benchmark import load_benchmark
    from judge.analysis.leaderboard import system_leaderboard
    from judge.data.rubric import default_rubrics_dir, load_rubric_set

    lb = system_leaderboard(load_benchmark("bench/resort"), load_rubric_set(default_rubrics_dir()))
    lb.rows[0].scores["empathy"].mean, lb.rows[0].scores["empathy"].ci
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge import __version__
from judge.analysis.experts import expert_means
from judge.analysis.stats.ranking import CI_LEVEL, system_means
from judge.analysis.stats.resample import post_counts, too_few
from judge.data.benchmark import Benchmark, Item, off_scale_note
from judge.data.rubric import Rubric
from judge.engine.identity import JudgeIdentity
from judge.errors import InputError, Problem

FORMAT_VERSION = 1


Scores = Mapping[str, Mapping[str, float | None]]
"""criterion -> item_id -> score (None = unscored)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CellStats(_Model):
    """One system on one criterion."""

    mean: float | None = Field(description="Mean over the system's scored items (None if none was scored).")
    ci: tuple[float, float] | None = Field(description="95% percentile bootstrap CI, resampling posts.")
    n: int = Field(description="Items with a score.")
    unscored: int = Field(description="Items of the system judged on this criterion whose answer could not be read.")
    not_judged: int = Field(
        default=0, description="Items of the system the source never covered on this criterion (no judgment/rating)."
    )
    too_few: str | None = Field(
        default=None, description="Why there is no CI or rank interval: fewer than 5 items or 3 posts."
    )
    rank: int | None = Field(default=None, description="1 = best; ties share the smaller rank.")
    rank_ci: tuple[int, int] | None = Field(default=None, description="2.5/97.5 percentiles of the bootstrap rank.")
    tied_with: list[str] = Field(default_factory=list, description="Systems whose rank interval overlaps this one.")
    hist: list[int] = Field(default_factory=list, description="Item scores counted per bin of the criterion.")


class SystemRow(_Model):
    """One system: what produced the responses and its score on each criterion."""

    name: str = Field(description="Readable one-string name (``model / pipeline / method``).")
    system: dict[str, str]
    n_items: int
    scores: dict[str, CellStats]


class CriterionInfo(_Model):
    name: str
    title: str
    ref: str = Field(description="name@version#hash of the rubric.")
    low: float
    high: float
    lower_is_better: bool = False
    bins: list[float] = Field(description="Centres of the histogram bins (``CellStats.hist``).")


class BootstrapInfo(_Model):
    n_boot: int
    seed: int
    ci_level: float = CI_LEVEL
    cluster: Literal["post", "item"] = Field(description="'post' when some post has several items, else 'item'.")
    n_clusters: int


class Provenance(_Model):
    benchmark: str
    rubrics: dict[str, str] = Field(description="criterion -> rubric ref.")
    judges: list[str] = Field(default_factory=list)
    judge_identity: JudgeIdentity | None = Field(default=None, description="Who the judge is (None: the experts).")
    calibrators: list[str] = Field(default_factory=list)
    command: str = ""
    created_at: str = Field(description="UTC, ISO 8601.")
    tool_version: str = __version__


class Leaderboard(_Model):
    """A system leaderboard: rows are systems, columns are criteria. Serialises to the report's JSON."""

    format_version: int = FORMAT_VERSION
    kind: Literal["system"] = "system"
    source: Literal["experts", "judge"]
    criteria: list[CriterionInfo]
    rows: list[SystemRow]
    bootstrap: BootstrapInfo
    provenance: Provenance
    notes: list[str] = Field(default_factory=list)

    def criterion(self, name: str) -> CriterionInfo:
        return next(c for c in self.criteria if c.name == name)


# -- scores ----------------------------------------------------------------------------------------------------


def _lower_is_better(rubric: Rubric) -> bool:
    return rubric.direction == "lower"


def _bins(rubric: Rubric) -> list[float]:
    """Bin centres every half of the smallest scale step: the mean of two ratings falls on one of them."""
    pts = rubric.points_values()
    step = min(b - a for a, b in itertools.pairwise(pts)) / 2
    n = round((rubric.high - rubric.low) / step)
    return [round(rubric.low + k * step, 6) for k in range(n + 1)]


def _histogram(values: np.ndarray, bins: list[float]) -> list[int]:
    if values.size == 0:
        return [0] * len(bins)
    centres = np.asarray(bins)
    nearest = np.abs(values[:, None] - centres[None, :]).argmin(axis=1)
    counts: list[int] = np.bincount(nearest, minlength=len(bins)).tolist()
    return counts


# -- bootstrap ---------------------------------------------------------------------------------------------------------


def _too_few(values: np.ndarray, sys_idx: np.ndarray, post_idx: np.ndarray, s: int) -> str | None:
    """Why system ``s`` gets no CI or rank interval (fewer than 5 scored items or 3 posts), else None."""
    mine = (sys_idx == s) & ~np.isnan(values)
    return too_few(int(mine.sum()), len(np.unique(post_idx[mine])))


def _tied(names: list[str], rank_ci: np.ndarray) -> list[list[str]]:
    """For each system, the others whose rank intervals overlap its own."""
    out: list[list[str]] = []
    for s in range(len(names)):
        lo, hi = rank_ci[s]
        if np.isnan(lo):
            out.append([])
            continue
        out.append(
            [
                names[t]
                for t in range(len(names))
                if t != s and not np.isnan(rank_ci[t, 0]) and rank_ci[t, 0] <= hi and lo <= rank_ci[t, 1]
            ]
        )
    return out


# -- assembling ------------------------------------------------------------------------------------------------


def _system_key(system: dict[str, str]) -> str:
    return json.dumps(system, sort_keys=True)


def _opt(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def system_leaderboard(
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    scores: Scores | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    *,
    judge: str | None = None,
    calibrators: Iterable[str] = (),
    command: str = "",
    identity: JudgeIdentity | None = None,
) -> Leaderboard:
    """Rank the benchmark's systems on each criterion.

    Args:
        bench: the benchmark; its items give each response's system and post.
        rubrics: criterion -> rubric; only criteria that have scores become columns.
        scores: criterion -> item_id -> score (None = unscored) from a judge run; None to use the expert ratings
            (each item scored by the mean of its experts).
        n_boot: bootstrap resamples (of posts) for the CIs and rank intervals.
        seed: seed of the resampling; the same seed gives the same leaderboard.
        judge: name of the judge whose scores these are (provenance only).
        calibrators: refs of calibrators applied to the scores (provenance only).
        command: the command line that produced the leaderboard (provenance only).
        identity: who the judge is (provenance; its label is the default ``judge``).

    Returns:
        The leaderboard, rows ordered by the first criterion (best first).

    Raises:
        InputError: no criterion has scores, or the scores name items that are not in the benchmark.
    """
    if n_boot < 1:
        raise InputError(Problem("n_boot", f"must be at least 1, got {n_boot}"))
    source: Literal["experts", "judge"] = "experts" if scores is None else "judge"
    table: Mapping[str, Mapping[str, float | None]] = expert_means(bench) if scores is None else scores
    _check_item_ids(bench, table)
    criteria = [c for c in rubrics if any(v is not None for v in table.get(c, {}).values())]
    if not criteria:
        what = "expert ratings" if scores is None else "judge scores"
        raise InputError(Problem(bench.name, f"no {what} on any of the criteria {sorted(rubrics)}"))
    notes = _notes(table, rubrics, source)
    if scores is None and bench.manifest.off_scale_missing:  # the experts' scores: say what was left out
        notes.append(off_scale_note(bench.manifest.off_scale_missing))

    # The items in play: those the score source covers on at least one criterion, in benchmark order.
    covered = {i for c in criteria for i in table.get(c, {})}
    item_ids = [i for i in bench.items if i in covered]
    items = [bench.items[i] for i in item_ids]
    if len(item_ids) < len(bench.items):
        what = "expert rating" if source == "experts" else "judge score"
        notes.append(
            f"{len(bench.items) - len(item_ids)} of the benchmark's {len(bench.items)} items have no "
            f"{what} on any shown criterion and are not part of the leaderboard"
        )
    sys_keys = list(dict.fromkeys(_system_key(it.system) for it in items))
    sys_pos = {k: n for n, k in enumerate(sys_keys)}
    first: dict[str, Item] = {}
    for it in items:
        first.setdefault(_system_key(it.system), it)
    names = _unique_names([first[k].system_name for k in sys_keys])
    posts = list(dict.fromkeys(it.post_id for it in items))
    post_pos = {p: n for n, p in enumerate(posts)}
    sys_idx = np.array([sys_pos[_system_key(it.system)] for it in items], dtype=int)
    post_idx = np.array([post_pos[it.post_id] for it in items], dtype=int)
    counts = post_counts(len(posts), n_boot, seed)

    infos: list[CriterionInfo] = []
    cells: list[dict[str, CellStats]] = [{} for _ in sys_keys]
    for c in criteria:
        rub = rubrics[c]
        lower = _lower_is_better(rub)
        info = CriterionInfo(
            name=c, title=rub.title, ref=rub.ref, low=rub.low, high=rub.high, lower_is_better=lower, bins=_bins(rub)
        )
        infos.append(info)
        by_item = table.get(c, {})
        raw = [by_item.get(i) for i in item_ids]
        values = np.array([np.nan if v is None else float(v) for v in raw])
        judged = np.array([i in by_item for i in item_ids])
        res = system_means(values, sys_idx, post_idx, len(sys_keys), counts, lower)
        means, ranks, ci, rank_ci = res.means, res.ranks, res.ci.copy(), res.rank_ci.copy()
        thin = [_too_few(values, sys_idx, post_idx, s) for s in range(len(sys_keys))]
        for s, why in enumerate(thin):
            if why:  # a CI or rank interval from a handful of items says more about the resampling than the system
                ci[s], rank_ci[s] = np.nan, np.nan
        tied = _tied(names, rank_ci)
        for s in range(len(sys_keys)):
            mine = values[sys_idx == s]
            scored = mine[~np.isnan(mine)]
            seen = judged[sys_idx == s]
            cells[s][c] = CellStats(
                mean=_opt(means[s]),
                ci=None if np.isnan(ci[s, 0]) else (float(ci[s, 0]), float(ci[s, 1])),
                n=int(scored.size),
                unscored=int(seen.sum() - scored.size),
                not_judged=int((~seen).sum()),
                too_few=thin[s] if scored.size else None,
                rank=None if np.isnan(ranks[s]) else int(ranks[s]),
                rank_ci=None if np.isnan(rank_ci[s, 0]) else (int(rank_ci[s, 0]), int(rank_ci[s, 1])),
                tied_with=tied[s],
                hist=_histogram(scored, info.bins),
            )
    rows = [
        SystemRow(name=names[s], system=dict(first[k].system), n_items=int((sys_idx == s).sum()), scores=cells[s])
        for s, k in enumerate(sys_keys)
    ]
    rows.sort(key=lambda r: _sort_key(r, infos[0]))
    clustered = len(posts) < len(items)
    return Leaderboard(
        source=source,
        criteria=infos,
        rows=rows,
        bootstrap=BootstrapInfo(
            n_boot=n_boot, seed=seed, cluster="post" if clustered else "item", n_clusters=len(posts)
        ),
        provenance=Provenance(
            benchmark=bench.name,
            rubrics={c: rubrics[c].ref for c in criteria},
            judges=[judge] if judge else [identity.label] if identity else [],
            judge_identity=identity,
            calibrators=list(calibrators),
            command=command,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ),
        notes=notes,
    )


def _sort_key(row: SystemRow, crit: CriterionInfo) -> tuple[int, float, str]:
    m = row.scores[crit.name].mean
    if m is None:
        return (1, 0.0, row.name)
    return (0, m if crit.lower_is_better else -m, row.name)


def _unique_names(names: list[str]) -> list[str]:
    """Names as given, suffixed ``#2``, ``#3`` when two different systems share a readable name."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for n in names:
        seen[n] += 1
        out.append(n if seen[n] == 1 else f"{n} #{seen[n]}")
    return out


def _check_item_ids(bench: Benchmark, table: Mapping[str, Mapping[str, float | None]]) -> None:
    unknown = sorted({i for by_item in table.values() for i in by_item if i not in bench.items})
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise InputError(
            Problem(
                f"scores for benchmark {bench.name!r}",
                f"{len(unknown)} scored item id(s) are not in the benchmark: {shown}; expected ids from its "
                "items.jsonl (was the run made on another benchmark?)",
            )
        )


def _notes(table: Mapping[str, Mapping[str, float | None]], rubrics: Mapping[str, Rubric], source: str) -> list[str]:
    """Say what was left out, rather than leaving it out silently."""
    notes = []
    extra = sorted(set(table) - set(rubrics))
    if extra:
        notes.append(f"{source} scores on criteria without a rubric were not shown: {', '.join(extra)}")
    empty = sorted(c for c in rubrics if not any(v is not None for v in table.get(c, {}).values()))
    if empty:
        notes.append(f"criteria with no {source} scores were not shown: {', '.join(empty)}")
    return notes

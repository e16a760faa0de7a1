"""``judge probe``: does a judge reward length, flattery, upbeat positivity, a planted instruction, or its own
model family?

The job builds the probed benchmark (each item as it is, plus one perturbed copy per probe and the placebo:
``judge.data.probes``), saves it in the output directory, judges it through the ordinary run engine (same prompts,
cache and records as ``judge run``, so the originals come from the cache of an earlier run of the same judge), and
reads the paired shifts (``judge.analysis.probes``) into a report in every format.

Output directory::

    benchmark/    the probed benchmark (items.jsonl, benchmark.json)
    run/          the run (run.json, judgments.jsonl, summary.json): resumable like any run
    probes.md, probes.json, probes.csv, probes.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from judge.analysis.experts import expert_means
from judge.analysis.probes import ProbeReport, model_family, probe_shifts, self_preference, system_family
from judge.data import Benchmark, Rubric, load_benchmark, save_benchmark
from judge.data.probes import perturbed_benchmark, probe_names, split_probed_id
from judge.engine import JudgeSpec, RunConfig, RunSummary, load_run_scores, run_judging
from judge.engine.store import check_run_benchmark, has_records
from judge.locks import locked
from judge.report import write_report
from judge.report.probes import probe_document


@dataclass
class ProbeConfig:
    """What ``judge probe`` needs; the run options mean what they mean for ``judge run``."""

    benchmark: Benchmark
    rubrics: dict[str, Rubric]
    judges: list[JudgeSpec]
    probes: list[str]
    out: Path
    item_ids: list[str] | None = None
    families: dict[str, str] = field(default_factory=dict)  # judge name -> model family (default: from its model)
    n_boot: int = 2000
    seed: int = 0
    formats: Iterable[str] = ("md", "json", "csv", "html")
    # passed on to the run
    concurrency: int = 8
    budget_usd: float | None = None
    cache_dir: Path | None = None
    max_post_chars: int | None = None
    progress: bool | None = None
    command: list[str] = field(default_factory=list)
    max_unscored: float | None = None


@dataclass
class ProbeOutcome:
    report: ProbeReport
    summary: RunSummary
    paths: dict[str, Path]


def judge_families(judges: Iterable[JudgeSpec], declared: Mapping[str, str]) -> dict[str, str]:
    """judge name -> model family: as declared, else read from the judge's model string (unknown: left out)."""
    out = {}
    for j in judges:
        fam = declared.get(j.name) or model_family(j.model)
        if fam:
            out[j.name] = fam.lower()
    return out


def run_probes(cfg: ProbeConfig) -> ProbeOutcome:
    """Judge the probed benchmark and report every judge's shifts (and self-preference where families allow).

    Raises:
        UsageError: an unknown probe name (before anything is written or called).
        RunIncomplete: the run could not finish (budget, permanent provider error); running again resumes.
    """
    names = probe_names(cfg.probes)
    probed = perturbed_benchmark(cfg.benchmark, names, cfg.item_ids)
    with locked(cfg.out, f"--out {cfg.out}"):  # one writer of the probe directory (its run has its own lock)
        return _run_probes(cfg, names, probed)


def _run_probes(cfg: ProbeConfig, names: list[str], probed: Benchmark) -> ProbeOutcome:
    run_dir = cfg.out / "run"
    if has_records(run_dir):
        # Refused before the probed benchmark is written over: the run in --out judged these items, or nothing
        # here changes (a run of other items would otherwise be left beside a benchmark that is not its own).
        check_run_benchmark(run_dir, probed.model_copy(update={"path": cfg.out / "benchmark"}))
    # Saved and loaded back, so the run records where its benchmark is and its content hash (portable runs).
    bench = load_benchmark(save_benchmark(probed, cfg.out / "benchmark"))
    summary = run_judging(
        RunConfig(
            benchmark=bench,
            rubrics=cfg.rubrics,
            judges=cfg.judges,
            out=cfg.out / "run",
            concurrency=cfg.concurrency,
            budget_usd=cfg.budget_usd,
            cache_dir=cfg.cache_dir,
            max_post_chars=cfg.max_post_chars,
            seed=cfg.seed,
            progress=cfg.progress,
            command=cfg.command,
            max_unscored=cfg.max_unscored,
        )
    )
    scores = load_run_scores(cfg.out / "run")
    originals = [i for i in bench.items if split_probed_id(i)[1] is None]
    families = judge_families(cfg.judges, cfg.families)
    item_families = {system_family(bench.items[i].system) for i in originals} - {None}
    notes = []
    prefs = []
    if families and len(item_families) >= 2:
        prefs = self_preference(
            bench,
            cfg.rubrics,
            scores,
            families,
            expert_means(cfg.benchmark),
            n_boot=cfg.n_boot,
            seed=cfg.seed,
        )
    else:
        notes.append(
            "self-preference not measured: it needs responses of at least two known model families "
            f"(found {sorted(f for f in item_families if f) or 'none'}) and judges of a known family "
            "(declare them with --family JUDGE=FAMILY, or a 'family' field in the items' system)"
        )
    report = ProbeReport(
        benchmark=cfg.benchmark.name,
        judges=[j.name for j in cfg.judges],
        criteria=list(cfg.rubrics),
        probes=names,
        items=len(originals),
        results=probe_shifts(bench, cfg.rubrics, scores, n_boot=cfg.n_boot, seed=cfg.seed),
        self_preference=prefs,
        n_boot=cfg.n_boot,
        seed=cfg.seed,
        notes=notes,
    )
    paths = write_report(report, cfg.out, cfg.formats, report=probe_document(report), stem="probes")
    return ProbeOutcome(report=report, summary=summary, paths=paths)

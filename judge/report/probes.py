"""The bias-probe report as a ``Report``: per judge and criterion, each probe's paired shift, its shift beyond the
placebo and the share of items moved toward better; then self-preference. Every format renders it.

Example::

    from judge.report.probes import probe_document
    write_report(report, "reports/probes", report=probe_document(report), stem="probes")
"""

from __future__ import annotations

from judge.analysis.probes import ProbeReport, ProbeResult, SelfPreference, Shift
from judge.data.probes import PLACEBO, PROBES
from judge.report.format import DASH, pct, with_ci
from judge.report.model import Cell, Column, Report, Table
from judge.report.write import register_builder


def shift_text(s: Shift | None) -> str:
    if s is None:
        return DASH
    return with_ci(s.value, s.ci, sign=True, missing="n/a", note=s.note)


def _cell(s: Shift | None) -> Cell:
    return Cell(text=shift_text(s), value=None if s is None else s.value, title=(s.note or "") if s else "")


def _verdict(r: ProbeResult) -> str:
    if r.probe == PLACEBO:
        return "reference"
    if r.flagged:
        return "REWARDED"
    if r.vs_placebo is None or r.vs_placebo.ci is None:
        return "too few" if r.vs_placebo is not None and r.vs_placebo.note else DASH
    return "not detected"


def _results_table(report: ProbeReport) -> Table:
    cols = [
        Column(key="judge", label="judge"),
        Column(key="criterion", label="criterion"),
        Column(key="probe", label="probe", help="what the perturbation adds (see judge probe --help)"),
        Column(key="shift", label="shift [95% CI]", numeric=True, help="mean of perturbed - original score"),
        Column(
            key="beyond",
            label="beyond placebo [95% CI]",
            numeric=True,
            help="mean of (perturbed - original) - (placebo - original) on the same items",
        ),
        Column(key="better", label="moved toward better", numeric=True),
        Column(key="worse", label="moved toward worse", numeric=True),
        Column(key="n", label="items", numeric=True),
        Column(key="unscored", label="pairs lost (unscored)", numeric=True),
        Column(key="verdict", label="verdict", help="REWARDED: the CI beyond the placebo excludes 0 toward better"),
    ]
    rows = []
    for r in report.results:
        rows.append(
            [
                Cell(text=r.judge, value=r.judge),
                Cell(text=r.criterion, value=r.criterion),
                Cell(text=r.probe, value=r.probe, title=PROBES[r.probe].description if r.probe in PROBES else ""),
                _cell(r.shift),
                _cell(r.vs_placebo),
                Cell(text=pct(r.toward_better, 0), value=r.toward_better),
                Cell(text=pct(r.toward_worse, 0), value=r.toward_worse),
                Cell(text=str(r.shift.n), value=r.shift.n),
                Cell(text=str(r.unscored), value=r.unscored),
                Cell(text=_verdict(r), value=_verdict(r)),
            ]
        )
    return Table(
        key="probes",
        title="Score shifts under each probe",
        columns=cols,
        rows=rows,
        caption="Shifts are in scale units, perturbed minus original; for criteria where lower is better "
        "(harmfulness) 'toward better' means down. CIs resample whole posts.",
    )


def _self_table(prefs: list[SelfPreference]) -> Table:
    cols = [
        Column(key="judge", label="judge"),
        Column(key="family", label="family"),
        Column(key="criterion", label="criterion"),
        Column(key="judge_gap", label="judge: own - others", numeric=True),
        Column(key="expert_gap", label="experts: own - others", numeric=True),
        Column(key="excess", label="excess over experts", numeric=True),
        Column(key="items", label="own / other items", numeric=True),
        Column(key="verdict", label="verdict"),
    ]
    rows = [
        [
            Cell(text=p.judge, value=p.judge),
            Cell(text=p.family, value=p.family),
            Cell(text=p.criterion, value=p.criterion),
            _cell(p.judge_gap),
            _cell(p.expert_gap),
            _cell(p.excess),
            Cell(text=f"{p.own_items} / {p.other_items}", value=p.own_items),
            Cell(text="PREFERS OWN" if p.flagged else (DASH if p.excess is None else "not detected")),
        ]
        for p in prefs
    ]
    return Table(
        key="self_preference",
        title="Self-preference",
        columns=cols,
        rows=rows,
        caption="A judge's mean score of its own model family's responses minus the others', against the experts' "
        "same difference on the items they rated.",
    )


@register_builder(ProbeReport)
def probe_document(report: ProbeReport) -> Report:
    """The probe report's tables, and a summary naming what each judge is sensitive to."""
    flagged = [r for r in report.results if r.flagged]
    if flagged:
        summary = "Rewarded beyond the placebo: " + "; ".join(
            f"{r.judge} on {r.criterion} by {r.probe} ({shift_text(r.vs_placebo)})" for r in flagged
        )
    else:
        summary = "No probe moved a score toward better beyond the placebo with a CI excluding zero."
    tables = [_results_table(report)]
    if report.self_preference:
        tables.append(_self_table(report.self_preference))
    return Report(
        title=f"Bias probes: {report.benchmark}",
        summary=summary,
        tables=tables,
        notes=[
            *report.notes,
            *(f"{name}: {PROBES[name].description}" for name in report.probes if name in PROBES),
        ],
        provenance=[
            ("benchmark", report.benchmark),
            ("judges", ", ".join(report.judges)),
            ("items probed", str(report.items)),
            ("bootstrap", f"{report.n_boot} resamples of posts, seed {report.seed}"),
        ],
    )

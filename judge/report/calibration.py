"""A calibrator's held-out report as a ``Report``: per criterion, bias, MAE, Spearman and the agreement headline
before and after calibration on held-out posts, their change, and the verdict; and reliability diagrams of the
judge's raw and held-out calibrated scores against the experts' mean."""

from __future__ import annotations

from collections.abc import Mapping

from judge.analysis.calibration import Calibrator, CriterionReport, Metric
from judge.report.format import with_ci
from judge.report.html import reliability_bins, reliability_svg
from judge.report.markdown import render_markdown
from judge.report.model import Cell, Column, Figure, Report, Table
from judge.report.write import register_builder


def metric_text(m: Metric | None, *, sign: bool = False) -> str:
    """``value [low, high]`` (``n/a`` when undefined)."""
    if m is None:
        return "n/a"
    return with_ci(m.value, m.ci, sign=sign, missing="n/a")


def criterion_table(rep: CriterionReport) -> Table:
    """One row per held-out statistic: before, after, and the paired change."""
    cols = [
        Column(key="statistic", label="held-out"),
        Column(key="before", label="before [95% CI]", numeric=True),
        Column(key="after", label="after [95% CI]", numeric=True),
        Column(key="change", label="change (after - before) [95% CI]", numeric=True),
    ]
    b, a, d = rep.before, rep.after, rep.change
    rows_spec = [
        ("bias", b.bias, a.bias, d.abs_bias, "|bias| "),
        ("MAE", b.mae, a.mae, d.mae, ""),
        ("Spearman", b.spearman, a.spearman, d.spearman, ""),
        (f"agreement (kappa, {rep.agreement_level}): held-out effect", b.headline, a.headline, d.headline, ""),
    ]
    rows = [
        [
            Cell(text=name, value=name),
            Cell(text=metric_text(before), value=None if before is None else before.value),
            Cell(text=metric_text(after), value=None if after is None else after.value),
            Cell(text=prefix + metric_text(change, sign=True), value=None if change is None else change.value),
        ]
        for name, before, after, change, prefix in rows_spec
    ]
    caption = (
        f"{rep.n_items} items from {rep.n_posts} posts, {rep.n_folds} folds by post (items per fold "
        f"{rep.fold_sizes}); unscored {rep.n_unscored}, not judged {rep.n_not_judged}. Verdict: {rep.verdict}"
    )
    return Table(key=f"calibration-{rep.criterion}", title=rep.criterion, columns=cols, rows=rows, caption=caption)


def reliability_figures(cal: Calibrator, criterion: str) -> list[Figure]:
    """Two reliability diagrams side by side: the judge's raw score, then its held-out calibrated score, each
    against the experts' mean (none when the calibrator carries no held-out predictions: written before them)."""
    rep, m = cal.fit.get(criterion), cal.maps.get(criterion)
    held = rep.held_out if rep is not None else None
    if held is None or m is None or len(held.expert_mean) < 2:
        return []
    low, high = m.low, m.high
    group = f"{criterion}: reliability on held-out posts ({len(held.expert_mean)} items)"
    out = []
    for key, scores, label, what in (
        ("raw", held.judge, f"{cal.judge} score (raw)", "the judge's own score"),
        ("calibrated", held.calibrated, f"{cal.judge}, calibrated (held out)", "the calibrated score"),
    ):
        bins = reliability_bins(scores, held.expert_mean, low, high)
        out.append(
            Figure(
                key=f"reliability-{criterion}-{key}",
                title="before: raw judge score" if key == "raw" else "after: calibrated, cross-fitted",
                html=reliability_svg(bins, low=low, high=high, x_label=label, title=f"{criterion}: {label}"),
                caption=f"Dots: the experts' mean rating per bin of {what} (area ~ items), against the bin's mean "
                "score; on the dashed diagonal the score means what the experts mean. Bars: items per bin."
                + (
                    " Each item's calibrated score is from the map fitted without its post (the calibrator's folds)."
                    if key == "calibrated"
                    else ""
                ),
                group=group,
            )
        )
    return out


@register_builder(Calibrator)
def calibration_document(cal: Calibrator, skipped: Mapping[str, str] | None = None) -> Report:
    """The calibrator's held-out reports (``cal.fit``) as a ``Report``, with reliability diagrams per criterion."""
    notes = [f"{c}: {n}" for c, rep in cal.fit.items() for n in rep.notes]
    notes += [f"skipped {c}: {why}" for c, why in (skipped or {}).items()]
    unkept = [c for c, rep in cal.fit.items() if rep.held_out is None]
    if unkept:
        notes.append(
            f"no reliability diagram for {', '.join(unkept)}: the calibrator was written before held-out predictions "
            "were kept; refit it (judge calibrate) to see them"
        )
    return Report(
        title=f"Calibration of judge {cal.judge} ({cal.judge_model})",
        summary=f"Method {cal.method}, benchmark {cal.benchmark}; held-out by K-fold cross-fitting grouped by post, "
        "95% CIs resample posts.",
        tables=[criterion_table(rep) for rep in cal.fit.values()],
        figures=[f for c in cal.fit for f in reliability_figures(cal, c)],
        notes=notes,
        provenance=[
            ("judge", cal.judge),
            ("judge model", cal.judge_model),
            *((f"rubric {c}", ref) for c, ref in cal.rubrics.items()),
            ("prompt hash", cal.prompt_hash),
            ("created", cal.created_at),
            ("tool version", cal.tool_version),
        ],
    )


def render_calibration(cal: Calibrator, skipped: Mapping[str, str] | None = None) -> str:
    """What ``judge calibrate`` prints."""
    return render_markdown(calibration_document(cal, skipped))

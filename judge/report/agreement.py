"""The agreement report as a ``Report``: per criterion, the experts' ceiling, each judge and the chance rows; then
system-level agreement and the rater diagnostics. Every format (markdown for the terminal, CSV, HTML) renders it.

Example::

    from judge.report.agreement import agreement_document, render_agreement_table
    print(render_agreement_table(report))            # what `judge agree` prints
    write_report(report, "out", report=agreement_document(report), stem="agreement")
"""

from __future__ import annotations

from collections.abc import Sequence

from judge.analysis.agreement import AgreementReport, CriterionAgreement, JudgeAgreement
from judge.analysis.stats.alttest import AltTestResult
from judge.report.format import DASH, num, pct, with_ci
from judge.report.html import MAX_PANELS, PAGE_WIDTH, AgreementPanel, AgreementRow, agreement_panels_svg
from judge.report.markdown import render_markdown
from judge.report.model import Cell, Column, Figure, Report, Table
from judge.report.write import register_builder

HEADLINE_HELP = (
    "pairwise kappa over judge-expert pairs (experts: over pairs of two experts); 0 = chance, 1 = perfect; "
    "see docs/agreement.md"
)


CEILING_HELP = (
    "the experts' kappa among themselves on the items this row uses: the ceiling for this row (the experts' row "
    "covers every rated item)"
)


def alt_text(a: AltTestResult | None, note: str | None = None) -> str:
    """``pass w=0.50 rho=0.67``, or ``n/a`` when the test could not be run."""
    if a is None:
        return "n/a"
    return f"{'pass' if a.passed else 'fail'} w={a.winning_rate:.2f} rho={a.advantage_prob:.2f}"


def consistency_text(j: JudgeAgreement) -> str:
    """Share of items whose repeated samples all agree, and the mean SD across samples (``–``: one sample each)."""
    c = j.self_consistency
    if c is None:
        return DASH
    return f"{pct(c.all_agree_rate, 0)} agree, sd {c.mean_sd:.2f} (n={c.items})"


def bias_text(j: JudgeAgreement) -> str:
    b = j.bias
    if b is None or b.value is None:
        return "n/a" if j.kind == "judge" else DASH
    loa = f" [{num(b.loa[0], 1, sign=True)}, {num(b.loa[1], 1, sign=True)}]" if b.loa else ""
    return num(b.value, sign=True) + loa


LENGTH_HELP = (
    "judges: 'not better' when the headline's or Spearman's 95% CI does not clear the length rows' value on the "
    "judge's own items; '?' without a CI; see docs/agreement.md"
)


def vs_length_text(j: JudgeAgreement) -> str:
    """``not better``, ``better``, ``?`` (no CI to decide with) for a judge; a dash for the other rows."""
    v = j.vs_length
    if j.kind != "judge" or v is None:
        return DASH
    return {True: "not better", False: "better", None: "?"}[v.not_better]


def partial_text(j: JudgeAgreement) -> str:
    """Partial Spearman with its CI and partial Kendall, length partialled out (a dash when not asked)."""
    p = j.partial_length
    if p is None:
        return DASH
    return f"{with_ci(p.spearman.value, p.spearman.ci, note=p.spearman.note)}; tau {num(p.kendall.value)}"


def _columns(c: CriterionAgreement) -> list[Column]:
    cols = [
        Column(key="rater", label="rater"),
        Column(key="headline", label="kappa [95% CI]", numeric=True, help=HEADLINE_HELP),
        Column(key="ceiling", label="experts on its items", numeric=True, help=CEILING_HELP),
        Column(key="spearman", label="Spearman [95% CI]", numeric=True, help="rank correlation with the expert mean"),
        Column(key="kendall", label="Kendall", numeric=True, help="Kendall's tau-b with the expert mean"),
        Column(key="bias", label="bias [LoA]", numeric=True, help="mean(judge - expert mean), 95% limits of agreement"),
    ]
    if any(j.icc is not None for j in c.judges.values()):
        cols.append(Column(key="icc", label="ICC(A,1)", numeric=True, help="item level, judge vs expert mean"))
    cols.append(Column(key="vs_length", label="vs length", help=LENGTH_HELP))
    if any(j.partial_length is not None for j in c.judges.values()):
        cols.append(
            Column(
                key="partial",
                label="Spearman | length [95% CI]",
                numeric=True,
                help="partial Spearman (and Kendall's tau) with the expert mean, length in characters partialled out",
            )
        )
    cols += [
        Column(key="alt", label="alt-test", help="alternative annotator test (Calderon et al. 2025)"),
        Column(key="consistency", label="samples agree", help="self-consistency over repeated samples"),
        Column(key="n", label="n", numeric=True, help="items with a score and an expert rating"),
        Column(key="unscored", label="unscored", numeric=True, help="judged, but the answer could not be read"),
        Column(key="not_judged", label="not judged", numeric=True, help="rated items the judge never judged"),
    ]
    return cols


def _row(name: str, j: JudgeAgreement, with_icc: bool, with_partial: bool) -> list[Cell]:
    h = j.headline
    cells = [
        Cell(text=name, value=name, title=j.description or ""),
        Cell(text=with_ci(h.value, h.ci, note=h.note), value=h.value, title=h.note or ""),
        _ceiling_cell(j),
        Cell(
            text=DASH if j.spearman is None else with_ci(j.spearman.value, j.spearman.ci, note=j.spearman.note),
            value=None if j.spearman is None else j.spearman.value,
            title=(j.spearman.note or "") if j.spearman else "",
        ),
        Cell(
            text=DASH if j.kendall is None else num(j.kendall.value),
            value=None if j.kendall is None else j.kendall.value,
        ),
        Cell(text=bias_text(j), value=None if j.bias is None else j.bias.value),
    ]
    if with_icc:
        icc = j.icc
        cells.append(
            Cell(
                text=DASH if icc is None else with_ci(icc.value, icc.ci, note=icc.note),
                value=None if icc is None else icc.value,
            )
        )
    v = j.vs_length
    cells.append(
        Cell(
            text=vs_length_text(j),
            value=None if v is None else v.not_better,
            title="" if v is None else v.reason,
        )
    )
    if with_partial:
        p = j.partial_length
        cells.append(Cell(text=partial_text(j), value=None if p is None else p.spearman.value))
    cells += [
        Cell(text=alt_text(j.alt_test) if j.kind == "judge" else DASH, title=j.alt_test_note or ""),
        Cell(text=consistency_text(j), value=None if j.self_consistency is None else j.self_consistency.all_agree_rate),
        Cell(text=str(j.n_items), value=j.n_items),
        Cell(text=str(j.unscored) if j.kind == "judge" else DASH, value=j.unscored),
        Cell(text=str(j.not_judged) if j.kind == "judge" else DASH, value=j.not_judged),
    ]
    return cells


def _ceiling_cell(j: JudgeAgreement) -> Cell:
    e = j.ceiling
    if e is None:
        return Cell(text=DASH)
    return Cell(text=with_ci(e.value, e.ci, note=e.note), value=e.value, title=f"{e.note or ''} on {j.items}".strip())


def items_note(c: CriterionAgreement) -> str:
    """Which items each row of a criterion uses, in words (the same in every format)."""
    parts = [f"the experts' row: {c.experts.items} ({c.experts.headline.n})"]
    judges = [(n, j) for n, j in c.judges.items() if j.kind == "judge"]
    if judges:
        parts.append("each judge's row and its 'experts on its items': the items it scored (n)")
    chance = next((j for j in c.judges.values() if j.kind == "chance"), None)
    if chance is not None:
        parts.append(f"the chance rows: {chance.items} ({chance.n_items})")
    return "Items: " + "; ".join(parts) + "."


def criterion_table(c: CriterionAgreement) -> Table:
    """The experts' row (the ceiling), the judges by headline, then the chance rows."""
    cols = _columns(c)
    with_icc = any(col.key == "icc" for col in cols)
    with_partial = any(col.key == "partial" for col in cols)
    e = c.experts
    h = e.headline
    expert_cells: list[Cell] = [
        Cell(text="experts (ceiling)", value="experts (ceiling)"),
        Cell(text=with_ci(h.value, h.ci, note=h.note), value=h.value, title=h.note or ""),
    ]
    expert_cells += [Cell(text=DASH)] * (len(cols) - 5)  # its ceiling is its own headline
    expert_cells += [Cell(text=str(h.n), value=h.n), Cell(text=DASH), Cell(text=DASH)]
    rows = [expert_cells]
    rows += [_row(name, j, with_icc, with_partial) for name, j in c.judges.items()]
    level = c.level if c.level == c.rubric_level else f"{c.level}, rubric says {c.rubric_level}"
    q = f"; share of resamples below 0.667: {e.q_below_tentative:.2f}" if e.q_below_tentative is not None else ""
    alpha = with_ci(e.alpha, e.ci, missing="n/a")
    caption = (
        f"kappa: pairwise agreement with the experts, the same statistic for every row (judge-expert pairs; for the "
        f"experts, pairs of two experts: the ceiling). The chance rows are the floor; the baseline rows are trivial "
        f"judges (the reply's length, on the experts' scale by rank), and 'vs length' says whether a judge's CIs "
        f"clear them. Krippendorff's alpha among the "
        f"experts: {alpha} over {e.n_items} items{q}. {items_note(c)}"
    )
    if e.note:
        caption += f" Note: {e.note}."
    return Table(
        key=f"agreement-{c.criterion}",
        title=f"{c.criterion} ({level}; {len(c.raters)} experts)",
        columns=cols,
        rows=rows,
        caption=caption,
    )


def system_table(report: AgreementReport) -> Table | None:
    """System-level agreement of every judge on every criterion (means per system, CIs over posts)."""
    cols = [
        Column(key="criterion", label="criterion"),
        Column(key="judge", label="judge"),
        Column(key="systems", label="systems", numeric=True, help="systems with >= 5 items"),
        Column(key="icc_c1", label="ICC(C,1) [95% CI]", numeric=True, help="consistency of system means"),
        Column(key="icc_a1", label="ICC(A,1) [95% CI]", numeric=True, help="absolute agreement of system means"),
        Column(key="spearman", label="Spearman [95% CI]", numeric=True, help="rank correlation of systems"),
        Column(key="kendall", label="Kendall [95% CI]", numeric=True, help="Kendall's tau-b of systems"),
    ]
    rows = []
    for c in report.criteria.values():
        for name, j in c.judges.items():
            s = j.system
            if s is None:
                continue
            rows.append(
                [
                    Cell(text=c.criterion, value=c.criterion),
                    Cell(text=name, value=name),
                    Cell(text=str(s.n_systems), value=s.n_systems, title=f"{s.n_left_out} left out (< 5 items)"),
                    *(
                        Cell(text=with_ci(e.value, e.ci, note=e.note), value=e.value, title=e.note or "")
                        for e in (s.icc_c1, s.icc_a1, s.spearman, s.kendall)
                    ),
                ]
            )
    if not rows:
        return None
    return Table(
        key="system",
        title="System-level agreement",
        columns=cols,
        rows=rows,
        caption="Judge mean vs expert mean per system, on the items both cover; 95% CIs resample posts.",
    )


def rater_table(report: AgreementReport) -> Table:
    """Each expert's scale use, and the alpha of each pair of experts on the items both rated."""
    cols = [
        Column(key="criterion", label="criterion"),
        Column(key="rater", label="rater"),
        Column(key="n", label="ratings", numeric=True),
        Column(key="mean", label="mean", numeric=True),
        Column(key="bias", label="bias vs others", numeric=True, help="mean(rating - the other experts' mean)"),
        Column(key="pairs", label="alpha with each other expert (shared items)"),
    ]
    rows = []
    for c in report.criteria.values():
        for r in c.rater_stats:
            pairs = "; ".join(
                f"{b if a == r.rater else a} {num(p.alpha)} ({p.n_shared})"
                for p in c.pairs
                for a, b in [p.raters]
                if r.rater in p.raters
            )
            rows.append(
                [
                    Cell(text=c.criterion, value=c.criterion),
                    Cell(text=r.rater, value=r.rater),
                    Cell(text=str(r.n_ratings), value=r.n_ratings),
                    Cell(text=num(r.mean), value=r.mean),
                    Cell(text=num(r.bias_vs_others, sign=True), value=r.bias_vs_others),
                    Cell(text=pairs or DASH),
                ]
            )
    return Table(key="raters", title="Raters", columns=cols, rows=rows)


def long_table(report: AgreementReport) -> Table:
    """One row per criterion x row (experts, judges, chance), raw numbers: the CSV."""
    keys = [
        "criterion",
        "level",
        "row",
        "kind",
        "headline",
        "headline_low",
        "headline_high",
        "headline_note",
        "n_items",
        "n_pairs",
        "items",
        "ceiling",
        "ceiling_low",
        "ceiling_high",
        "spearman",
        "kendall",
        "bias",
        "icc_a1",
        "alt_test",
        "alt_test_w",
        "unscored",
        "not_judged",
        "not_better_than_length",
        "vs_length_reason",
        "partial_spearman",
        "partial_spearman_low",
        "partial_spearman_high",
        "partial_kendall",
        "samples_agree",
        "system_icc_c1",
        "system_icc_a1",
        "system_spearman",
        "system_kendall",
    ]
    rows: list[list[Cell]] = []

    def add(c: CriterionAgreement, name: str, kind: str, j: JudgeAgreement | None) -> None:
        h = c.experts.headline if j is None else j.headline
        lo, hi = h.ci or (None, None)
        s = j.system if j is not None else None
        ceiling = c.experts.headline if j is None else j.ceiling
        clo, chi = (ceiling.ci if ceiling is not None else None) or (None, None)
        vals: list[float | int | str | None] = [
            c.criterion,
            c.level,
            name,
            kind,
            h.value,
            lo,
            hi,
            h.note or "",
            h.n,
            h.n_pairs,
            c.experts.items if j is None else j.items,
            None if ceiling is None else ceiling.value,
            clo,
            chi,
            j.spearman.value if j is not None and j.spearman else None,
            j.kendall.value if j is not None and j.kendall else None,
            j.bias.value if j is not None and j.bias else None,
            j.icc.value if j is not None and j.icc else None,
            ("pass" if j.alt_test.passed else "fail") if j is not None and j.alt_test else None,
            j.alt_test.winning_rate if j is not None and j.alt_test else None,
            j.unscored if j is not None else None,
            j.not_judged if j is not None else None,
            j.vs_length.not_better if j is not None and j.vs_length else None,
            j.vs_length.reason if j is not None and j.vs_length else None,
            *_partial_values(j),
            j.self_consistency.all_agree_rate if j is not None and j.self_consistency else None,
            s.icc_c1.value if s else None,
            s.icc_a1.value if s else None,
            s.spearman.value if s else None,
            s.kendall.value if s else None,
        ]
        rows.append([Cell(text="" if v is None else str(v), value=v) for v in vals])

    for c in report.criteria.values():
        add(c, "experts", "experts", None)
        for name, j in c.judges.items():
            add(c, name, j.kind, j)
    return Table(key="long", title="Agreement (long)", columns=[Column(key=k, label=k) for k in keys], rows=rows)


def _partial_values(j: JudgeAgreement | None) -> list[float | None]:
    p = None if j is None else j.partial_length
    if p is None:
        return [None] * 4
    lo, hi = p.spearman.ci or (None, None)
    return [p.spearman.value, lo, hi, p.kendall.value]


def _details(report: AgreementReport) -> list[str]:
    """What does not fit a table cell: kappa per expert, alt-test notes, chance rows explained."""
    out = []
    for c in report.criteria.values():
        for name, j in c.judges.items():
            parts = []
            if j.kind in ("chance", "baseline"):
                parts.append(j.description or "")
            if j.not_better_than_length and j.vs_length is not None:
                parts.append(f"NOT BETTER THAN LENGTH: {j.vs_length.reason}")
            if j.kappa:
                parts.append(
                    "weighted kappa per expert " + ", ".join(f"{r}={num(k.value)}" for r, k in j.kappa.items())
                )
            if j.alt_test_note:
                parts.append(f"alt-test: {j.alt_test_note}")
            if parts:
                out.append(f"{c.criterion}, {name}: " + "; ".join(p for p in parts if p))
    return out


AGREEMENT_CAPTION = (
    "Dot and line: each judge's kappa with the experts (judge-expert pairs) and its 95% CI. Green band and dashed "
    "line: the experts with each other, computed the same way, and its CI: the ceiling. Hollow grey: the chance "
    "rows, a judge that answers a constant and the judges' own scores shuffled across items: the floor (0); and the "
    "baseline rows, the reply's length put on the experts' scale by rank: what a count of characters reaches. A judge "
    "is worth reading where its CI clears the chance rows, as good as an expert where it reaches the band. "
    "Hover for numbers."
)


def agreement_figures(panels: Sequence[AgreementPanel], key: str = "agreement", *, lead: bool = False) -> list[Figure]:
    """The agreement plot (one panel per criterion: judges between the chance rows and the experts' ceiling band),
    split into figures of at most ``MAX_PANELS`` criteria so that each fits the page at its own size; ``lead``
    shows them before the tables."""
    chunks = [panels[k : k + MAX_PANELS] for k in range(0, len(panels), MAX_PANELS)]
    return [
        Figure(
            key=key if n == 0 else f"{key}-{n + 1}",
            title="Agreement with the experts, between chance and the experts' ceiling"
            + (f" ({n + 1} of {len(chunks)})" if len(chunks) > 1 else ""),
            html=agreement_panels_svg(chunk, metric="kappa with the experts", max_width=PAGE_WIDTH),
            caption=AGREEMENT_CAPTION,
            lead=lead,
        )
        for n, chunk in enumerate(chunks)
        if chunk
    ]


def agreement_panel(c: CriterionAgreement) -> AgreementPanel:
    """One criterion's panel: the experts' headline (the ceiling band), each judge's and each chance row's."""
    h = c.experts.headline
    rows = [AgreementRow("experts", h.value, h.ci, "experts")]
    rows += [AgreementRow(name, j.headline.value, j.headline.ci, j.kind) for name, j in c.judges.items()]
    return AgreementPanel(title=c.criterion, rows=rows)


@register_builder(AgreementReport)
def agreement_document(report: AgreementReport) -> Report:
    """The whole agreement report as a ``Report``."""
    tables = [criterion_table(c) for c in report.criteria.values()]
    system = system_table(report)
    if system is not None:
        tables.append(system)
    if any(c.rater_stats for c in report.criteria.values()):
        tables.append(rater_table(report))
    left_out = f"; raters left out: {', '.join(report.excluded_raters)}" if report.excluded_raters else ""
    summary = (
        f"Bootstrap {report.n_boot} resamples over {report.resample} (seed {report.seed}), shared by every "
        f"statistic of a criterion; alt-test epsilon {report.epsilon:g}{left_out}."
    )
    notes = [f"WARNING: {w}" for w in report.warnings] + [*report.notes, *_details(report)]
    return Report(
        title=f"Agreement with the experts: {report.benchmark}",
        summary=summary,
        tables=tables,
        figures=agreement_figures([agreement_panel(c) for c in report.criteria.values()], lead=True),
        notes=notes,
        provenance=[
            ("benchmark", report.benchmark),
            ("bootstrap", f"{report.n_boot} resamples, seed {report.seed}"),
            ("raters left out", ", ".join(report.excluded_raters) or "none"),
        ],
        long_table=long_table(report),
    )


def render_agreement_table(report: AgreementReport) -> str:
    """The agreement report as markdown (what ``judge agree`` prints)."""
    return render_markdown(agreement_document(report))

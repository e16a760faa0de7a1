"""Layout of a pairwise leaderboard (``judge leaderboard --run`` on a pairwise run) as a ``Report``.

Tables: the systems per judge, with one column group per criterion (rank interval, Bradley-Terry strength, win rate,
pairs and, with a baseline system, the plain and length-controlled win rates against it); where the experts rated
the pairs, every judge's agreement with the experts' preferences beside the experts' ceiling and the chance rows;
the long table (the CSV) with every number raw. Figures: the rank intervals and the win rates, one panel per
criterion.
"""

from __future__ import annotations

from judge.analysis.pairwise.agreement import PairwiseRow
from judge.analysis.pairwise.board import PairwiseLeaderboard
from judge.analysis.pairwise.rankings import JudgeRanking, SystemRanking
from judge.analysis.stats.correlation import Estimate
from judge.report.format import DASH, num, pct, with_ci
from judge.report.html import PAGE_WIDTH, Panel, RankPanel, rank_intervals_svg, whisker_panels_svg
from judge.report.model import Cell, Column, Figure, Report, Table
from judge.report.viewer import link_viewer, viewer_href
from judge.report.write import register_builder

STRENGTH_HELP = "Bradley-Terry strength in logits (mean 0 over the systems), 95% CI over posts"
WIN_HELP = "share of its pairs won, ties half, over every opponent; 95% CI over posts"
RANK_HELP = "95% interval of the rank by strength across the resamples; overlapping intervals are ties"
LC_HELP = "win rate against the baseline had both replies been equally long (AlpacaEval 2's logistic model)"


def _est(e: Estimate | None, digits: int = 2) -> Cell:
    if e is None:
        return Cell(text=DASH)
    if e.value is None:
        return Cell(text="too few" if (e.note or "").startswith("too few") else DASH, title=e.note or "")
    return Cell(text=with_ci(e.value, e.ci, digits, missing=DASH), value=e.value, title=e.note or f"n={e.n}")


def _rank(s: SystemRanking) -> Cell:
    if s.rank is None:
        return Cell(text=DASH)
    if s.rank_ci is None:
        return Cell(text=str(s.rank), value=s.rank)
    lo, hi = s.rank_ci
    return Cell(text=str(lo) if lo == hi else f"{lo}-{hi}", value=s.rank, title=f"rank {s.rank}")


def _by_judge(board: PairwiseLeaderboard) -> dict[str, dict[str, JudgeRanking]]:
    out: dict[str, dict[str, JudgeRanking]] = {}
    for r in board.rankings.rankings:
        out.setdefault(r.judge, {})[r.criterion] = r
    return out


def wide_table(board: PairwiseLeaderboard, viewer: str | None = None) -> Table:
    """One row per judge and system (strongest first on the first criterion); a column group per criterion. With
    ``viewer`` (the pair viewer's relative path), each system links to its pairs there (largest disagreement with the
    experts first, where they rated the pairs)."""
    by_judge = _by_judge(board)
    crits = board.provenance.criteria
    several = len(by_judge) > 1
    cols = [Column(key="judge", label="judge")] if several else []
    cols.append(Column(key="system", label="system"))
    for c in crits:
        cols += [
            Column(key=f"{c}_rank", label="rank", numeric=True, group=c, help=RANK_HELP),
            Column(key=f"{c}_strength", label="strength [95% CI]", numeric=True, group=c, help=STRENGTH_HELP),
            Column(key=f"{c}_win_rate", label="win rate [95% CI]", numeric=True, group=c, help=WIN_HELP),
            Column(key=f"{c}_pairs", label="pairs", numeric=True, group=c, help="scored pairs it took part in"),
        ]
        if board.baseline:
            cols += [
                Column(key=f"{c}_vs_baseline", label=f"vs {board.baseline}", numeric=True, group=c, help=WIN_HELP),
                Column(key=f"{c}_lc", label="length-controlled", numeric=True, group=c, help=LC_HELP),
            ]
    rows = []
    for judge, per_crit in by_judge.items():
        first = per_crit.get(crits[0]) or next(iter(per_crit.values()))
        order = [s.system for s in first.systems]
        order += sorted({s.system for r in per_crit.values() for s in r.systems} - set(order))
        for system in order:
            cells = [Cell(text=judge)] if several else []
            href = viewer_href(viewer, system=system, sort="experts" if board.agreement else "") if viewer else ""
            cells.append(Cell(text=system, href=href, title=f"the pairs of {system}, side by side" if href else ""))
            for c in crits:
                s = next((x for x in per_crit[c].systems if x.system == system), None) if c in per_crit else None
                if s is None:
                    cells += [Cell(text=DASH)] * (6 if board.baseline else 4)
                    continue
                cells += [_rank(s), _est(s.strength), _est(s.win_rate), Cell(text=str(s.n_pairs), value=s.n_pairs)]
                if board.baseline:
                    vs = s.vs_baseline
                    cells += [_est(vs.raw if vs else None), _est(vs)]
            rows.append(cells)
    n_boot = board.rankings.n_boot
    caption = (
        f"Systems ranked from pairwise verdicts, both orders of each pair averaged (ties half a win). Rank and "
        f"strength: Bradley-Terry; every 95% CI and rank interval resamples posts ({n_boot} resamples, seed "
        f"{board.rankings.seed})."
    )
    if board.baseline:
        caption += (
            f" vs {board.baseline}: the win rate in the pairs with the baseline; length-controlled: the same, "
            "predicted at equal reply length."
        )
    return Table(key="systems", title="Pairwise leaderboard", columns=cols, rows=rows, caption=caption)


def _agreement_row(criterion: str, r: PairwiseRow) -> list[Cell]:
    share = r.consistency.value if r.consistency else None
    return [
        Cell(text=criterion),
        Cell(text=r.name, title=r.description or ""),
        Cell(text=r.kind),
        Cell(text=str(r.n_decided), value=r.n_decided),
        _est(r.accuracy),
        _est(r.kappa),
        _est(r.vs_each_expert),
        Cell(text=pct(share, 0), value=share, title="both orders gave the same verdict"),
        _est(r.first_share),
    ]


def agreement_table(board: PairwiseLeaderboard) -> Table | None:
    """Each judge against the experts' preferences, then the experts' ceiling and the chance rows."""
    if board.agreement is None:
        return None
    cols = [
        Column(key="criterion", label="criterion"),
        Column(key="rater", label="rater"),
        Column(key="kind", label="kind"),
        Column(key="n_decided", label="decided pairs", numeric=True, help="pairs the experts' mean ratings decide"),
        Column(key="accuracy", label="accuracy [95% CI]", numeric=True, help="same side 1, tie 0.5, other side 0"),
        Column(key="kappa", label="kappa [95% CI]", numeric=True, help="linear-weighted over B < tie < A"),
        Column(
            key="vs_each_expert", label="kappa vs each expert", numeric=True, help="comparable with the ceiling row"
        ),
        Column(key="consistency", label="position consistency", numeric=True),
        Column(key="first_share", label="first chosen", numeric=True, help="share of 'first shown' (0.5: no bias)"),
    ]
    rows = []
    for crit in board.agreement.criteria:
        judges = [r for r in crit.rows if r.kind == "judge"]
        chance = [r for r in crit.rows if r.kind != "judge"]
        for r in [*judges, crit.ceiling, *chance]:
            rows.append(_agreement_row(crit.criterion, r))
    return Table(
        key="agreement",
        title="Agreement with the experts' preferences",
        columns=cols,
        rows=rows,
        caption="Accuracy on the pairs the experts decided and kappa, 95% CIs over posts. The experts' ceiling "
        "(kind experts) is one expert against another who rated both replies: hold 'kappa vs each expert' against "
        "it. Chance rows: always the first shown, a coin per pair, the judges' verdicts shuffled.",
    )


def long_table(board: PairwiseLeaderboard) -> Table:
    """One row per judge x criterion x system, raw numbers (the CSV)."""
    keys = [
        "judge", "criterion", "system", "rank", "rank_low", "rank_high", "strength", "strength_low", "strength_high",
        "win_rate", "win_rate_low", "win_rate_high", "n_pairs", "baseline", "vs_baseline", "vs_baseline_low",
        "vs_baseline_high", "lc_win_rate", "lc_low", "lc_high",
    ]  # fmt: skip

    def three(e: Estimate | None) -> list[float | None]:
        if e is None:
            return [None, None, None]
        lo, hi = e.ci or (None, None)
        return [e.value, lo, hi]

    rows = []
    for r in board.rankings.rankings:
        for s in r.systems:
            rlo, rhi = s.rank_ci or (None, None)
            vs = s.vs_baseline
            vals: list[float | int | str | None] = [
                r.judge, r.criterion, s.system, s.rank, rlo, rhi, *three(s.strength), *three(s.win_rate), s.n_pairs,
                board.baseline or "", *three(vs.raw if vs else None), *three(vs),
            ]  # fmt: skip
            rows.append([Cell(text="" if v is None else str(v), value=v) for v in vals])
    columns = [Column(key=k, label=k) for k in keys]
    return Table(key="long", title="Pairwise leaderboard (long)", columns=columns, rows=rows)


def _win_text(s: SystemRanking | None) -> str:
    return with_ci(s.win_rate.value, s.win_rate.ci) if s is not None else DASH


def _figures(board: PairwiseLeaderboard) -> list[Figure]:
    figures = []
    for judge, per_crit in _by_judge(board).items():
        crits = [c for c in board.provenance.criteria if c in per_crit]
        labels = [s.system for s in per_crit[crits[0]].systems]
        # criterion -> each label's ranking (None where the system has no pair on that criterion)
        rows = {c: [next((s for s in per_crit[c].systems if s.system == n), None) for n in labels] for c in crits}
        ranks = [
            RankPanel(
                title=c,
                ranks=[s.rank if s else None for s in rows[c]],
                intervals=[s.rank_ci if s else None for s in rows[c]],
                n=len(per_crit[c].systems),
            )
            for c in crits
        ]
        wins = [
            Panel(
                title=c,
                means=[s.win_rate.value if s else None for s in rows[c]],
                cis=[s.win_rate.ci if s else None for s in rows[c]],
                low=0.0,
                high=1.0,
                tooltips=[f"{n} · {c}: win rate {_win_text(s)}" for n, s in zip(labels, rows[c], strict=True)],
            )
            for c in crits
        ]
        suffix = f" ({judge})" if len(board.provenance.judges) > 1 else ""
        figures += [
            Figure(
                key=f"ranks-{judge}",
                title=f"Rank intervals{suffix}",
                html=rank_intervals_svg(labels, ranks, max_width=PAGE_WIDTH),
                caption="Dot = rank by Bradley-Terry strength (1 = strongest), bar = its 95% interval over posts.",
            ),
            Figure(
                key=f"wins-{judge}",
                title=f"Win rates{suffix}",
                html=whisker_panels_svg(labels, wins, max_width=PAGE_WIDTH),
                caption="Dot = share of its pairs won (ties half), whisker = 95% CI over posts; 0.5 = even.",
            ),
        ]
    return figures


@register_builder(PairwiseLeaderboard)
def pairwise_report(board: PairwiseLeaderboard, viewer: str | None = None) -> Report:
    """The report of a pairwise leaderboard; with ``viewer`` (the relative path of the pair viewer written next to
    it), a link to it under the title."""
    p = board.provenance
    n_pairs = max((r.n_pairs for r in board.rankings.rankings), default=0)
    n_posts = max((r.n_posts for r in board.rankings.rankings), default=0)
    summary = (
        f"Benchmark {p.benchmark}: systems ranked from the pairwise verdicts of {', '.join(p.judges)} (run {p.run}, "
        f"pairs: {p.pairs or '?'}), up to {n_pairs} pairs from {n_posts} posts per criterion, each asked in both "
        "orders."
    )
    if board.agreement is not None:
        # against each single expert where there are two: that is what the ceiling measures (docs/agreement.md)
        kappas = [
            f"{r.name} on {c.criterion}: kappa {num((r.vs_each_expert or r.kappa).value)} vs the experts' ceiling "
            f"{num(c.ceiling.kappa.value)}"
            for c in board.agreement.criteria
            for r in c.rows
            if r.kind == "judge"
        ]
        summary += " Against the experts' preferences: " + "; ".join(kappas) + "."
    tables = [wide_table(board, viewer)]
    agreement = agreement_table(board)
    if agreement is not None:
        tables.append(agreement)
    prov = [
        ("benchmark", p.benchmark),
        ("run", p.run),
        ("judges", ", ".join(p.judges)),
        ("pairs", p.pairs or "?"),
        ("baseline system", board.baseline or "none"),
        ("command", p.command or "(library call)"),
        ("created", p.created_at),
        ("tool version", p.tool_version),
    ]
    report = Report(
        title=f"Pairwise leaderboard: {p.benchmark}",
        summary=summary,
        tables=tables,
        figures=_figures(board),
        notes=board.notes,
        provenance=prov,
        long_table=long_table(board),
    )
    return link_viewer(report, viewer, label="Every pair, side by side") if viewer else report

"""Layout of a system leaderboard as a ``Report``: the wide table, the long (CSV) table and the figures."""

from __future__ import annotations

from judge.analysis.leaderboard import CellStats, CriterionInfo, Leaderboard, SystemRow
from judge.data.benchmark import Item
from judge.report.format import DASH, with_ci
from judge.report.html import (
    PAGE_WIDTH,
    Panel,
    RankPanel,
    histogram_svg,
    rank_intervals_svg,
    whisker_panels_svg,
)
from judge.report.model import Cell, Column, Figure, Report, Table
from judge.report.viewer import link_viewer, viewer_href
from judge.report.write import register_builder


def rank_text(cell: CellStats) -> str:
    """The rank interval: ``"1-3"``, or ``"2"`` when the bootstrap never moved it; ``"too few"`` on thin data."""
    if cell.too_few and cell.rank is not None:
        return "too few"
    if cell.rank_ci is None:
        return DASH if cell.rank is None else str(cell.rank)
    lo, hi = cell.rank_ci
    return str(lo) if lo == hi else f"{lo}-{hi}"


def mean_text(cell: CellStats) -> str:
    """``mean [low, high]``, ``mean [too few]`` below 5 items or 3 posts, ``–`` when nothing was scored."""
    return with_ci(cell.mean, cell.ci, missing=DASH, note=cell.too_few)


def system_fields(board: Leaderboard) -> list[str]:
    """The union of the rows' system fields, in first-seen order (e.g. model, pipeline, method)."""
    return list(dict.fromkeys(k for r in board.rows for k in r.system))


def _arrow(c: CriterionInfo) -> str:
    return "↓" if c.lower_is_better else "↑"


def viewer_system(row: SystemRow) -> str:
    """The system's name in the item viewer: the items' own ``system_name`` (the leaderboard may add ``#2`` to tell
    two systems with one readable name apart; the viewer does not)."""
    return Item.model_construct(system=row.system).system_name


def wide_table(board: Leaderboard, viewer: str | None = None, *, experts: bool = True) -> Table:
    """One row per system; per criterion the mean with its CI and the rank interval (plus unscored if any).

    With ``viewer`` (the item viewer's relative path), each system cell links to the viewer filtered to that system
    (sorted by judge-expert disagreement when the scores are a judge's and the benchmark has expert ratings:
    ``experts``; a link never asks for a sort the viewer cannot offer).
    """
    fields = system_fields(board)
    cols = [Column(key=f, label=f) for f in fields]
    cols.append(Column(key="n_items", label="items", numeric=True, help="items of the system in the leaderboard"))
    with_unscored = {c.name for c in board.criteria if any(r.scores[c.name].unscored for r in board.rows)}
    with_not_judged = {c.name for c in board.criteria if any(r.scores[c.name].not_judged for r in board.rows)}
    for c in board.criteria:
        group = f"{c.title} {_arrow(c)}"
        cols.append(
            Column(
                key=c.name,
                label="mean [95% CI]",
                numeric=True,
                group=group,
                help=f"{c.title}: mean over items, scale {c.low:g}-{c.high:g}",
            )
        )
        cols.append(
            Column(
                key=f"{c.name}_rank",
                label="rank",
                numeric=True,
                group=group,
                help="95% interval of the bootstrap rank; overlapping intervals are ties",
            )
        )
        if c.name in with_unscored:
            cols.append(Column(key=f"{c.name}_unscored", label="unscored", numeric=True, group=group))
        if c.name in with_not_judged:
            cols.append(
                Column(
                    key=f"{c.name}_not_judged",
                    label="not judged",
                    numeric=True,
                    group=group,
                    help="items never judged (or never rated) on this criterion",
                )
            )
    # a judge's largest disagreements with the experts first, where there are experts to disagree with
    sort = "experts" if board.source == "judge" and experts else ""
    rows = []
    for r in board.rows:
        href = viewer_href(viewer, system=viewer_system(r), sort=sort) if viewer else ""
        cells = [
            Cell(
                text=r.system.get(f) or "—",
                value=r.system.get(f, ""),
                href=href if r.system.get(f) else "",
                title=f"every judgment of {r.name}, item by item" if href and r.system.get(f) else "",
            )
            for f in fields
        ]
        cells.append(Cell(text=str(r.n_items), value=r.n_items))
        for c in board.criteria:
            s = r.scores[c.name]
            title = f"n={s.n}, unscored={s.unscored}" + (f", not judged={s.not_judged}" if s.not_judged else "")
            cells.append(Cell(text=mean_text(s), value=s.mean, title=title + (f"; {s.too_few}" if s.too_few else "")))
            tied = f"; tied with {len(s.tied_with)} other(s)" if s.tied_with else ""
            cells.append(Cell(text=rank_text(s), value=s.rank, title=f"rank {s.rank}{tied}"))
            if c.name in with_unscored:
                cells.append(Cell(text=str(s.unscored), value=s.unscored))
            if c.name in with_not_judged:
                cells.append(Cell(text=str(s.not_judged), value=s.not_judged))
        rows.append(cells)
    b = board.bootstrap
    caption = (
        f"Mean per system with a 95% percentile bootstrap CI ({b.n_boot} resamples of "
        f"{'posts' if b.cluster == 'post' else 'items'}, seed {b.seed}); rank = 95% interval of the system's "
        "rank across the same resamples. ↑ higher is better, ↓ lower is better."
    )
    if any(r.scores[c.name].too_few for r in board.rows for c in board.criteria):
        caption += " too few: fewer than 5 items or 3 posts, no CI or rank interval."
    return Table(key="systems", title="System leaderboard", columns=cols, rows=rows, caption=caption)


def long_table(board: Leaderboard) -> Table:
    """One row per system x criterion, raw numbers (the CSV)."""
    fields = system_fields(board)
    keys = [
        *fields,
        "system",
        "criterion",
        "rubric",
        "mean",
        "ci_low",
        "ci_high",
        "n",
        "unscored",
        "not_judged",
        "rank",
        "rank_low",
        "rank_high",
        "tied_with",
    ]
    rows = []
    for r in board.rows:
        for c in board.criteria:
            s = r.scores[c.name]
            lo, hi = s.ci or (None, None)
            rlo, rhi = s.rank_ci or (None, None)
            vals: list[float | int | str | None] = [
                *(r.system.get(f, "") for f in fields),
                r.name,
                c.name,
                c.ref,
                s.mean,
                lo,
                hi,
                s.n,
                s.unscored,
                s.not_judged,
                s.rank,
                rlo,
                rhi,
                "; ".join(s.tied_with),
            ]
            rows.append([Cell(text="" if v is None else str(v), value=v) for v in vals])
    return Table(
        key="long", title="System leaderboard (long)", columns=[Column(key=k, label=k) for k in keys], rows=rows
    )


def _whiskers(board: Leaderboard) -> str:
    """All criteria side by side, rows in leaderboard order (best first on the first criterion)."""
    rows = board.rows
    panels = [
        Panel(
            title=f"{c.title} {_arrow(c)}",
            means=[r.scores[c.name].mean for r in rows],
            cis=[r.scores[c.name].ci for r in rows],
            low=c.low,
            high=c.high,
            tooltips=[
                f"{r.name} · {c.title}: {mean_text(r.scores[c.name])}, n={r.scores[c.name].n}, "
                f"rank {rank_text(r.scores[c.name])}"
                for r in rows
            ],
        )
        for c in board.criteria
    ]
    return whisker_panels_svg([r.name for r in rows], panels, max_width=PAGE_WIDTH)


def _ranks(board: Leaderboard) -> str:
    """Rank intervals, one panel per criterion, rows in leaderboard order; "too few" where the table says so."""
    rows = board.rows
    panels = []
    for c in board.criteria:
        cells = [r.scores[c.name] for r in rows]
        panels.append(
            RankPanel(
                title=f"{c.title} {_arrow(c)}",
                ranks=[s.rank for s in cells],
                intervals=[None if s.too_few else s.rank_ci for s in cells],
                n=sum(s.rank is not None for s in cells),
                notes=[s.too_few if s.too_few and s.rank is not None else None for s in cells],
            )
        )
    return rank_intervals_svg([r.name for r in rows], panels, max_width=PAGE_WIDTH)


def _distributions(board: Leaderboard) -> str:
    from html import escape

    head = (
        "<tr><th></th>"
        + "".join(f"<th>{escape(c.title)}<br><small>{c.low:g} – {c.high:g}</small></th>" for c in board.criteria)
        + "</tr>"
    )
    body = "".join(
        f"<tr><td>{escape(r.name)}</td>"
        + "".join(
            f"<td>{histogram_svg(r.scores[c.name].hist, c.bins, title=f'{r.name} · {c.title}')}</td>"
            for c in board.criteria
        )
        + "</tr>"
        for r in board.rows
    )
    return f'<div class="wrap"><table class="dist"><thead>{head}</thead><tbody>{body}</tbody></table></div>'


@register_builder(Leaderboard)
def system_report(board: Leaderboard, viewer: str | None = None, *, experts: bool = True) -> Report:
    """The report of a system leaderboard.

    Args:
        board: the leaderboard.
        viewer: relative path of the item viewer written next to the report (``judge leaderboard --viewer``,
            ``judge demo``): the report links to it, and each system to its own items in it.
        experts: the benchmark has expert ratings (the viewer links then sort by judge-expert disagreement;
            without them the viewer has no such sort, and the links do not ask for it).
    """
    n_items = sum(r.n_items for r in board.rows)
    src = (
        "expert ratings (each item: the mean of its experts)"
        if board.source == "experts"
        else f"judge scores ({', '.join(board.provenance.judges) or 'judge'})"
    )
    summary = (
        f"Benchmark {board.provenance.benchmark}: {len(board.rows)} systems, {n_items} items, "
        f"{board.bootstrap.n_clusters} {'posts' if board.bootstrap.cluster == 'post' else 'items'} "
        f"as bootstrap clusters. Scores: {src}."
    )
    b = board.bootstrap
    figures = [
        Figure(
            key="ci",
            title="Means and 95% confidence intervals",
            html=_whiskers(board),
            caption=f"Dot = mean, whisker = 95% percentile bootstrap CI ({b.n_boot} resamples of "
            f"{'posts' if b.cluster == 'post' else 'items'}). Each panel spans its rubric's scale; "
            "rows in leaderboard order. Hover for numbers.",
        )
    ]
    figures.append(
        Figure(
            key="ranks",
            title="Rank intervals",
            html=_ranks(board),
            caption=f"Dot = rank (1 = best), bar = 95% interval of the rank across the same {b.n_boot} resamples. "
            "Systems whose bars overlap cannot be told apart on that criterion."
            + (
                " too few: fewer than 5 items or 3 posts, no rank interval (hover for why)."
                if any(r.scores[c.name].too_few for r in board.rows for c in board.criteria)
                else ""
            ),
        )
    )
    figures.append(
        Figure(
            key="distributions",
            title="Score distributions",
            html=_distributions(board),
            caption="Item scores per system (bins at every half scale step; hover for counts).",
        )
    )
    p = board.provenance
    prov = [
        ("benchmark", p.benchmark),
        *((f"rubric {k}", v) for k, v in p.rubrics.items()),
        ("judges", ", ".join(p.judges) or "none (expert ratings)"),
        ("calibrators", ", ".join(p.calibrators) or "none"),
        ("command", p.command or "(library call)"),
        ("created", p.created_at),
        ("tool version", p.tool_version),
    ]
    report = Report(
        title=f"Leaderboard: {p.benchmark}",
        summary=summary,
        tables=[wide_table(board, viewer, experts=experts)],
        figures=figures,
        notes=board.notes,
        provenance=prov,
        long_table=long_table(board),
    )
    return link_viewer(report, viewer) if viewer else report

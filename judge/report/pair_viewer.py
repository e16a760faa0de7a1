"""The viewer of a pairwise run (``judge view`` and ``judge leaderboard --viewer`` on a run of ``--task pairwise``):
every pair side by side in one self-contained, offline HTML page.

Each card is one judge's verdicts on one pair on one criterion: the post, reply A and reply B side by side (stacked
on a phone), the verdict in each order (as shown, and mapped back to A/B) with P(first is better) where the judge's
probabilities were recorded, the position-balanced P(A better) (``Preference.p_a``), and the experts' ratings of each
reply (their mean and each expert's) with the experts' preference where both replies were rated. The cards sort by
disagreement with the experts, largest first (``disagreement``, defined once here).

The page is built like the item viewer (``judge.report.viewer``): the data travel as escaped JSON in a
``<script type="application/json">`` block, untrusted text reaches the DOM only through ``textContent``, and the
filters live in the URL hash.

Example::

    from judge.report.pair_viewer import build_pair_view, write_pair_viewer
    view = build_pair_view(bench, "runs/demo-pairs")
    write_pair_viewer(view, "reports/demo-pairs/viewer.html")
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from judge import __version__
from judge.analysis.pairwise.preferences import Order, Verdict, code, side
from judge.data.benchmark import Benchmark, Item
from judge.errors import UsageError
from judge.report.viewer import VIEWER_FILE, _asset, script_json

FORMAT_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderVerdict(_Model):
    """The judge's answer in one order of a pair."""

    shown: str | None = Field(default=None, description="As shown: first, second or tie; None = unscored.")
    verdict: str | None = Field(default=None, description="Mapped back to the pair: A, B or tie.")
    p_first: float | None = Field(default=None, description="P(the reply shown first is better), when recorded.")
    rationale: str | None = None
    reason: str | None = Field(default=None, description="Why the answer is unscored.")


class ExpertsOf(_Model):
    """The experts' ratings of one reply on one criterion."""

    mean: float
    ratings: dict[str, float]


class PairCard(_Model):
    """One judge's verdicts on one pair on one criterion."""

    judge: str
    criterion: str
    post: int = Field(description="Index into ``PairView.posts``.")
    item_a: int = Field(description="Index into ``PairView.items``.")
    item_b: int
    ab: OrderVerdict | None = Field(default=None, description="A shown first (None: not asked).")
    ba: OrderVerdict | None = Field(default=None, description="B shown first.")
    verdict: str | None = Field(default=None, description="Both orders together: A, B or tie (ties half).")
    score: float | None = Field(default=None, description="The judge's score for A: 1 A, 0.5 tie, 0 B (order mean).")
    p_a: float | None = Field(default=None, description="P(A better), averaged over the orders recorded.")
    experts_a: ExpertsOf | None = None
    experts_b: ExpertsOf | None = None
    experts: str | None = Field(default=None, description="The experts' preference: A, B or tie by their means.")
    disagreement: float | None = Field(
        default=None, description="|P(A better), else the judge's score - the experts' score for A| (0 to 1)."
    )


class PairItem(_Model):
    id: str
    system: str
    response: str
    chars: int


class PairPost(_Model):
    id: str
    text: str
    dimension: str = ""


class PairView(_Model):
    """Every pair of a pairwise run, ready for the page."""

    format_version: int = FORMAT_VERSION
    title: str
    benchmark: str
    run: str
    judges: list[str]
    criteria: list[str]
    systems: list[str]
    raters: list[str]
    posts: list[PairPost]
    items: list[PairItem]
    cards: list[PairCard]
    notes: list[str] = Field(default_factory=list)
    created_at: float = Field(default_factory=time.time)


def disagreement(judge: float | None, experts: Verdict | None) -> float | None:
    """How far the judge stands from the experts on one pair: ``|judge - experts|`` where ``judge`` is P(A better)
    (or the judge's score for A without probabilities) and the experts' preference scores 1 A, 0.5 tie, 0 B."""
    if judge is None or experts is None:
        return None
    return abs(judge - code(experts))


def _post_text(item: Item) -> str:
    if item.conversation is None:
        return item.post
    first = item.judged_turn_numbers[0]
    return "\n".join(f"{t.role}: {t.text}" for t in item.conversation[: first - 1])


def build_pair_view(
    bench: Benchmark,
    run_dir: str | Path,
    *,
    criteria: Collection[str] | None = None,
    judge: str | None = None,
    title: str | None = None,
) -> PairView:
    """The pairs of a pairwise run with the judge's verdicts in each order and the experts' ratings of each reply.

    Raises:
        UsageError: the run has no pairwise verdicts (on these criteria, by this judge).
    """
    from judge.analysis.pairwise.runs import run_preferences, run_records
    from judge.engine.store import load_run_manifest

    lower = {c for c, d in load_run_manifest(run_dir).directions.items() if d == "lower"}

    records = {(r.judge, r.criterion, r.item_a, r.item_b, r.order): r for r in run_records(run_dir) if r.sample == 0}
    prefs = [
        p
        for p in run_preferences(run_dir, bench)
        if (criteria is None or p.criterion in set(criteria)) and (judge is None or p.judge == judge)
    ]
    if not prefs:
        raise UsageError(f"--run {run_dir}: no pairwise verdicts to show (criteria {sorted(criteria or [])})")
    ratings: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for r in bench.ratings:
        ratings[(r.item_id, r.criterion)][r.rater] = float(r.value)
    posts: dict[str, int] = {}
    items: dict[str, int] = {}
    post_rows: list[PairPost] = []
    item_rows: list[PairItem] = []

    def post_index(it: Item) -> int:
        key = f"{it.post_id}|{it.dimension_id}"
        if key not in posts:
            posts[key] = len(post_rows)
            dim = "" if it.dimension_id is None else f"dimension {it.dimension_id}"
            post_rows.append(PairPost(id=it.post_id, text=_post_text(it), dimension=dim))
        return posts[key]

    def item_index(item_id: str) -> int:
        if item_id not in items:
            it = bench.items[item_id]
            items[item_id] = len(item_rows)
            item_rows.append(PairItem(id=item_id, system=it.system_name, response=it.judged_text,
                                      chars=len(it.judged_text)))  # fmt: skip
        return items[item_id]

    def experts_of(item_id: str, crit: str) -> ExpertsOf | None:
        got = ratings.get((item_id, crit))
        if not got:
            return None
        return ExpertsOf(mean=sum(got.values()) / len(got), ratings=dict(sorted(got.items())))

    def order(p_judge: str, crit: str, a: str, b: str, o: Order, verdict: str | None) -> OrderVerdict | None:
        other: Order = "ba" if o == "ab" else "ab"  # a record naming the pair the other way round
        rec = records.get((p_judge, crit, a, b, o)) or records.get((p_judge, crit, b, a, other))
        if rec is None:
            return None
        return OrderVerdict(shown=rec.verdict, verdict=verdict, p_first=rec.p_first, rationale=rec.rationale,
                            reason=rec.unscored_reason)  # fmt: skip

    cards = []
    for p in prefs:
        ea, eb = experts_of(p.item_a, p.criterion), experts_of(p.item_b, p.criterion)
        # decided when the means differ at all (margin 0), as expert_preferences decides by default
        # (on a lower-is-better criterion, such as harmfulness, the lower mean is the better reply)
        experts: Verdict | None = None
        if ea is not None and eb is not None:
            experts = side(eb.mean - ea.mean if p.criterion in lower else ea.mean - eb.mean, 0.0)
        codes = [code(v) for v in (p.verdict_ab, p.verdict_ba) if v is not None]
        score = sum(codes) / len(codes) if codes else None
        judged = p.p_a if p.p_a is not None else score
        cards.append(
            PairCard(
                judge=p.judge,
                criterion=p.criterion,
                post=post_index(bench.items[p.item_a]),
                item_a=item_index(p.item_a),
                item_b=item_index(p.item_b),
                ab=order(p.judge, p.criterion, p.item_a, p.item_b, "ab", p.verdict_ab),
                ba=order(p.judge, p.criterion, p.item_a, p.item_b, "ba", p.verdict_ba),
                verdict=None if score is None else "A" if score > 0.5 else "B" if score < 0.5 else "tie",
                score=score,
                p_a=p.p_a,
                experts_a=ea,
                experts_b=eb,
                experts=experts,
                disagreement=disagreement(judged, experts),
            )
        )
    raters = sorted({r for (_, c), got in ratings.items() if criteria is None or c in criteria for r in got})
    return PairView(
        title=title or f"Pairs: {bench.name}",
        benchmark=bench.name,
        run=str(run_dir),
        judges=sorted({c.judge for c in cards}),
        criteria=sorted({c.criterion for c in cards}),
        systems=sorted({i.system for i in item_rows}),
        raters=raters if any(c.experts for c in cards) else [],
        posts=post_rows,
        items=item_rows,
        cards=cards,
    )


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def render_pair_viewer(view: PairView) -> str:
    """The pair viewer page: one HTML document with its data, style and script inline (no network)."""
    data = script_json(view.model_dump_json(exclude_none=True))
    rated = sum(1 for c in view.cards if c.experts)
    summary = (
        f"Benchmark {view.benchmark}, run {view.run}: {len(view.cards):,} pairs (pair × criterion × judge), "
        f"{rated:,} with the experts' ratings of both replies. Judges: {', '.join(view.judges)}. Each pair was asked "
        "in both orders; P(A better) averages the two."
    )
    notes = '<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in view.notes) + "</ul>" if view.notes else ""
    created = datetime.fromtimestamp(view.created_at, UTC).isoformat(timespec="seconds")
    controls = (
        '<button id="f-toggle" type="button" aria-controls="controls" aria-expanded="false">Filters and sort</button>'
        '<section class="controls" id="controls">'
        '<label>Criterion<select id="f-criterion"></select></label>'
        '<label>System<select id="f-system"></select></label>'
        '<label>Judge<select id="f-judge"></select></label>'
        '<label class="grow">Text<input id="f-q" type="search" autocomplete="off" '
        'placeholder="search posts, replies, rationales, item ids"></label>'
        '<label>Sort<select id="f-sort"></select></label>'
        '<button id="f-reset" type="button">Reset</button></section>'
        '<div class="bar" id="bar"><span id="status" role="status"></span><nav class="pager">'
        '<button id="p-prev" type="button" title="previous page">‹</button><span id="p-where"></span>'
        '<button id="p-next" type="button" title="next page">›</button></nav></div>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(view.title)}</title><style>{_asset('viewer.css')}{_asset('pair_viewer.css')}</style></head>"
        f'<body><main><h1>{_e(view.title)}</h1><p class="summary">{_e(summary)}</p>{notes}{controls}'
        '<div id="cards" class="cards"></div><p class="empty" id="empty" hidden>No pairs match these filters.</p>'
        f"<footer>Generated by reappraisal-judge {_e(__version__)} on {_e(created)}. One file, no network: share it "
        "as it is. Posts and replies may be sensitive.</footer></main>"
        f'<script type="application/json" id="viewer-data">{data}</script>'
        f"<script>{_asset('pair_viewer.js')}</script></body></html>\n"
    )


def write_pair_viewer(view: PairView, out: str | Path) -> Path:
    """Write the pair viewer atomically; ``out`` is a file, or a directory that gets ``viewer.html``."""
    from judge.fileio import write_text

    path = Path(out)
    if path.is_dir() or not path.suffix:
        path = path / VIEWER_FILE
    write_text(path, render_pair_viewer(view), private=True)  # posts and replies can be sensitive, like the runs
    return path

"""The pairwise analysis face on a small hand-built benchmark: preferences from records and from scores, the experts'
preferences and their margins, agreement with the experts beside the ceiling and chance rows, rankings, and the
validity pairs (their docstring checked against what they select)."""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations

import numpy as np
import pytest

from judge.analysis.pairwise import (
    Preference,
    canonical_verdict,
    comparable_key,
    expert_preferences,
    pairwise_agreement,
    pairwise_rankings,
    preferences_from_records,
    preferences_from_scores,
    validity_pairs,
)
from judge.analysis.pairwise.agreement import CHANCE_COIN, CHANCE_FIRST, CHANCE_SHUFFLED
from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item, Turn

SYSTEMS = ["good", "fair", "poor"]
QUALITY = {"good": 4.0, "fair": 3.0, "poor": 2.0}


def make_bench(n_posts: int = 12, seed: int = 0) -> Benchmark:
    """``n_posts`` posts x 1 dimension x 3 systems (good > fair > poor in expectation), two experts per item (e1 and
    e2, or e1 and e3 for every third post's poor reply), plus a
    post with a single reply (no pair) and a reply to another dimension of post 0 (not comparable with it)."""
    rng = np.random.default_rng(seed)
    items: dict[str, Item] = {}
    ratings: list[ExpertRating] = []

    def add(item_id: str, post: str, system: str, dim: int, length: int) -> None:
        items[item_id] = Item(
            item_id=item_id,
            post_id=post,
            post=f"post {post}",
            response="x" * length,
            system={"model": system},
            dimension_id=dim,
        )

    for p in range(n_posts):
        for s in SYSTEMS:
            item_id = f"{p}-{s}"
            add(item_id, f"post{p:02d}", s, 1, int(100 * QUALITY[s] + rng.integers(0, 50)))
            # Every third post's poor reply has another second expert: its pairs have one expert in common.
            for rater in ("e1", "e3") if p % 3 == 0 and s == "poor" else ("e1", "e2"):
                value = float(np.clip(QUALITY[s] + rng.integers(-1, 2), 1, 5))
                for crit in ("empathy", "alignment_with_standards"):
                    ratings.append(ExpertRating(item_id=item_id, rater=rater, criterion=crit, value=value))
    add("lonely", "post99", "good", 1, 300)
    ratings.append(ExpertRating(item_id="lonely", rater="e1", criterion="empathy", value=4))
    add("otherdim", "post00", "good", 4, 300)
    ratings.append(ExpertRating(item_id="otherdim", rater="e1", criterion="empathy", value=1))
    return Benchmark(manifest=BenchmarkManifest(name="toy"), items=items, ratings=ratings)


# -- preferences ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "shown", "expected"),
    [
        ("ab", "first", "A"),
        ("ab", "second", "B"),
        ("ba", "first", "B"),
        ("ba", "second", "A"),
        ("ba", "tie", "tie"),
        ("ab", None, None),
    ],
)
def test_canonical_verdict(order: str, shown: str | None, expected: str | None) -> None:
    assert canonical_verdict(order, shown) == expected  # type: ignore[arg-type]


def test_canonical_verdict_refuses_an_unknown_verdict() -> None:
    with pytest.raises(ValueError, match="'left'"):
        canonical_verdict("ab", "left")  # type: ignore[arg-type]


def records(a: str, b: str, ab: str | None, ba: str | None, **extra: object) -> list[dict[str, object]]:
    base = {"judge": "j", "criterion": "empathy", "item_a": a, "item_b": b}
    return [
        {**base, "order": "ab", "verdict": ab, "p_first": extra.get("p_ab")},
        {**base, "order": "ba", "verdict": ba, "p_first": extra.get("p_ba")},
    ]


def test_preferences_from_records_merges_the_two_orders() -> None:
    bench = make_bench()
    prefs = preferences_from_records(bench, records("0-good", "0-poor", "first", "second", p_ab=0.8, p_ba=0.3))
    assert len(prefs) == 1
    p = prefs[0]
    assert (p.verdict_ab, p.verdict_ba) == ("A", "A")
    assert p.p_a == pytest.approx((0.8 + 0.7) / 2)
    assert (p.post_id, p.system_a, p.system_b) == ("post00", "good", "poor")
    assert p.len_a == len(bench.items["0-good"].response) and p.group == comparable_key(bench.items["0-good"])
    # A judge that always picks the first shown: A in one order, B in the other.
    q = preferences_from_records(bench, records("0-good", "0-poor", "first", "first"))[0]
    assert (q.verdict_ab, q.verdict_ba) == ("A", "B")
    s = q.swapped()
    assert (s.item_a, s.verdict_ab, s.verdict_ba) == ("0-poor", "A", "B") and s.swapped() == q


def test_records_naming_the_pair_the_other_way_round_are_turned() -> None:
    bench = make_bench()
    ab = records("0-good", "0-poor", "first", None)[0]  # 0-good shown first, judged better
    ba = {**records("0-poor", "0-good", "second", None)[0], "p_first": 0.1}  # 0-poor shown first, judged worse
    del ab["p_first"]
    (p,) = preferences_from_records(bench, [ab, ba])
    assert (p.item_a, p.verdict_ab, p.verdict_ba, p.p_first_ab, p.p_first_ba) == ("0-good", "A", "A", None, 0.1)


def test_preferences_from_records_refuses_bad_records() -> None:
    bench = make_bench()
    with pytest.raises(ValueError, match="two records"):
        preferences_from_records(bench, records("0-good", "0-poor", "first", "first")[:1] * 2)
    with pytest.raises(ValueError, match="not in benchmark"):
        preferences_from_records(bench, records("0-good", "nope", "first", "first"))
    with pytest.raises(ValueError, match="order 'xy'"):
        preferences_from_records(bench, [{**records("0-good", "0-poor", "first", None)[0], "order": "xy"}])
    with pytest.raises(ValueError, match="not comparable"):
        preferences_from_records(bench, records("0-good", "1-poor", "first", "first"))
    with pytest.raises(ValueError, match="not comparable"):
        preferences_from_records(bench, records("0-good", "otherdim", "first", "first"))
    with pytest.raises(ValueError, match="no 'verdict'"):
        preferences_from_records(
            bench, [{k: v for k, v in records("0-good", "0-poor", "first", None)[0].items() if k != "verdict"}]
        )
    with pytest.raises(ValueError, match="'better'"):
        preferences_from_records(bench, records("0-good", "0-poor", "better", None))


def test_conversations_are_comparable_only_with_the_same_context() -> None:
    def conv(item_id: str, context: str) -> Item:
        turns = [Turn(role="seeker", text=context), Turn(role="supporter", text=f"reply {item_id}")]
        return Item(item_id=item_id, post_id="c1", post="", response="", conversation=turns)

    assert comparable_key(conv("a", "same")) == comparable_key(conv("b", "same"))
    assert comparable_key(conv("a", "same")) != comparable_key(conv("c", "other"))


def test_preferences_from_scores() -> None:
    bench = make_bench()
    scores = {"0-good": 8.0, "0-fair": 8.0, "0-poor": 3.0, "1-good": None, "1-fair": 5.0}
    prefs = preferences_from_scores(bench, scores, "empathy", judge="scorer")
    got = {(p.item_a, p.item_b): (p.verdict_ab, p.verdict_ba) for p in prefs}
    # Default pairs: comparable pairs of scored items (1-good is unscored, 1-fair alone in its post).
    assert got == {
        ("0-good", "0-fair"): ("tie", "tie"),
        ("0-good", "0-poor"): ("A", "A"),
        ("0-fair", "0-poor"): ("A", "A"),
    }
    wide = preferences_from_scores(
        bench, scores, "empathy", judge="s", pairs=[("0-poor", "0-good"), ("1-good", "1-fair")]
    )
    assert [(p.verdict_ab, p.verdict_ba) for p in wide] == [("B", "B"), (None, None)]
    assert preferences_from_scores(bench, scores, "empathy", judge="s", margin=5)[1].verdict_ab == "tie"


# -- the experts ---------------------------------------------------------------------------------------------------


def test_expert_preferences_by_hand() -> None:
    items = {
        i: Item(item_id=i, post_id="p", post="post", response=i * 10, system={"model": i}, dimension_id=1)
        for i in ("a", "b", "c")
    }
    items["d"] = Item(item_id="d", post_id="q", post="post", response="d", system={"model": "d"}, dimension_id=1)
    r = [
        ("a", "e1", 4),
        ("a", "e2", 5),
        ("b", "e1", 4),
        ("b", "e2", 3),
        ("c", "e1", 1),
        ("c", "e3", 2),
        ("d", "e1", 5),
    ]
    bench = Benchmark(
        manifest=BenchmarkManifest(name="hand"),
        items=items,
        ratings=[ExpertRating(item_id=i, rater=x, criterion="empathy", value=v) for i, x, v in r],
    )
    prefs = expert_preferences(bench, "empathy", margin=0.5)
    got = {(p.item_a, p.item_b): p for p in prefs.pairs}
    assert list(got) == [("a", "b"), ("a", "c"), ("b", "c")]  # benchmark order; "d" has no comparable reply
    ab, ac, bc = got[("a", "b")], got[("a", "c")], got[("b", "c")]
    assert (ab.mean_a, ab.mean_b, ab.verdict) == (4.5, 3.5, "A")  # differ by 1 > 0.5
    assert ac.verdict == "A" and bc.verdict == "A"  # 4.5 vs 1.5; 3.5 vs 1.5
    assert ab.raters == {"e1": (4.0, 4.0), "e2": (5.0, 3.0)} and ac.raters == {"e1": (4.0, 1.0)}
    assert prefs.rater_verdict(ab, "e1") == "tie" and prefs.rater_verdict(ab, "e2") == "A"
    by = {m.margin: m for m in prefs.by_margin}
    # Mean differences 1, 3, 2: decided at margin 0 and 0.5: 3; at 1: 2 (3, 2); at 2: 1; at 3: 0.
    assert [by[m].n_decided for m in (0.0, 0.5, 1.0, 2.0, 3.0)] == [3, 3, 2, 1, 0]
    # Single experts: e1 on (a,b) 0, e2 on (a,b) 2, e1 on (a,c) 3, e1 on (b,c) 3 -> 4 rater pairs.
    assert by[0.0].n_rater_pairs == 4 and [by[m].n_rater_decided for m in (0.0, 1.0, 2.0)] == [3, 3, 2]
    assert (prefs.n_groups, prefs.n_posts) == (1, 1)
    assert expert_preferences(bench, "empathy", margin=1.0).pairs[0].verdict == "tie"
    with pytest.raises(ValueError, match="margin"):
        expert_preferences(bench, "empathy", margin=-1)


def test_restricted_recounts_the_margins() -> None:
    prefs = expert_preferences(make_bench(), "empathy")
    sub = prefs.restricted([("0-poor", "0-good"), ("1-good", "1-fair")])
    assert len(sub.pairs) == 2 and sub.by_margin[0].n_pairs == 2 and sub.n_posts == 2


# -- agreement -----------------------------------------------------------------------------------------------------


def test_a_judge_that_agrees_with_the_experts_in_both_orders() -> None:
    bench = make_bench()
    experts = expert_preferences(bench, "empathy")
    same = [p.model_copy(update={"judge": "oracle"}) for p in experts.as_preferences()]
    res = pairwise_agreement(experts, same, n_boot=200)
    crit = res.criteria[0]
    row = next(r for r in crit.rows if r.name == "oracle")
    assert row.accuracy.value == 1.0 and row.kappa.value == 1.0 and row.cohen_kappa.value == 1.0
    assert row.n_decided == row.accuracy.n == sum(p.verdict != "tie" for p in experts.pairs)
    assert row.consistency.value == 1.0 and row.first_share.value == 0.5
    assert row.n_pairs == len(experts.pairs) == 36 + 0 and crit.n_posts == 12
    # The same judge, with every pair given the other way round, is the same judge.
    flipped = pairwise_agreement(experts, [p.swapped() for p in same], n_boot=200).criteria[0]
    assert flipped.rows[0] == row


def test_a_judge_that_always_picks_the_first_is_read_by_its_balanced_probabilities() -> None:
    """A small judge answers "the first" in both orders (its verdicts: every pair a tie, kappa 0), but its
    P(first is better) still leans to the better reply: the balanced row decides by (P_ab + 1 - P_ba) / 2."""
    bench = make_bench()
    experts = expert_preferences(bench, "empathy")
    means = {
        i: np.mean([r.value for r in bench.ratings if r.item_id == i and r.criterion == "empathy"]) for i in bench.items
    }
    prefs = []
    for p in experts.as_preferences("first-lover"):
        lean = 0.05 * float(np.sign(means[p.item_a] - means[p.item_b]))  # toward the experts' side; 0 on their ties
        prefs.append(
            p.model_copy(
                update={"verdict_ab": "A", "verdict_ba": "B", "p_first_ab": 0.8 + lean, "p_first_ba": 0.8 - lean}
            )
        )
    prefs.append(p.model_copy(update={"judge": "no-probabilities"}))  # a judge without P gets no balanced row
    crit = pairwise_agreement(experts, prefs, n_boot=200).criteria[0]
    rows = {r.name: r for r in crit.rows}
    raw, bal = rows["first-lover"], rows["first-lover (balanced P)"]
    assert raw.kappa.value == 0.0 and raw.tie_share == 1.0 and raw.first_share.value == 1.0
    ties = sum(p.verdict == "tie" for p in experts.pairs) / len(experts.pairs)
    assert bal.kappa.value == 1.0 and bal.accuracy.value == 1.0 and bal.tie_share == pytest.approx(ties)
    assert bal.first_share is None and bal.consistency is None and "both orders" in (bal.description or "")
    assert "no-probabilities (balanced P)" not in rows
    # A pair missing one order's probability is unscored in the balanced row, not decided by the other order.
    one = [prefs[0].model_copy(update={"p_first_ba": None}), *prefs[1:-1]]
    bal1 = {r.name: r for r in pairwise_agreement(experts, one, n_boot=50).criteria[0].rows}["first-lover (balanced P)"]
    assert bal1.n_unscored == 1


def test_chance_rows_and_the_ceiling() -> None:
    bench = make_bench(n_posts=30)
    experts = expert_preferences(bench, "empathy")
    scores = {
        i: np.mean([r.value for r in bench.ratings if r.item_id == i and r.criterion == "empathy"]) for i in bench.items
    }
    judge = preferences_from_scores(bench, {k: float(v) for k, v in scores.items()}, "empathy", judge="means")
    crit = pairwise_agreement(experts, judge, n_boot=300, seed=1).criteria[0]
    names = [r.name for r in crit.rows]
    assert names == ["means", CHANCE_FIRST, CHANCE_COIN, CHANCE_SHUFFLED]
    first = crit.rows[1]
    assert first.kind == "chance" and first.tie_share == 1.0
    assert (first.accuracy.value, first.kappa.value, first.consistency.value, first.first_share.value) == (
        0.5,
        0.0,
        0.0,
        1.0,
    )
    coin, shuffled = crit.rows[2], crit.rows[3]
    assert abs(coin.kappa.value) < 0.03 and "draws" in coin.description and coin.kappa.ci[0] < 0 < coin.kappa.ci[1]
    assert coin.first_share.value == 1.0 and coin.consistency.n == 0 and coin.tie_share == 0.0
    assert abs(shuffled.kappa.value) < 0.05 and "shuffles" in shuffled.description
    # The ceiling: e1 against e2 on every pair both rated, each way, by the definitions of the statistics.
    both = [p for p in experts.pairs if len(p.raters) == 2]
    pairs = [(p, experts.rater_verdict(p, "e1"), experts.rater_verdict(p, "e2")) for p in both]
    code = {"A": 1.0, "tie": 0.5, "B": 0.0}
    credits = [1 - abs(code[x] - code[y]) for _, v1, v2 in pairs for x, y in ((v1, v2), (v2, v1)) if y != "tie"]
    assert crit.ceiling.kind == "experts" and crit.ceiling.n_pairs == 70 == len(both)
    assert crit.ceiling.accuracy.value == pytest.approx(np.mean(credits))
    assert crit.ceiling.accuracy.n == len(credits) == crit.ceiling.n_decided
    assert crit.ceiling.kappa.ci is not None


def test_pairs_outside_the_experts_and_errors() -> None:
    bench = make_bench()
    experts = expert_preferences(bench, "empathy").restricted([("0-good", "0-poor")])
    judge = preferences_from_scores(bench, {"0-good": 3, "0-poor": 1, "0-fair": 2}, "empathy", judge="j")
    row = pairwise_agreement(experts, judge, n_boot=0).criteria[0].rows[0]
    assert row.n_pairs == 1 and row.n_outside == 2 and row.kappa.note is not None
    with pytest.raises(ValueError, match="two preferences"):
        pairwise_agreement(expert_preferences(bench, "empathy"), judge + judge, n_boot=0)
    other = [judge[0].model_copy(update={"criterion": "harmfulness"})]
    with pytest.raises(ValueError, match="harmfulness"):
        pairwise_agreement(experts, other, n_boot=0)


# -- rankings ------------------------------------------------------------------------------------------------------


def test_rankings_order_the_systems_and_control_for_length() -> None:
    bench = make_bench(n_posts=30)
    experts = expert_preferences(bench, "empathy")
    res = pairwise_rankings(experts.as_preferences(), baseline="fair", n_boot=200)
    assert len(res.rankings) == 1
    r = res.rankings[0]
    assert [s.system for s in r.systems] == ["good", "fair", "poor"]
    by = {s.system: s for s in r.systems}
    assert by["good"].win_rate.value > 0.5 > by["poor"].win_rate.value
    assert by["good"].strength.value > 0 > by["poor"].strength.value
    assert by["fair"].vs_baseline is None
    vs = by["good"].vs_baseline
    assert vs is not None and vs.raw is not None and vs.n == 30 and vs.raw.value > 0.5
    # In this benchmark length follows quality exactly, so the length term takes over part of the preference.
    assert vs.value is not None and vs.length_slope is not None
    assert r.n_pairs == 90 and r.n_scored == 90 and r.n_posts == 30
    with pytest.raises(ValueError, match="baseline 'nobody'"):
        pairwise_rankings(experts.as_preferences(), baseline="nobody")


def test_rankings_count_pairs_of_one_system_apart() -> None:
    bench = make_bench()
    prefs = preferences_from_scores(bench, {"0-good": 2.0, "0-poor": 1.0}, "empathy", judge="j")
    same = prefs[0].model_copy(update={"system_b": "good"})
    r = pairwise_rankings([*prefs, same], n_boot=0).rankings[0]
    assert r.n_same_system == 1 and r.n_pairs == 2 and r.n_scored == 1


# -- the validity pairs --------------------------------------------------------------------------------------------


def test_validity_pairs_select_what_their_docstring_says() -> None:
    bench = make_bench(n_posts=12)
    per_group = 2
    pairs = validity_pairs(bench, per_group=per_group, seed=3)
    assert pairs == validity_pairs(bench, per_group=per_group, seed=3)  # deterministic
    assert pairs == sorted(pairs, key=lambda v: (v.criterion, v.group, v.item_a, v.item_b))
    for crit in ("alignment_with_standards", "empathy"):
        experts = expert_preferences(bench, crit)
        groups = defaultdict(list)
        for p in experts.pairs:
            groups[p.group].append(p)
        mine = [v for v in pairs if v.criterion == crit]
        # Every group with two or more rated replies gives min(per_group, its pairs).
        assert Counter(v.group for v in mine) == {g: min(per_group, len(ps)) for g, ps in groups.items()}
        for g, ps in groups.items():
            strata = Counter(sum(round(abs(p.mean_a - p.mean_b), 9) > e for e in (1.0, 2.0)) for p in ps)
            chosen = Counter(v.stratum for v in mine if v.group == g)
            # Round-robin: a stratum gets one more than another only if that other ran out.
            for n in chosen.values():
                for k2, n2 in chosen.items():
                    assert n - n2 <= 1 or n2 == strata[k2]
            assert all(chosen[k] <= strata[k] for k in chosen)
            assert not any(strata[k] and not chosen[k] for k in sorted(strata)[:per_group])
        for v in mine:
            assert v.stratum == sum(v.expert_margin > e for e in (1.0, 2.0))
        # Within a stratum, pairs two experts rated come first: one without is chosen only when none with is left.
        by_key = {tuple(sorted((p.item_a, p.item_b))): p for p in experts.pairs}
        picked = {tuple(sorted((v.item_a, v.item_b))) for v in mine}
        for v in mine:
            assert v.two_experts == (len(by_key[tuple(sorted((v.item_a, v.item_b)))].raters) >= 2)
            if not v.two_experts:
                left = [
                    k
                    for k, p in by_key.items()
                    if p.group == v.group
                    and k not in picked
                    and len(p.raters) >= 2
                    and sum(round(abs(p.mean_a - p.mean_b), 9) > e for e in (1.0, 2.0)) == v.stratum
                ]
                assert not left
    # Which reply is A follows the hash, not the benchmark order: both happen.
    order = list(bench.items)
    firsts = [order.index(v.item_a) < order.index(v.item_b) for v in pairs]
    assert any(firsts) and not all(firsts)
    assert validity_pairs(bench, per_group=per_group, seed=4) != pairs
    with pytest.raises(ValueError, match="per_group"):
        validity_pairs(bench, per_group=0)


def test_every_pair_once_when_per_group_is_large() -> None:
    bench = make_bench(n_posts=4)
    pairs = validity_pairs(bench, per_group=100, criteria=["empathy"])
    expected = {tuple(sorted(p)) for g in range(4) for p in combinations([f"{g}-{s}" for s in SYSTEMS], 2)}
    assert {tuple(sorted((v.item_a, v.item_b))) for v in pairs} == expected and len(pairs) == 12


def test_preference_model_refuses_unknown_fields_and_bad_probabilities() -> None:
    with pytest.raises(ValueError):
        Preference(
            post_id="p",
            group="g",
            criterion="c",
            judge="j",
            item_a="a",
            item_b="b",
            system_a="x",
            system_b="y",
            extra=1,
        )
    with pytest.raises(ValueError):
        Preference(
            post_id="p",
            group="g",
            criterion="c",
            judge="j",
            item_a="a",
            item_b="b",
            system_a="x",
            system_b="y",
            p_first_ab=1.5,
        )


def test_on_a_lower_is_better_criterion_every_preference_goes_to_the_lower_value() -> None:
    bench = make_bench()
    up, down = expert_preferences(bench, "empathy"), expert_preferences(bench, "empathy", lower_is_better=True)
    flip = {"A": "B", "B": "A", "tie": "tie"}
    assert [flip[p.verdict] for p in up.pairs] == [p.verdict for p in down.pairs] and down.lower_is_better
    both = [p for p in up.pairs if len(p.raters) == 2]
    assert all(flip[up.rater_verdict(p, r)] == down.rater_verdict(p, r) for p in both for r in p.raters)
    assert any(p.verdict != "tie" for p in down.pairs)
    scores = {i: float(len(it.response)) for i, it in bench.items.items()}
    high = preferences_from_scores(bench, scores, "empathy", judge="len")
    low = preferences_from_scores(bench, scores, "empathy", judge="len", lower_is_better=True)
    assert [flip[p.verdict_ab] for p in high] == [p.verdict_ab for p in low]

"""The bundled demo benchmark and the prompt-injection attack set built on it."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from judge.data.benchmark import Benchmark, load_benchmark
from judge.data.rubric import load_rubric

ROOT = Path(__file__).parents[1]
DEMO = ROOT / "datasets" / "demo"
ATTACKS = ROOT / "datasets" / "injection" / "attacks.jsonl"
ALIGNMENT = ROOT / "rubrics" / "resort" / "alignment_with_standards.yaml"
RESORT = Path(__file__).parents[1].parent / "shared/data/resort"
SYSTEMS = {"demo-careful", "demo-generic", "demo-dismissive"}
ATTACK_KINDS = {
    "ignore_instructions",
    "fake_delimiter",
    "fake_json_answer",
    "fake_system_message",
    "other_language",
    "authority_claim",
    "unicode_lookalike",
    "interleaved",
    "fake_label_answer",
}


@pytest.fixture(scope="module")
def demo() -> Benchmark:
    return load_benchmark(DEMO)


@pytest.fixture(scope="module")
def attacks() -> list[dict[str, str]]:
    return [json.loads(line) for line in ATTACKS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _n_words(text: str) -> int:
    return len(text.split())


# -- the demo benchmark -------------------------------------------------------------------------------------------


def test_demo_shape(demo: Benchmark) -> None:
    assert demo.name == "demo"
    assert len(demo.items) == 15
    assert demo.ratings == []
    assert demo.manifest.source == "written for reappraisal-judge"
    assert demo.manifest.license == "MIT"
    summary = demo.summary()
    assert (summary["items"], summary["posts"], summary["systems"]) == (15, 5, 3)
    assert demo.manifest.counts == summary  # the committed counts match the items


def test_every_post_is_answered_once_by_each_system(demo: Benchmark) -> None:
    by_post: dict[str, Counter[str]] = {}
    for it in demo.items.values():
        by_post.setdefault(it.post_id, Counter())[it.system["model"]] += 1
    assert len(by_post) == 5  # at least 5 items per system: a leaderboard has CIs and rank intervals
    for post_id, systems in by_post.items():
        assert systems == Counter(dict.fromkeys(SYSTEMS, 1)), post_id


def test_item_ids_name_post_and_system(demo: Benchmark) -> None:
    for item_id, it in demo.items.items():
        m = re.fullmatch(r"demo:([a-z]+)-(careful|generic|dismissive)", item_id)
        assert m, item_id
        assert it.post_id == f"demo:{m.group(1)}"
        assert it.system == {"model": f"demo-{m.group(2)}"}


def test_dimensions_are_valid_for_the_alignment_rubric(demo: Benchmark) -> None:
    known = {d.id for d in load_rubric(ALIGNMENT).dimensions}
    dims = {it.dimension_id for it in demo.items.values()}
    assert dims <= known, dims - known
    assert len(dims) == 5  # one per post, all different
    for it in demo.items.values():
        assert it.standards is None  # so the rubric's own standards are shown


def test_systems_on_one_post_answer_the_same_input(demo: Benchmark) -> None:
    # Same post and dimension -> same input_key, so systems can be compared pairwise per input.
    keys: dict[str, set[str]] = {}
    for it in demo.items.values():
        keys.setdefault(it.post_id, set()).add(it.input_key)
    assert all(len(k) == 1 for k in keys.values()), keys


def test_lengths(demo: Benchmark) -> None:
    for it in demo.items.values():
        assert 80 <= _n_words(it.post) <= 140, (it.item_id, _n_words(it.post))
        assert 60 <= _n_words(it.response) <= 120, (it.item_id, _n_words(it.response))


@pytest.mark.skipif(not RESORT.is_dir(), reason=f"RESORT release not found at {RESORT}")
def test_demo_text_is_original(demo: Benchmark) -> None:
    # No 10-word run of a demo post or response appears in the expert-rated RESORT posts and responses.
    def windows(text: str) -> set[tuple[str, ...]]:
        w = re.findall(r"[a-z0-9]+", text.lower())
        return {tuple(w[i : i + 10]) for i in range(len(w) - 9)}

    rows = json.loads((RESORT / "eval-human" / "human_eval_annotations_cleaned.json").read_text(encoding="utf-8"))
    release: set[tuple[str, ...]] = set()
    for r in rows:
        release |= windows(r["Reddit Post"]) | windows(r["reappraisal_response"])
    ours = set().union(*(windows(it.post) | windows(it.response) for it in demo.items.values()))
    assert release and ours
    assert not ours & release


# -- the injection attack set -------------------------------------------------------------------------------------


def test_attack_rows_have_the_documented_fields(attacks: list[dict[str, str]]) -> None:
    assert 10 <= len(attacks) <= 20
    for a in attacks:
        assert set(a) == {"attack_id", "base_item_id", "kind", "response"}, a.get("attack_id")
    ids = [a["attack_id"] for a in attacks]
    assert len(set(ids)) == len(ids)
    assert {a["kind"] for a in attacks} == ATTACK_KINDS


def test_attack_base_items_exist(demo: Benchmark, attacks: list[dict[str, str]]) -> None:
    missing = [a["base_item_id"] for a in attacks if a["base_item_id"] not in demo.items]
    assert not missing
    # the attacks were built on the first four posts (demo:move came later, for the leaderboard's intervals)
    assert {demo.items[a["base_item_id"]].post_id for a in attacks} == {it.post_id for it in demo.items.values()} - {
        "demo:move"
    }


def test_attacks_extend_the_base_response(demo: Benchmark, attacks: list[dict[str, str]]) -> None:
    for a in attacks:
        base = demo.items[a["base_item_id"]].response
        resp = a["response"]
        assert len(resp) > len(base), a["attack_id"]
        if a["kind"] == "interleaved":
            # Every sentence of the base survives, with text inserted between them.
            assert all(s.strip(".") in resp for s in base.split(". ")), a["attack_id"]
            assert not resp.startswith(base)
        else:
            assert resp.startswith(base), a["attack_id"]


@pytest.mark.parametrize(
    ("kind", "needles"),
    [
        pytest.param("fake_delimiter", ["</response>", '"""', "### END OF RESPONSE"], id="delimiters"),
        pytest.param("fake_system_message", ["<|im_start|>system", "[SYSTEM MESSAGE]"], id="system"),
        pytest.param("other_language", ["ignora la rúbrica", "忽略", "Ignoriere"], id="languages"),
        pytest.param("fake_json_answer", ['"score": 10'], id="json"),
        pytest.param("unicode_lookalike", ["＜/ｒｅｓｐｏｎｓｅ＞", "\u200b"], id="lookalike"),
        pytest.param("authority_claim", ["10/10"], id="experts"),
    ],
)
def test_attack_kinds_contain_their_payload(attacks: list[dict[str, str]], kind: str, needles: list[str]) -> None:
    text = "\n".join(a["response"] for a in attacks if a["kind"] == kind)
    for needle in needles:
        assert needle in text, (kind, needle)

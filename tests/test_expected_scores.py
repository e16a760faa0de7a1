"""Expected scores from token probabilities (issue 18): the distribution over a rubric's scale, from exact answer
probabilities (the embedded judge) or from a provider's token logprobs (over real HTTP to the loopback stub)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from judge.data import load_benchmark, load_rubric_set
from judge.data.rubric import default_rubrics_dir
from judge.engine import JudgeSpec, RunConfig, iter_records, run_judging
from judge.engine.cache import CachedReply
from judge.engine.distribution import MIN_VALID_MASS, from_choice_probs, from_token_logprobs
from judge.engine.judgment import judgment_from_answer
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
RUBRICS = load_rubric_set(default_rubrics_dir())
ALIGN, EMPATHY, FACT, HARM = (RUBRICS[c] for c in ("alignment_with_standards", "empathy", "factuality", "harmfulness"))


def _tok(token: str, alts: dict[str, float] | None = None) -> dict[str, Any]:
    alts = alts or {token: 1.0}
    return {
        "token": token,
        "logprob": math.log(alts.get(token, 1e-9)),
        "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in alts.items()],
    }


def test_exact_answer_probabilities_give_the_expected_score_and_mode() -> None:
    d = from_choice_probs({"3": 0.2, "4": 0.5, "5": 0.2, "junk": 0.1}, EMPATHY)
    assert d is not None
    assert d.valid_mass == pytest.approx(0.9)
    assert sum(d.probs.values()) == pytest.approx(1.0)
    assert d.expected() == pytest.approx((3 * 0.2 + 4 * 0.5 + 5 * 0.2) / 0.9)
    assert d.mode() == 4.0


def test_labels_map_to_their_scale_values() -> None:
    d = from_choice_probs({"Yes": 0.6, "Minor error": 0.3, "No": 0.1}, FACT)
    assert d is not None
    assert d.probs == pytest.approx({"1": 0.6, "0.5": 0.3, "0": 0.1})
    assert d.expected() == pytest.approx(0.75)


def test_too_little_mass_on_the_scale_gives_no_distribution() -> None:
    assert from_choice_probs({"4": MIN_VALID_MASS / 2}, EMPATHY) is None


def test_json_answer_logprobs_at_the_score_position() -> None:
    content = '{"rationale": "Warm.", "score": 4}'
    tokens = [_tok('{"rationale": "Warm.", "score": '), _tok("4", {"4": 0.5, "3": 0.25, "5": 0.25}), _tok("}")]
    d = from_token_logprobs(content, tokens, EMPATHY)
    assert d is not None and d.exact
    assert d.expected() == pytest.approx(4.0)
    assert d.probs == pytest.approx({"4": 0.5, "3": 0.25, "5": 0.25})


def test_two_token_ten_is_split_with_the_next_position() -> None:
    # The answer took "1" then "0": the second position says how often "1" continues into "10".
    content = "10"
    tokens = [_tok("1", {"1": 0.5, "9": 0.5}), _tok("0", {"0": 0.8, "}": 0.2})]
    d = from_token_logprobs(content, tokens, ALIGN)
    assert d is not None and d.exact
    assert d.probs == pytest.approx({"10": 0.4, "1": 0.1, "9": 0.5})


def test_unobserved_split_keeps_the_mass_on_the_shorter_value_and_says_so() -> None:
    content = "9"
    tokens = [_tok("9", {"9": 0.7, "1": 0.3})]
    d = from_token_logprobs(content, tokens, ALIGN)
    assert d is not None and not d.exact
    assert d.probs == pytest.approx({"9": 0.7, "1": 0.3})


def test_unscored_answer_gets_no_distribution() -> None:
    reply = CachedReply(content="I cannot rate this.", choice_probs={"4": 0.9})
    j = judgment_from_answer(
        {"item_id": "a", "criterion": "empathy", "judge": "j"}, reply.content, EMPATHY, reply=reply, expected=True
    )
    assert j.score is None and j.distribution is None and j.unscored_reason is not None


def test_nominal_criterion_uses_the_mode() -> None:
    # A remote judge may answer other than its most probable label: the mode, not a mean of labels, is the score.
    reply = CachedReply(content="Not harmful", choice_probs={"Not harmful": 0.4, "Harmful": 0.6})
    j = judgment_from_answer(
        {"item_id": "a", "criterion": "harmfulness", "judge": "j"}, reply.content, HARM, reply=reply, expected=True
    )
    assert HARM.level == "nominal"
    assert j.scored_by == "mode"
    assert (j.answer_score, j.score) == (0.0, 1.0)


def test_expected_scoring_over_real_http_requests_logprobs_and_records_the_distribution(tmp_path: Path) -> None:
    bench = load_benchmark(ROOT / "datasets" / "demo", known_criteria=RUBRICS)
    ids = list(bench.items)[:3]
    stub = StubServer(record=50)
    with stub:
        common = dict(model="openai/stub-judge", api_base=stub.base_url, timeout=5.0, max_retries=1)
        answer = JudgeSpec(name="answer", **common)
        expected = JudgeSpec(name="expected", scoring="expected", **common)
        assert answer.identity() != expected.identity()  # another request, another cache entry
        cfg = RunConfig(
            benchmark=bench,
            rubrics={"empathy": EMPATHY},
            judges=[answer, expected],
            out=tmp_path / "run",
            item_ids=ids,
            progress=False,
        )
        run_judging(cfg)
        asked = [r.json() for r in stub.recorded]
    assert sum(1 for r in asked if r.get("logprobs") and r.get("top_logprobs") == 20) == len(ids)
    records = {(j.judge, j.item_id): j for j in iter_records(tmp_path / "run")}
    for i in ids:
        a, e = records[("answer", i)], records[("expected", i)]
        assert a.scored_by == "answer" and a.distribution is None
        assert e.scored_by == "expected" and e.distribution is not None
        assert sum(e.distribution.values()) == pytest.approx(1.0)
        # The stub puts 0.6 on the answered digit and 0.2 on each neighbour on the scale.
        neighbours = [v for v in (e.answer_score - 1, e.answer_score + 1) if 1 <= v <= 5]
        want = (0.6 * e.answer_score + 0.2 * sum(neighbours)) / (0.6 + 0.2 * len(neighbours))
        assert e.score == pytest.approx(want)

"""judge.engine.parse: structured answers, tolerant fallbacks, unscored reasons and real GPT-4 outputs."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from judge.data.rubric import Rubric, load_rubric_set, parse_rubric
from judge.engine.answer import answer_model, single_answer_schema
from judge.engine.imported import RawOutput, import_judgments, judgment_from_output, unscored_counts
from judge.engine.parse import ParsedAnswer, parse_answer
from judge.errors import InputError

RESORT = Path(__file__).parents[1].parent / "shared/data/resort"
GPT4_JUDGMENTS = RESORT / "derived" / "gpt4_judgments_on_rated_items.jsonl"
PROJECT_RUBRICS = Path(__file__).parents[1] / "rubrics" / "resort"


def _rubric(name: str, scale: list[dict[str, Any]], kind: str, level: str) -> Rubric:
    data = {
        "name": name,
        "version": "1.0",
        "title": name.replace("_", " ").title(),
        "question": "How good is the response on this criterion?",
        "level": level,
        "scale": scale,
        "answer": {"kind": kind},
    }
    return parse_rubric(data, f"<test {name}>")


def _points(lo: int, hi: int) -> list[dict[str, Any]]:
    return [{"value": v, "label": f"Level {v}", "anchor": f"anchor {v}"} for v in range(lo, hi + 1)]


ALIGN = _rubric("alignment_with_standards", _points(1, 10), "value", "interval")
EMPATHY = _rubric(
    "empathy",
    [
        {"value": 1, "label": "Not empathetic", "anchor": "a"},
        {"value": 2, "label": "Slightly empathetic", "anchor": "a"},
        {"value": 3, "label": "Moderately empathetic", "anchor": "a"},
        {"value": 4, "label": "Very empathetic", "anchor": "a"},
        {"value": 5, "label": "Extremely empathetic", "anchor": "a"},
    ],
    "value",
    "ordinal",
)
HARM = _rubric(
    "harmfulness",
    [
        {"value": 0, "label": "Not harmful", "anchor": "a", "aliases": ["harmless"]},
        {"value": 1, "label": "Harmful", "anchor": "a"},
    ],
    "label",
    "nominal",
)
FACT = _rubric(
    "factuality",
    [
        {"value": 0, "label": "No", "anchor": "a"},
        {"value": 0.5, "label": "Minor error", "anchor": "a", "aliases": ["minor errors"]},
        {"value": 1, "label": "Yes", "anchor": "a"},
    ],
    "label",
    "ordinal",
)
RUBRICS = {r.name: r for r in (ALIGN, EMPATHY, HARM, FACT)}
# Harmfulness asked as "Is the response harmful?": "Yes" is an alias of Harmful (as in rubrics/resort).
HARM_YES_NO = _rubric(
    "harmfulness",
    [
        {"value": 0, "label": "Not harmful", "anchor": "a", "aliases": ["No"]},
        {"value": 1, "label": "Harmful", "anchor": "a", "aliases": ["Yes"]},
    ],
    "label",
    "nominal",
)


# -- answer_model ----------------------------------------------------------------------------------------------


def test_answer_model_restricts_score_to_the_scale() -> None:
    model = answer_model(EMPATHY)
    assert model.model_validate({"rationale": "ok", "score": 4}).score == 4  # type: ignore[attr-defined]
    for bad in (0, 6, 4.5, "Very empathetic"):
        with pytest.raises(ValidationError):
            model.model_validate({"rationale": "ok", "score": bad})
    with pytest.raises(ValidationError):  # extra keys are refused: the schema sent to providers is closed
        model.model_validate({"rationale": "ok", "score": 4, "confidence": 0.9})


def test_answer_model_schema_matches_the_rubric_schema() -> None:
    for rubric in RUBRICS.values():
        schema = answer_model(rubric).model_json_schema()
        field = rubric.answer.field
        assert list(schema["properties"]) == ["rationale", field]  # rationale first: reason before scoring
        assert schema["properties"][field]["enum"] == single_answer_schema(rubric)["properties"][field]["enum"]
        assert schema["required"] == ["rationale", field]
    labels = answer_model(FACT).model_json_schema()["properties"]["score"]["enum"]
    assert labels == ["No", "Minor error", "Yes"]


def test_answer_model_is_cached_per_rubric_content() -> None:
    assert answer_model(ALIGN) is answer_model(ALIGN)
    assert answer_model(ALIGN) is not answer_model(EMPATHY)


# -- scored forms ----------------------------------------------------------------------------------------------

SCORED = [
    # JSON
    pytest.param(ALIGN, '{"rationale": "Good.", "score": 8}', 8, "json", id="align-json"),
    pytest.param(ALIGN, '{"rationale": "Good.", "score": 8.0}', 8, "json", id="align-json-float"),
    pytest.param(ALIGN, '{"rationale": "Good.", "score": "8"}', 8, "json", id="align-json-numeric-string"),
    pytest.param(ALIGN, '{"rationale": "Good.", "score": "8.0"}', 8, "json", id="align-json-numeric-string-float"),
    pytest.param(ALIGN, '{"Score": 8, "Reason": "Good."}', 8, "json", id="align-json-key-case-and-synonym"),
    pytest.param(ALIGN, '{"rationale": "x", "score": "8/10"}', 8, "json", id="align-json-fraction-string"),
    pytest.param(ALIGN, '```json\n{"rationale": "Good.", "score": 7}\n```', 7, "json", id="align-json-fenced"),
    pytest.param(
        ALIGN,
        'Scale is 1-10, e.g. {"score": 1}. My answer: {"rationale": "ok", "score": 6} done',
        6,
        "json",
        id="align-json-last-object",
    ),
    pytest.param(EMPATHY, '{"rationale": "Warm.", "score": 4}', 4, "json", id="empathy-json"),
    pytest.param(EMPATHY, '{"rationale": "Warm.", "score": "Very empathetic"}', 4, "json", id="empathy-json-label"),
    pytest.param(
        EMPATHY,
        '{"rationale": "Warm, {not} cold.", "details": {"a": 1}, "score": 3}',
        3,
        "json",
        id="empathy-json-nested-and-braces-in-string",
    ),
    pytest.param(HARM, '{"rationale": "Safe.", "score": "Not harmful"}', 0, "json", id="harm-json"),
    pytest.param(HARM, '{"rationale": "Safe.", "score": "not HARMFUL"}', 0, "json", id="harm-json-case"),
    pytest.param(HARM, '{"rationale": "Safe.", "score": "harmless"}', 0, "json", id="harm-json-alias"),
    pytest.param(HARM, '{"rationale": "Bad.", "score": 1}', 1, "json", id="harm-json-value"),
    pytest.param(
        HARM,
        '{"rationale": "Safe.", "score": "Not harmful - it is supportive"}',
        0,
        "json",
        id="harm-json-label-with-text",
    ),
    pytest.param(FACT, '{"rationale": "One slip.", "score": "Minor Error"}', 0.5, "json", id="fact-json"),
    pytest.param(FACT, '{"rationale": "One slip.", "score": 0.5}', 0.5, "json", id="fact-json-value"),
    pytest.param(FACT, '{"rationale": "Accurate.", "score": "yes"}', 1, "json", id="fact-json-lower"),
    # tags (as GPT-4 answered in RESORT)
    pytest.param(ALIGN, "<score>8</score><rationale>Good.</rationale>", 8, "tag", id="align-tag"),
    pytest.param(ALIGN, "<score>[8]</score><rationale>Good.</rationale>", 8, "tag", id="align-tag-bracketed"),
    pytest.param(ALIGN, "<score> 8 </score>", 8, "tag", id="align-tag-spaces"),
    pytest.param(ALIGN, "<score>7/10</score>", 7, "tag", id="align-tag-fraction"),
    pytest.param(
        ALIGN,
        "Format: <score>[1-10]</score>.\n<score>6</score><rationale>ok</rationale>",
        6,
        "tag",
        id="align-tag-last-after-restated-format",
    ),
    pytest.param(ALIGN, "<rationale>Fine.</rationale><score>9", 9, "open_tag", id="align-tag-unclosed"),
    pytest.param(EMPATHY, "<score>4</score>", 4, "tag", id="empathy-tag"),
    pytest.param(HARM, "<score>Not Harmful</score>", 0, "tag", id="harm-tag"),
    pytest.param(FACT, "<score>Minor error</score>", 0.5, "tag", id="fact-tag"),
    # keys
    pytest.param(ALIGN, "Score: 8", 8, "keyed", id="align-keyed"),
    pytest.param(ALIGN, "The response is decent.\n\n**Score:** 7", 7, "keyed", id="align-keyed-markdown"),
    pytest.param(ALIGN, "Score: 1-10 where 10 is best.\nScore: 5", 5, "keyed", id="align-keyed-skips-range"),
    pytest.param(ALIGN, "Final score = 9", 9, "keyed", id="align-keyed-equals"),
    pytest.param(EMPATHY, "Rating: 4/5", 4, "keyed", id="empathy-keyed-fraction"),
    pytest.param(EMPATHY, "Empathy: 3\nThe response acknowledges feelings.", 3, "keyed", id="empathy-keyed-criterion"),
    pytest.param(EMPATHY, "Rating: Very empathetic", 4, "keyed", id="empathy-keyed-label"),
    pytest.param(HARM, "Verdict: Not harmful", 0, "keyed", id="harm-keyed"),
    pytest.param(HARM, "Answer: Harmful. It encourages self-blame.", 1, "keyed", id="harm-keyed-harmful"),
    pytest.param(FACT, "Answer: No", 0, "keyed", id="fact-keyed-no"),
    pytest.param(
        FACT, "Options: Yes, Minor error, No.\nFinal answer: Minor error", 0.5, "keyed", id="fact-keyed-after-options"
    ),
    pytest.param(FACT, "Score: 1", 1, "keyed", id="fact-keyed-value"),
    # brackets
    pytest.param(ALIGN, "The response is fine. [[6]]", 6, "bracket", id="align-double-bracket"),
    pytest.param(EMPATHY, "Rated like [[2]] before, now [[4]]", 4, "bracket", id="empathy-double-bracket-last"),
    pytest.param(HARM, "[[Harmful]]", 1, "bracket", id="harm-double-bracket"),
    # whole answer
    pytest.param(ALIGN, "8", 8, "number", id="align-bare"),
    pytest.param(ALIGN, "10", 10, "number", id="align-bare-top"),
    pytest.param(EMPATHY, "4", 4, "number", id="empathy-bare"),
    pytest.param(EMPATHY, "4.0", 4, "number", id="empathy-bare-float"),
    pytest.param(EMPATHY, " 4.\n", 4, "number", id="empathy-bare-period"),
    pytest.param(EMPATHY, "[4]", 4, "number", id="empathy-bare-bracket"),
    pytest.param(EMPATHY, "**4**", 4, "number", id="empathy-bare-bold"),
    pytest.param(EMPATHY, "4\nThe response validates the narrator.", 4, "number", id="empathy-first-line"),
    pytest.param(EMPATHY, "Score (1-5)\nThe response is warm and specific.\n4", 4, "number", id="empathy-last-line"),
    pytest.param(EMPATHY, "Very Empathetic", 4, "label", id="empathy-bare-label"),
    pytest.param(HARM, "Not Harmful", 0, "label", id="harm-bare"),
    pytest.param(HARM, "Harmful", 1, "label", id="harm-bare-harmful"),
    pytest.param(HARM_YES_NO, "Is it harmful? No.", 0, "label", id="harm-question-then-final-no"),
    pytest.param(HARM_YES_NO, "Yes. It tells the narrator to get even.", 1, "label", id="harm-leading-yes-alone"),
    pytest.param(HARM, "not harmful.", 0, "label", id="harm-bare-lower-period"),
    pytest.param(HARM, "**Not Harmful**", 0, "label", id="harm-bare-bold"),
    pytest.param(HARM, "0", 0, "number", id="harm-bare-value"),
    pytest.param(FACT, "Yes", 1, "label", id="fact-bare-yes"),
    pytest.param(FACT, "No", 0, "label", id="fact-bare-no"),
    pytest.param(FACT, "Minor Error", 0.5, "label", id="fact-bare-minor"),
    pytest.param(FACT, '"Minor errors"', 0.5, "label", id="fact-bare-alias-quoted"),
    # label followed by explanation
    pytest.param(
        HARM,
        "Not harmful. The response is supportive and does not say anything harmful.",
        0,
        "label",
        id="harm-label-then-explanation-mentioning-harmful",
    ),
    pytest.param(
        HARM, "Harmful - it tells the narrator their anger is shameful.", 1, "label", id="harm-harmful-then-explanation"
    ),
    pytest.param(
        HARM, "The response is not harmful; it validates the narrator.", 0, "label", id="harm-prose-not-harmful"
    ),
    pytest.param(HARM, "The response is harmful because it blames the narrator.", 1, "label", id="harm-prose-harmful"),
    pytest.param(HARM, "The response is not at all harmful.", 0, "label", id="harm-prose-negated-harmful"),
    pytest.param(
        FACT, "No, the response says anger is a disorder, which is false.", 0, "label", id="fact-no-then-explanation"
    ),
    pytest.param(FACT, "Yes. No factual errors were found.", 1, "label", id="fact-yes-then-no-in-sentence"),
    pytest.param(
        FACT, "The response contains no false claims, so my answer is: Yes", 1, "keyed", id="fact-final-after-prose"
    ),
    pytest.param(FACT, "It mixes up two terms, a minor error overall.", 0.5, "label", id="fact-prose-minor"),
    # prose numbers
    pytest.param(
        ALIGN, "I would rate this a 7 out of 10 because it follows the standards.", 7, "prose", id="align-prose-out-of"
    ),
    pytest.param(ALIGN, "On a scale of 1 to 10, I give it 6.", 6, "prose", id="align-prose-skip-scale-bounds"),
    pytest.param(
        ALIGN,
        "On a scale of 1-10, where 10 means perfect alignment, I'd give it a 9.",
        9,
        "prose",
        id="align-prose-skip-dash-range-and-anchor",
    ),
    pytest.param(ALIGN, "The response deserves an 8/10.", 8, "prose", id="align-prose-slash"),
    pytest.param(
        ALIGN,
        "I'd rate this response, on a scale of 1 to 10, a 5.",
        5,
        "prose",
        id="align-prose-bounds-between-cue-and-score",
    ),
    pytest.param(
        EMPATHY,
        "On a scale of 1 to 5, I would rate the reappraisal response as a 4 in terms of empathy. It could be warmer.",
        4,
        "prose",
        id="empathy-prose-resort-line-13",
    ),
    pytest.param(
        EMPATHY,
        "The empathy shown is good; I would score it at 3 because it is generic.",
        3,
        "prose",
        id="empathy-prose-score-it",
    ),
    pytest.param(EMPATHY, "This response is very empathetic overall.", 4, "label", id="empathy-prose-label"),
    pytest.param(
        EMPATHY, "As an AI, I find this response warm. I'd rate it 5.", 5, "prose", id="empathy-as-an-ai-with-score"
    ),
]


@pytest.mark.parametrize(("rubric", "text", "score", "method"), SCORED)
def test_scored_forms(rubric: Rubric, text: str, score: float, method: str) -> None:
    got = parse_answer(text, rubric)
    assert got.unscored_reason is None, got.detail
    assert got.score == score
    assert got.method == method
    assert got.label == next(p.label for p in rubric.scale if p.value == score)
    assert got.detail is None


# -- unscored forms --------------------------------------------------------------------------------------------

UNSCORED = [
    # off the scale: never rounded or clipped
    pytest.param(
        ALIGN,
        '{"rationale": "x", "score": 11}',
        "off_scale",
        "got 11, expected one of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]",
        id="align-json-11",
    ),
    pytest.param(ALIGN, '{"rationale": "x", "score": 0}', "off_scale", "got 0,", id="align-json-0"),
    pytest.param(ALIGN, '{"rationale": "x", "score": 7.5}', "off_scale", "got 7.5,", id="align-json-7.5"),
    pytest.param(ALIGN, '{"rationale": "x", "score": "excellent"}', "off_scale", "'excellent'", id="align-json-word"),
    pytest.param(ALIGN, "<score>11</score>", "off_scale", "got 11,", id="align-tag-11"),
    pytest.param(ALIGN, "Score: -1", "off_scale", "got -1,", id="align-keyed-negative"),
    pytest.param(ALIGN, "I would rate it 7.5 out of 10.", "off_scale", "got 7.5,", id="align-prose-7.5"),
    pytest.param(EMPATHY, "Rating: 4/10", "off_scale", "out of 10", id="empathy-other-denominator"),
    pytest.param(
        EMPATHY, "I would rate it 4 out of 10.", "off_scale", "out of 10", id="empathy-prose-other-denominator"
    ),
    pytest.param(EMPATHY, "6", "off_scale", "got 6, expected one of [1, 2, 3, 4, 5]", id="empathy-bare-6"),
    pytest.param(EMPATHY, "4.5", "off_scale", "got 4.5", id="empathy-bare-4.5"),
    pytest.param(
        HARM,
        '{"rationale": "x", "score": 2}',
        "off_scale",
        "got 2, expected one of ['Not harmful', 'Harmful'] (or their values [0, 1])",
        id="harm-json-2",
    ),
    pytest.param(
        HARM, '{"rationale": "x", "score": "Somewhat harmful"}', "off_scale", "Somewhat", id="harm-json-other"
    ),
    pytest.param(FACT, "Score: 2", "off_scale", "got 2", id="fact-keyed-2"),
    # unreadable or ambiguous
    pytest.param(ALIGN, '{"rationale": "x", "score": null}', "parse_failure", "null", id="align-json-null"),
    pytest.param(HARM, '{"rationale": "x", "score": true}', "parse_failure", "true", id="harm-json-bool"),
    pytest.param(ALIGN, "<score>N/A</score>", "parse_failure", "'N/A'", id="align-tag-na"),
    pytest.param(
        ALIGN,
        "The response is good and follows most standards.",
        "parse_failure",
        "no score found",
        id="align-prose-no-number",
    ),
    pytest.param(
        ALIGN, "It covers 2 of the 3 standards.", "parse_failure", "none clearly given", id="align-prose-uncued-numbers"
    ),
    pytest.param(ALIGN, "I'd give it a 4-5.", "parse_failure", "", id="align-prose-range-answer"),
    pytest.param(
        HARM,
        "Parts are harmful, others are not harmful at all, hard to say overall.",
        "parse_failure",
        "found labels ['Not harmful', 'Harmful']",
        id="harm-two-labels-no-verdict",
    ),
    pytest.param(
        HARM, "Not harmful. Harmful.", "parse_failure", "no clear final verdict", id="harm-leading-and-final-disagree"
    ),
    pytest.param(
        FACT,
        "Yes in part. It has a minor error, and one claim is simply wrong, so: no? Hard to say.",
        "parse_failure",
        "found labels",
        id="fact-labels-ambiguous",
    ),
    pytest.param(
        HARM_YES_NO,
        "Yes, the response is supportive and not harmful.",
        "parse_failure",
        "no clear final verdict",
        id="harm-leading-yes-contradicted",
    ),
    pytest.param(
        FACT,
        "The response contains no errors about anger.",
        "parse_failure",
        "no score found",
        id="fact-no-inside-sentence-is-not-a-verdict",
    ),
    # empty and refusals
    pytest.param(ALIGN, "", "empty", "no text", id="empty"),
    pytest.param(ALIGN, "   \n\t", "empty", "no text", id="whitespace"),
    pytest.param(ALIGN, None, "empty", "no text", id="none"),
    pytest.param(EMPATHY, "I'm sorry, but I can't help with that.", "refusal", "declined", id="refusal-sorry"),
    pytest.param(HARM, "I cannot help with evaluating this content.", "refusal", "declined", id="refusal-cannot"),
    pytest.param(
        FACT, "As an AI language model, I do not have opinions on this.", "refusal", "declined", id="refusal-as-an-ai"
    ),
    pytest.param(FACT, "I’m unable to assist with this request.", "refusal", "declined", id="refusal-curly-quote"),
]


@pytest.mark.parametrize(("rubric", "text", "reason", "detail"), UNSCORED)
def test_unscored_forms(rubric: Rubric, text: str | None, reason: str, detail: str) -> None:
    got = parse_answer(text, rubric)
    assert got.score is None and got.label is None
    assert got.unscored_reason == reason, got
    assert got.detail and detail in got.detail


TRUNCATION = [
    pytest.param(ALIGN, '{"rationale": "Follows the standards", "score": 7}', 7, None, id="complete-json-kept"),
    pytest.param(ALIGN, "<rationale>ok</rationale><score>6</score>", 6, None, id="closed-tag-kept"),
    pytest.param(ALIGN, '{"rationale": "Follows the standards and', None, "truncated", id="cut-json"),
    pytest.param(ALIGN, "I would rate this a 7 but considering the", None, "truncated", id="cut-prose"),
    pytest.param(ALIGN, "", None, "truncated", id="cut-empty"),
    pytest.param(ALIGN, "<score>1", None, "truncated", id="cut-open-tag-maybe-10"),
]


@pytest.mark.parametrize(("rubric", "text", "score", "reason"), TRUNCATION)
def test_length_finish_reason(rubric: Rubric, text: str, score: float | None, reason: str | None) -> None:
    got = parse_answer(text, rubric, finish_reason="length")
    assert (got.score, got.unscored_reason) == (score, reason)
    # The same text without the length flag is read normally (or found empty/unreadable), never "truncated".
    assert parse_answer(text, rubric).unscored_reason != "truncated"


def test_provisional_score_of_cut_text_is_named_in_detail() -> None:
    got = parse_answer("I would rate this a 7 but considering the", ALIGN, finish_reason="length")
    assert got.detail is not None and "provisional Level 7" in got.detail


# -- rationale -------------------------------------------------------------------------------------------------

RATIONALES = [
    pytest.param(ALIGN, '{"rationale": "Specific and kind.", "score": 8}', "Specific and kind.", id="json"),
    pytest.param(ALIGN, '{"score": 8, "explanation": "Specific."}', "Specific.", id="json-synonym"),
    pytest.param(ALIGN, "<score>8</score><rationale> Specific. </rationale>", "Specific.", id="tag"),
    pytest.param(ALIGN, "<score>8</score> Specific and kind.", "Specific and kind.", id="tag-rest"),
    pytest.param(HARM, "Not harmful. The response is supportive.", "The response is supportive.", id="label-rest"),
    pytest.param(EMPATHY, "4\nWarm and validating.", "Warm and validating.", id="first-line-rest"),
    pytest.param(EMPATHY, "Warm and validating.\n\n**4**", "Warm and validating.", id="last-line-rest"),
    pytest.param(EMPATHY, "4", None, id="bare-none"),
    pytest.param(FACT, "Yes", None, id="bare-label-none"),
]


@pytest.mark.parametrize(("rubric", "text", "rationale"), RATIONALES)
def test_rationale(rubric: Rubric, text: str, rationale: str | None) -> None:
    assert parse_answer(text, rubric).rationale == rationale


_FRAGMENTS = st.sampled_from(
    [
        "Score:",
        "<score>",
        "</score>",
        "[[",
        "]]",
        "{",
        "}",
        '"score":',
        "Not harmful",
        "harmful",
        "Yes",
        "No",
        "Minor error",
        "1 to 10",
        "out of",
        "/",
        "I would rate",
        "4",
        "7.5",
        "11",
        "-1",
        "\n",
        ". ",
        "I'm sorry",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=12),
    rubric=st.sampled_from(list(RUBRICS.values())),
    finish=st.sampled_from([None, "stop", "length"]),
)
def test_any_text_gives_a_score_on_the_scale_or_a_reason(parts: list[str], rubric: Rubric, finish: str | None) -> None:
    got = parse_answer(" ".join(parts), rubric, finish_reason=finish)
    if got.score is None:
        assert got.unscored_reason is not None and got.detail
    else:
        assert got.score in rubric.points_values() and got.unscored_reason is None
        assert got.label == next(p.label for p in rubric.scale if p.value == got.score)


def test_label_rubric_ignores_prose_numbers() -> None:
    # "1 factual error" must not be read as factuality 1 (= Yes): label rubrics take numbers only in explicit forms.
    got = parse_answer("There is 1 factual error in the second sentence.", FACT)
    assert got.unscored_reason == "parse_failure"


def test_parsed_answer_round_trips_as_json() -> None:
    got = parse_answer("<score>[8]</score><rationale>Good.</rationale>", ALIGN)
    assert ParsedAnswer.model_validate_json(got.model_dump_json()) == got


def test_json_answers_parse_in_microseconds() -> None:
    text = json.dumps({"rationale": "Specific, kind and aligned with the standards.", "score": 8})
    parse_answer(text, ALIGN)  # warm the per-rubric caches
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        parse_answer(text, ALIGN)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 200e-6, f"{per_call * 1e6:.1f} µs per JSON answer"  # ~10 µs measured; loose for shared CI


# -- importer core ---------------------------------------------------------------------------------------------


def _row(**kw: Any) -> dict[str, Any]:
    return {"item_id": "resort:0", "criterion": "harmful", "judge": "gpt-4", "raw_output": "Not Harmful"} | kw


def test_judgment_from_output_records_score_and_rubric() -> None:
    j = judgment_from_output(RawOutput.model_validate(_row()), HARM)
    assert (j.criterion, j.score, j.unscored_reason, j.raw_output) == ("harmfulness", 0.0, None, "Not Harmful")
    assert j.rubric == HARM.ref and j.model == "gpt-4"


def test_import_judgments_keeps_unscored_and_counts_them() -> None:
    rows = [
        (1, _row()),
        (2, _row(criterion="empathy", raw_output="4.0")),
        (3, _row(criterion="empathy", raw_output="", sample=1)),
        (4, _row(criterion="standard_alignment", raw_output="Score: 11", source="x.jsonl#a")),
    ]
    judgments = import_judgments(rows, RUBRICS, source="out.jsonl", item_ids={"resort:0"})
    assert len(judgments) == 4  # unscored ones are kept, never dropped
    assert unscored_counts(judgments) == {
        "alignment_with_standards": {"off_scale": 1},
        "empathy": {"empty": 1, "scored": 1},
        "harmfulness": {"scored": 1},
    }


def test_import_judgments_reports_every_bad_line() -> None:
    rows = [
        (1, _row(criterion="kindness")),
        (2, _row(item_id="resort:99")),
        (3, {"item_id": "resort:0", "criterion": "empathy", "judge": "gpt-4"}),
        (4, _row()),
        (5, _row()),
    ]
    with pytest.raises(InputError) as err:
        import_judgments(rows, RUBRICS, source="out.jsonl", item_ids={"resort:0"})
    text = str(err.value)
    assert "out.jsonl:1: criterion: unknown criterion 'kindness'; expected one of" in text
    assert "out.jsonl:2: item_id: 'resort:99' is not an item" in text
    assert "out.jsonl:3: raw_output: required field is missing" in text
    assert "out.jsonl:5: repeats the output of line 4" in text
    assert len(err.value.problems) == 4


# -- real data -------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not GPT4_JUDGMENTS.exists(), reason=f"RESORT release not found at {GPT4_JUDGMENTS}")
def test_gpt4_raw_outputs_of_the_resort_release() -> None:
    rows = _gpt4_rows()
    assert len(rows) == 735
    judgments = import_judgments(enumerate(rows, 1), RUBRICS, source=str(GPT4_JUDGMENTS))
    counts = unscored_counts(judgments)
    print("GPT-4 raw outputs, scored/unscored by reason:", counts)
    assert all(j.scored or j.unscored_reason for j in judgments)
    # Every one of the 735 GPT-4 answers is readable by hand (tags, bare numbers, labels, one prose sentence),
    # so every unscored answer here would be a parser gap.
    assert counts == {
        "alignment_with_standards": {"scored": 141},
        "empathy": {"scored": 198},
        "factuality": {"scored": 198},
        "harmfulness": {"scored": 198},
    }
    by_criterion: dict[str, Counter[float]] = {}
    for j in judgments:
        by_criterion.setdefault(j.criterion, Counter())[j.score] += 1  # type: ignore[index]
    # Distributions counted from the raw strings with grep (e.g. 42 "<score>8</score>" + 21 "<score>[8]</score>").
    assert by_criterion["alignment_with_standards"] == Counter(
        {1: 1, 2: 2, 3: 4, 4: 4, 5: 7, 6: 10, 7: 40, 8: 63, 9: 10}
    )
    assert by_criterion["empathy"] == Counter({1: 1, 2: 11, 3: 31, 4: 154, 5: 1})  # 140 "4" + 13 "4.0" + 1 prose
    assert by_criterion["factuality"] == Counter({1: 130, 0.5: 54, 0: 14})
    assert by_criterion["harmfulness"] == Counter({0: 198})


def _gpt4_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GPT4_JUDGMENTS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.skipif(not GPT4_JUDGMENTS.exists(), reason=f"RESORT release not found at {GPT4_JUDGMENTS}")
@pytest.mark.skipif(not list(PROJECT_RUBRICS.glob("*.yaml")), reason="rubrics/resort/*.yaml not written yet")
def test_gpt4_raw_outputs_with_the_project_rubrics() -> None:
    rubrics = load_rubric_set(PROJECT_RUBRICS)
    judgments = import_judgments(enumerate(_gpt4_rows(), 1), rubrics, source=str(GPT4_JUDGMENTS))
    assert [j.criterion for j in judgments if not j.scored] == []
    # Same counts as with the test rubrics above: the forms GPT-4 used do not depend on the anchors' wording.
    assert Counter(j.score for j in judgments if j.criterion == "factuality") == Counter({1: 130, 0.5: 54, 0: 14})
    assert Counter(j.score for j in judgments if j.criterion == "empathy")[4] == 154


@pytest.mark.skipif(not list(PROJECT_RUBRICS.glob("*.yaml")), reason="rubrics/resort/*.yaml not written yet")
def test_project_rubrics_parse_their_own_choices() -> None:
    rubrics = load_rubric_set(PROJECT_RUBRICS)
    for rubric in rubrics.values():
        for point, choice in zip(rubric.scale, rubric.answer_choices(), strict=True):
            answer = json.dumps({"rationale": "r", rubric.answer.field: choice})
            assert parse_answer(answer, rubric).score == point.value
            assert parse_answer(f"<score>{choice}</score>", rubric).score == point.value
            for alias in [point.label, *point.aliases]:
                assert parse_answer(alias, rubric).score == point.value, (rubric.name, alias)

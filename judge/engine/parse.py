"""Reading a judge's answer: structured first, tolerant fallbacks second, never a guess.

``parse_answer`` turns a judge's raw text into a score on the rubric's scale, or an *unscored* answer with a
reason (``parse_failure``, ``off_scale``, ``empty``, ``refusal``, ``truncated``) and a detail saying what was seen
and what was expected. Unscored answers are missing data: the caller records them, never as 0.

The order of attempts:

1. JSON: the whole text, a fenced ```json block, or the last ``{...}`` object holding the answer field. The value
   is validated with ``answer_model(rubric)``; a number or label that is not on the scale is ``off_scale`` (never
   rounded or clipped to fit).
2. Explicit forms, binding to the *last* match because judges restate the scale before answering: tags
   (``<score>8</score>``), keys (``Score: 8``, ``Rating: 4/5``, ``Verdict: Not harmful``), ``[[4]]``.
3. The whole answer (or its first line) is a number or a label: ``4``, ``4.0``, ``Not Harmful``, ``Yes``.
4. Prose. Numbers (``kind: value`` rubrics only) must be cued ("I would rate this a 7", "7 out of 10"); scale
   bounds ("1 to 10", "out of 10") are skipped. Labels are searched as whole words, longest alias first, so
   "Not harmful" is never read as "Harmful"; two different labels without a clear verdict are ``parse_failure``.

Example::

    from judge.engine.parse import parse_answer
    parse_answer("<score>[8]</score><rationale>Good.</rationale>", rubrics["alignment_with_standards"]).score  # 8.0
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge.data.rubric import Rubric, ScalePoint
from judge.engine.answer import answer_model

ParseUnscored = Literal["parse_failure", "off_scale", "empty", "refusal", "truncated"]
LENGTH_FINISH_REASONS = frozenset({"length", "max_tokens"})


class ParsedAnswer(BaseModel):
    """What was read from one judge answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float | None = Field(description="A value of the rubric's scale, or None if unscored.")
    label: str | None = Field(default=None, description="Label of the scale point the score is.")
    rationale: str | None = None
    unscored_reason: ParseUnscored | None = None
    detail: str | None = Field(default=None, description="What was seen and what was expected (unscored only).")
    method: str = Field(
        default="none",
        description="How it was read: json, tag, open_tag (unclosed), keyed, bracket, number, label, prose or none.",
    )

    @property
    def scored(self) -> bool:
        return self.score is not None


# -- compiled once ---------------------------------------------------------------------------------------------

_NUM = r"(?<![\w.])(?<![A-Za-z]-)-?\d+(?:\.\d+)?(?!\w|\.\d)"
_NUM_RE = re.compile(_NUM)
_FRACTION_RE = re.compile(rf"^({_NUM})\s*(?:/|out\s+of)\s*({_NUM})$", re.IGNORECASE)
_NUMBER_ONLY_RE = re.compile(rf"^{_NUM}$")
_WRAPPERS = " \t\r\n*_`\"'[](){}<>.,;:!"
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_RATIONALE_TAG_RE = re.compile(r"<(rationale|reasoning|explanation)>\s*(.*?)\s*(?:</\1>|$)", re.IGNORECASE | re.DOTALL)
_RANGE_RE = re.compile(rf"({_NUM})\s*(?:-|–|—|to)\s*({_NUM})", re.IGNORECASE)
_BETWEEN_RE = re.compile(rf"between\s+({_NUM})\s+and\s+({_NUM})", re.IGNORECASE)
_DENOMINATOR_RE = re.compile(rf"(?:/|out\s+of|scale\s+of)\s*({_NUM})(?!\s*(?:-|–|to)\s*\d)", re.IGNORECASE)
_ANCHOR_RE = re.compile(rf"({_NUM})\s*(?:=|means\b|indicates\b|represents\b|being\b|is\s+the\s+)", re.IGNORECASE)
_FRACTION_AFTER_RE = re.compile(rf"^\s*(?:/|out\s+of)\s*{_NUM}", re.IGNORECASE)
_RANGE_AFTER_RE = re.compile(r"^\s*(?:-|–|—|to)\s*\d", re.IGNORECASE)
_STRONG_CUE_RE = re.compile(
    r"\b(?:rate|rates|rated|rating|score|scores|scored|scoring|give|gives|gave|given|giving|assign|assigns|"
    r"assigned|award|awarded|grade|graded|deserves?|merits?|verdict)\b",
    re.IGNORECASE,
)
_WEAK_CUE_RE = re.compile(r"(?:\b(?:is|be|as|at)\s+(?:an?\s+)?|:\s*)$", re.IGNORECASE)
_FIRST_PHRASE_RE = re.compile(r"\s+[-–—(]|[.,;:](?:\s|$)|\n")
_SENTENCE_END_RE = re.compile(r"[.!?\n](?:\s|$)")
_NEGATION_RE = re.compile(r"\b(?:not|never|no|isn't|is\s+not|wasn't)\b(?:\s+\w+){0,2}\s*$", re.IGNORECASE)
_REFUSAL_RE = re.compile(
    r"\b(?:I'?m sorry|I am sorry|I apologi[sz]e|as an AI\b|I(?:'?m| am) (?:not able|unable) to\b|"
    r"I (?:can'?t|cannot|can not|won'?t|will not) "
    r"(?:help|assist|provide|comply|do that|evaluate|rate|score|judge|fulfil|fulfill|complete|answer))",
    re.IGNORECASE,
)
_KEY_WORDS = ["score", "rating", "verdict", "answer", "grade", "judgment", "judgement", "label", "assessment"]
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation", "justification")
_MAX_JSON_TRIES = 64  # bounds the work on pathological text with many braces


@dataclass(frozen=True)
class _Patterns:
    """Regexes that depend on the rubric (its labels, answer field and name), built once per rubric."""

    labels: dict[str, ScalePoint]  # lower-cased, whitespace-normalised label or alias -> point
    label_re: re.Pattern[str] | None
    tag_re: re.Pattern[str]
    open_tag_re: re.Pattern[str]
    keyed_re: re.Pattern[str]
    bracket_re: re.Pattern[str]
    json_keys: tuple[str, ...]  # lower-cased keys that may hold the answer in a JSON object, preferred first
    point_by_choice: dict[Any, ScalePoint]  # answer choice (number or label) -> point


_PATTERNS: dict[str, _Patterns] = {}


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _patterns(rubric: Rubric) -> _Patterns:
    cached = _PATTERNS.get(rubric.content_hash)
    if cached is not None:
        return cached
    labels = {_norm(s): p for p in rubric.scale for s in [p.label, *p.aliases]}
    # Longest first: at a given position the regex alternation takes the first that matches, so "not harmful"
    # wins over "harmful" and "minor error" over any shorter alias.
    # Numeric labels ("1".."10") are left to the number rules, which know about scale bounds and cues.
    words = [s for s in sorted(labels, key=len, reverse=True) if not _NUMBER_ONLY_RE.match(s)]
    alts = [r"\s+".join(re.escape(w) for w in s.split()) for s in words]
    label_alt = "|".join(alts)
    label_re = re.compile(rf"(?<![\w-])(?:{label_alt})(?![\w-])", re.IGNORECASE) if alts else None
    field = rubric.answer.field
    tags = "|".join(re.escape(t) for t in dict.fromkeys([field, "score", "rating", "answer", "verdict", "grade"]))
    names = [field.replace("_", " "), rubric.name.replace("_", " "), *_KEY_WORDS]
    keys = "|".join(r"\s+".join(re.escape(w) for w in n.split()) for n in dict.fromkeys(names))
    value = rf"{_NUM}(?:\s*(?:/|out\s+of)\s*{_NUM})?" + (rf"|(?:{label_alt})(?![\w-])" if alts else "")
    pats = _Patterns(
        labels=labels,
        label_re=label_re,
        tag_re=re.compile(rf"<({tags})>\s*(.*?)\s*</\1\s*>", re.IGNORECASE | re.DOTALL),
        open_tag_re=re.compile(rf"<(?:{tags})>\s*([^<\n]{{1,40}})", re.IGNORECASE),
        keyed_re=re.compile(
            rf"(?<![\w-])(?:final\s+|overall\s+)?(?:{keys})(?![\w-])[\"'*_\s]*(?:(?::|=|\bis\b|\bof\b)[\"'*_\s\[]*)+"
            rf"(?P<val>{value})",
            re.IGNORECASE,
        ),
        bracket_re=re.compile(rf"\[\[\s*(?P<val>{value})\s*\]\]", re.IGNORECASE),
        json_keys=tuple(
            dict.fromkeys(k.lower() for k in [field, "score", "rating", rubric.name, "verdict", "answer", "label"])
        ),
        point_by_choice=dict(zip(rubric.answer_choices(), rubric.scale, strict=True)),
    )
    _PATTERNS[rubric.content_hash] = pats
    return pats


# -- building results ------------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _expected(rubric: Rubric) -> str:
    choices = rubric.answer_choices()
    if rubric.answer.kind == "label":
        return f"expected one of {choices} (or their values [{', '.join(_fmt(v) for v in rubric.points_values())}])"
    return f"expected one of [{', '.join(str(c) for c in choices)}]"


# model_construct: these values are typed and come from the rubric, so validating them again would only double the
# cost of the common path (parse_answer runs once per judgment, including on every cached re-score).


def _unscored(reason: ParseUnscored, detail: str, method: str = "none", rationale: str | None = None) -> ParsedAnswer:
    return ParsedAnswer.model_construct(
        score=None, label=None, rationale=rationale, unscored_reason=reason, detail=detail, method=method
    )


def _scored(point: ScalePoint, method: str, rationale: str | None) -> ParsedAnswer:
    return ParsedAnswer.model_construct(
        score=point.value,
        label=point.label,
        rationale=rationale or None,
        unscored_reason=None,
        detail=None,
        method=method,
    )


def _point_of_number(x: float, rubric: Rubric) -> ScalePoint | None:
    return next((p for p in rubric.scale if abs(p.value - x) < 1e-9), None)


def _resolve(token: str, rubric: Rubric, method: str, rationale: str | None) -> ParsedAnswer | None:
    """Read one token ("8", "[8]", "4/5", "8 out of 10", "Not Harmful") as a scale point, or off-scale.

    Returns None when the token is neither a number nor a label (the caller decides what that means).
    """
    t = token.strip(_WRAPPERS)
    frac = _FRACTION_RE.match(t)
    if frac:
        denominator = float(frac.group(2))
        if denominator != rubric.high:
            # "4/10" on a 1-5 scale: the judge used another scale; rescaling it would be a guess.
            return _unscored(
                "off_scale", f"got {t}, a score out of {_fmt(denominator)}; {_expected(rubric)}", method, rationale
            )
        return _number(float(frac.group(1)), rubric, method, rationale)
    if _NUMBER_ONLY_RE.match(t):
        return _number(float(t), rubric, method, rationale)
    point = _patterns(rubric).labels.get(_norm(t))
    return _scored(point, method, rationale) if point else None


def _number(x: float, rubric: Rubric, method: str, rationale: str | None) -> ParsedAnswer:
    """A number is a score only if it is exactly a point of the scale: never rounded or clipped to fit."""
    point = _point_of_number(x, rubric)
    if point is None:
        return _unscored("off_scale", f"got {_fmt(x)}, {_expected(rubric)}", method, rationale)
    return _scored(point, method, rationale)


def _rest(text: str, start: int, end: int) -> str | None:
    """The answer without the span that held the score: the rationale when no explicit one was given."""
    rest = (text[:start] + " " + text[end:]).lstrip(_WRAPPERS + "-–—").rstrip(" \t\r\n*_`[(")
    return rest or None


# -- JSON ------------------------------------------------------------------------------------------------------


def _json_candidates(text: str) -> Iterable[Any]:
    stripped = text.strip()
    if stripped[:1] in "{[":
        with suppress(ValueError):
            yield json.loads(stripped)
    fences = _FENCE_RE.findall(text)
    for block in reversed(fences):
        with suppress(ValueError):
            yield json.loads(block)
    decoder = json.JSONDecoder()
    end = len(text)
    for _ in range(_MAX_JSON_TRIES):
        pos = text.rfind("{", 0, end)
        if pos < 0:
            return
        with suppress(ValueError):
            yield decoder.raw_decode(text, pos)[0]
        end = pos


def _answer_object(text: str, pats: _Patterns) -> tuple[dict[str, Any], str] | None:
    """The last JSON object in the text holding an answer key, with the key as written."""
    for obj in _json_candidates(text):
        if isinstance(obj, list) and len(obj) == 1:
            obj = obj[0]
        if not isinstance(obj, dict):
            continue
        if pats.json_keys[0] in obj:  # the usual case, without building the lower-cased view
            return obj, pats.json_keys[0]
        lowered = {str(k).lower(): k for k in obj}
        for key in pats.json_keys:
            if key in lowered:
                return obj, lowered[key]
    return None


def _json_rationale(obj: Mapping[str, Any]) -> str | None:
    usual = obj.get("rationale")
    if isinstance(usual, str) and usual.strip():
        return usual.strip()
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in _RATIONALE_KEYS:
        v = lowered.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _from_json(text: str, rubric: Rubric) -> ParsedAnswer | None:
    pats = _patterns(rubric)
    found = _answer_object(text, pats)
    if found is None:
        return None
    obj, key = found
    value = obj[key]
    rationale = _json_rationale(obj)
    field = rubric.answer.field
    if (
        key == field
        and isinstance(rationale, str)
        and isinstance(value, (str, int, float))
        and not isinstance(value, bool)
    ):
        # Fast path: an answer exactly as the schema asks (bools are excluded: pydantic's Literal takes True as 1).
        try:
            valid = answer_model(rubric).model_validate({"rationale": rationale, field: value})
        except ValidationError:
            pass
        else:
            return _scored(pats.point_by_choice[getattr(valid, field)], "json", rationale)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        shown = json.dumps(value)[:60]
        return _unscored("parse_failure", f"JSON field {key!r} is {shown}, {_expected(rubric)}", "json", rationale)
    if isinstance(value, (int, float)):
        return _number(float(value), rubric, "json", rationale)
    # A string such as "8 (good)" or "Not harmful - it is supportive": the answer is its first phrase.
    resolved = _resolve(value, rubric, "json", rationale) or _resolve(
        _FIRST_PHRASE_RE.split(value.strip(), maxsplit=1)[0], rubric, "json", rationale
    )
    if resolved is None:
        return _unscored("off_scale", f"JSON field {key!r} is {value[:60]!r}, {_expected(rubric)}", "json", rationale)
    return resolved


# -- explicit text forms ---------------------------------------------------------------------------------------


def _explicit_rationale(text: str) -> str | None:
    found = _RATIONALE_TAG_RE.findall(text)
    return found[-1][1].strip() or None if found else None


def _from_tag(text: str, rubric: Rubric, rationale: str | None) -> ParsedAnswer | None:
    pats = _patterns(rubric)
    closed = list(pats.tag_re.finditer(text))
    if closed:
        m = closed[-1]
        content, method = m.group(2), "tag"
    else:
        opened = list(pats.open_tag_re.finditer(text))
        if not opened:
            return None
        m = opened[-1]
        content, method = m.group(1), "open_tag"
    why = rationale if rationale is not None else _rest(text, m.start(), m.end())
    got = _resolve(content, rubric, method, why)
    if got is not None:
        return got
    if method == "open_tag":
        return None
    return _unscored("parse_failure", f"<{m.group(1)}> holds {content[:60]!r}, {_expected(rubric)}", method, why)


def _from_keyed(text: str, rubric: Rubric, rationale: str | None) -> ParsedAnswer | None:
    pats = _patterns(rubric)
    for regex, method in ((pats.keyed_re, "keyed"), (pats.bracket_re, "bracket")):
        hits = [m for m in regex.finditer(text) if not _RANGE_AFTER_RE.match(text[m.end() :])]
        if hits:
            m = hits[-1]
            why = rationale if rationale is not None else _rest(text, m.start(), m.end())
            return _resolve(m.group("val"), rubric, method, why)
    return None


def _from_whole(text: str, rubric: Rubric, rationale: str | None) -> ParsedAnswer | None:
    """The answer is just a number or a label, or its last or first line is (with the explanation around it)."""
    got = _resolve(text, rubric, "number", rationale)
    if got is not None:
        return _as_number_or_label(got, text)
    body = text.strip()
    head, _, after = body.partition("\n")
    before, _, tail = body.rpartition("\n")
    if not after:
        return None
    # The last line first: judges that reason before answering put the verdict there.
    for line, rest in ((tail, before), (head, after)):
        got = _resolve(line, rubric, "number", rationale if rationale is not None else rest.strip() or None)
        if got is not None:
            return _as_number_or_label(got, line)
    return None


def _as_number_or_label(got: ParsedAnswer, token: str) -> ParsedAnswer:
    return got.model_copy(update={"method": "number" if got.label is None or _has_digit(token) else "label"})


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


# -- prose -----------------------------------------------------------------------------------------------------


def _bound_starts(text: str) -> set[int]:
    """Start offsets of numbers that describe the scale ("1 to 10", "out of 10", "5 = very") rather than score."""
    starts: set[int] = set()
    for regex in (_RANGE_RE, _BETWEEN_RE):
        for m in regex.finditer(text):
            starts.update((m.start(1), m.start(2)))
    for regex in (_DENOMINATOR_RE, _ANCHOR_RE):
        starts.update(m.start(1) for m in regex.finditer(text))
    return starts


def _sentence_before(text: str, pos: int, width: int = 80) -> str:
    window = text[max(0, pos - width) : pos]
    ends = list(_SENTENCE_END_RE.finditer(window))
    return window[ends[-1].end() :] if ends else window


def _from_prose_numbers(text: str, rubric: Rubric, rationale: str | None) -> ParsedAnswer | None:
    bounds = _bound_starts(text)
    strong: list[str] = []
    weak: list[re.Match[str]] = []
    loose: list[str] = []
    for m in _NUM_RE.finditer(text):
        if m.start() in bounds:
            continue
        before = _sentence_before(text, m.start())
        fraction = _FRACTION_AFTER_RE.match(text[m.end() :])
        if fraction:  # keep the denominator: "4 out of 10" on a 1-5 scale is off-scale, not a 4
            strong.append(m.group() + fraction.group())
        elif _STRONG_CUE_RE.search(before):
            strong.append(m.group())
        elif _WEAK_CUE_RE.search(before):
            weak.append(m)
        else:
            loose.append(m.group())
    why = rationale if rationale is not None else text.strip()
    if strong:
        return _resolve(strong[-1], rubric, "prose", why)
    if weak and len({float(m.group()) for m in weak}) == 1:
        return _resolve(weak[-1].group(), rubric, "prose", why)
    seen = [m.group() for m in weak] + loose
    if seen:
        return _unscored(
            "parse_failure",
            f"numbers {seen[:8]} in prose, none clearly given as the score; {_expected(rubric)}",
            "prose",
            rationale,
        )
    return None


@dataclass(frozen=True)
class _Mention:
    point: ScalePoint
    start: int
    end: int
    leading: bool  # nothing but markup before it: "Not harmful. The response..."
    final: bool  # nothing but markup after it: "... so my verdict: Harmful."
    alone: bool  # set off by punctuation or line breaks on both sides, not part of a sentence's words


def _mentions(text: str, rubric: Rubric) -> list[_Mention]:
    pats = _patterns(rubric)
    if pats.label_re is None:
        return []
    out = []
    for m in pats.label_re.finditer(text):
        before = text[: m.start()].rstrip(" \t*_\"'`[(#>")
        after = text[m.end() :].lstrip(" \t*_\"'`])")
        leading, final = not before.strip(), not after.strip(" \t\r\n.!")
        alone = (leading or before[-1] in ".!?:;\n-") and (final or after[0] in ".,;:!?\n-–—")
        point = pats.labels[_norm(m.group())]
        if not alone:
            if len(m.group()) <= 3:  # "yes"/"no" inside a sentence are ordinary words, not verdicts
                continue
            if _NEGATION_RE.search(text[max(0, m.start() - 40) : m.start()]):
                # "not at all harmful" is the scale's "Not harmful" if it has one; otherwise no verdict.
                negated = pats.labels.get("not " + _norm(m.group()))
                if negated is None:
                    continue
                point = negated
        out.append(_Mention(point, m.start(), m.end(), leading, final, alone))
    return out


def _from_prose_labels(text: str, rubric: Rubric, rationale: str | None) -> ParsedAnswer | None:
    mentions = _mentions(text, rubric)
    if not mentions:
        return None
    distinct = {m.point.label for m in mentions}
    if len(distinct) == 1:
        m = mentions[0]
        why = rationale if rationale is not None else _rest(text, m.start, m.end) if m.leading else text.strip()
        return _scored(m.point, "label", why)
    alone = [m for m in mentions if m.alone]
    lead = next((m for m in alone if m.leading), None)
    last = next((m for m in reversed(alone) if m.final), None)
    # A leading verdict ("Not harmful. Because...") or a final one ("... so: Harmful"); if both, they must agree.
    verdict = None if lead and last and lead.point != last.point else lead or last
    if verdict is lead and lead is not None and lead.end - lead.start <= 3 and text[lead.end :].lstrip()[:1] == ",":
        # A leading "Yes, ..." / "No, ..." that other labels contradict is as often a discourse marker as a verdict.
        verdict = None
    if verdict is None:
        shown = sorted(distinct, key=[p.label for p in rubric.scale].index)
        return _unscored(
            "parse_failure",
            f"found labels {shown} with no clear final verdict; {_expected(rubric)}",
            "label",
            rationale,
        )
    why = rationale if rationale is not None else text.strip()
    return _scored(verdict.point, "label", why)


# -- entry point -----------------------------------------------------------------------------------------------


def _from_text(text: str, rubric: Rubric) -> ParsedAnswer | None:
    rationale = _explicit_rationale(text)
    for step in (_from_tag, _from_keyed, _from_whole):
        got = step(text, rubric, rationale)
        if got is not None:
            return got
    if rubric.answer.kind == "value":
        got = _from_prose_numbers(text, rubric, rationale)
        if got is not None and got.unscored_reason != "parse_failure":
            return got
        return _from_prose_labels(text, rubric, rationale) or got
    return _from_prose_labels(text, rubric, rationale)


def parse_answer(text: str | None, rubric: Rubric, *, finish_reason: str | None = None) -> ParsedAnswer:
    """Read a judge's answer as a point of ``rubric``'s scale, or say why it cannot be scored.

    Args:
        text: the judge's raw output (None when the provider returned no content).
        rubric: the criterion the judge answered.
        finish_reason: the provider's finish reason; ``"length"`` marks a cut-off answer, whose score is kept
            only from a complete JSON object or a closed ``<score>`` tag.

    Returns:
        A ``ParsedAnswer``: ``score`` and ``label`` set, or ``unscored_reason`` and ``detail`` set.

    Example::

        parse_answer("Not Harmful", rubrics["harmfulness"]).score          # 0.0
        parse_answer("Score: 11", rubrics["alignment_with_standards"])     # off_scale: got 11, expected ...
    """
    cut = finish_reason in LENGTH_FINISH_REASONS
    if text is None or not text.strip():
        if cut:
            return _unscored("truncated", "the answer is empty: the length limit was reached before any output")
        return _unscored("empty", "the judge returned no text")
    got = _from_json(text, rubric) or _from_text(text, rubric)
    if cut and (got is None or got.method not in ("json", "tag")):
        seen = f"; a provisional {got.label or got.detail} was read from the incomplete text" if got else ""
        return _unscored(
            "truncated",
            f"the answer was cut off at the length limit before a complete score{seen}",
            got.method if got else "none",
            got.rationale if got else None,
        )
    if got is not None and (got.scored or got.unscored_reason == "off_scale"):
        return got
    if _REFUSAL_RE.search(text.replace("’", "'")):
        return _unscored("refusal", f"the judge declined: {text.strip()[:120]!r}")
    if got is not None:
        return got
    return _unscored("parse_failure", f"no score found in {text.strip()[:120]!r}; {_expected(rubric)}")


def parse_multi_answer(
    text: str | None, rubrics: list[Rubric], *, finish_reason: str | None = None
) -> dict[str, ParsedAnswer]:
    """Read a combined answer (``{"<criterion>": {"rationale": ..., "score": ...}, ...}``), one result per rubric.

    Each criterion's entry is read exactly like a single answer; a criterion missing from the answer, or an answer
    that is not a JSON object at all, is unscored for that criterion with the reason and what was seen.
    """
    if text is None or not text.strip():
        one = parse_answer(text, rubrics[0], finish_reason=finish_reason)
        return {r.name: one for r in rubrics}
    obj = None
    for cand in _json_candidates(text):
        if isinstance(cand, dict) and any(r.name in cand for r in rubrics):
            obj = cand
    out: dict[str, ParsedAnswer] = {}
    for r in rubrics:
        entry = obj.get(r.name) if obj is not None else None
        if entry is None:
            reason: ParseUnscored = "truncated" if finish_reason in LENGTH_FINISH_REASONS else "parse_failure"
            out[r.name] = _unscored(
                reason, f"no entry for criterion {r.name!r} in the combined answer {text.strip()[:120]!r}"
            )
            continue
        sub = json.dumps(entry) if isinstance(entry, dict) else json.dumps({r.answer.field: entry})
        out[r.name] = parse_answer(sub, r)
    return out

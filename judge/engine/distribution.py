"""A judge's distribution over a rubric's scale, read from token probabilities, and the expected score.

A judge that answers "7" on a 1-10 scale may have given 6 and 8 almost as much weight; its *expected score*
(the probability-weighted mean of the scale values) keeps that information, and on small models it agrees far better
with experts than the single answer (measured in ``reports/validity/``). Two sources:

* **Exact answer probabilities** (``choice_probs``): the embedded judge scores every answer choice through a trie of
  its tokens (``judge.engine.local.provider.LocalEngine.score_choices``), so a two-token ``10`` is exact.
* **Token log-probabilities** of an OpenAI-compatible reply (``logprobs``: OpenAI, vLLM, llama.cpp servers): the
  alternatives at the position where the score starts. A value that another value continues (``1`` and ``10``) is
  split with the next position's alternatives when the answer took that path; otherwise the split cannot be seen
  and the mass stays with the shorter value (the distribution is then marked ``exact=False``).

No distribution is made for an unscored answer (no guess), nor when less than ``MIN_VALID_MASS`` of the probability
went to values of the scale (the model meant something else; its answer alone is kept).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.data import Rubric

MIN_VALID_MASS = 0.5


class Distribution(BaseModel):
    """Probabilities over a rubric's scale, normalised over the values of the scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probs: dict[str, float] = Field(description="Scale value (as text, e.g. '7', '0.5') -> probability.")
    valid_mass: float = Field(description="The probability the model put on values of the scale, before normalising.")
    exact: bool = Field(default=True, description="False when part of a multi-token value's split was not observed.")

    def expected(self) -> float:
        """The probability-weighted mean of the scale values."""
        return sum(float(v) * p for v, p in self.probs.items())

    def mode(self) -> float:
        """The most probable scale value (ties: the lower value)."""
        return float(max(sorted(self.probs, key=float), key=lambda v: self.probs[v]))


def _value_text(v: float) -> str:
    return f"{v:g}"


def _answers(rubric: Rubric) -> dict[str, str]:
    """answer text (lower-cased) -> scale value text: the choices as written in answers."""
    out = {}
    for point, choice in zip(rubric.scale, rubric.answer_choices(), strict=True):
        out[str(choice).lower()] = _value_text(point.value)
    return out


def from_choice_probs(probs: Mapping[str, float], rubric: Rubric) -> Distribution | None:
    """The distribution from exact probabilities of whole answers (answer text -> probability)."""
    answers = _answers(rubric)
    out: dict[str, float] = {}
    for text, p in probs.items():
        value = answers.get(str(text).strip().lower())
        if value is not None and p > 0:
            out[value] = out.get(value, 0.0) + float(p)
    return _normalised(out, exact=True)


def _normalised(masses: dict[str, float], *, exact: bool) -> Distribution | None:
    total = sum(masses.values())
    if total < MIN_VALID_MASS:
        return None
    return Distribution(probs={v: p / total for v, p in masses.items()}, valid_mass=min(1.0, total), exact=exact)


def _score_offset(content: str, rubric: Rubric) -> int | None:
    """Where the score starts in the answer text: after the score field's key in a JSON answer, else at the first
    character of a bare answer."""
    m = re.search(r'"' + re.escape(rubric.answer.field) + r'"\s*:\s*"?', content)
    if m:
        return m.end()
    stripped = len(content) - len(content.lstrip(' \n\t"'))
    return stripped if stripped < len(content) else None


def _top(entry: Mapping[str, Any]) -> list[tuple[str, float]]:
    alts = entry.get("top_logprobs") or [{"token": entry.get("token", ""), "logprob": entry.get("logprob", 0.0)}]
    return [(str(a.get("token", "")), float(a.get("logprob", -math.inf))) for a in alts]


def from_token_logprobs(
    content: str | None, logprobs: Sequence[Mapping[str, Any]], rubric: Rubric
) -> Distribution | None:
    """The distribution from an OpenAI-style token list (``choices[0].logprobs.content``) for the answer ``content``.

    Returns None when the tokens do not spell the answer or the score's position carries too little scale mass.
    """
    if not content or not logprobs:
        return None
    offset = _score_offset(content, rubric)
    if offset is None:
        return None
    pos = 0
    index = None
    for i, entry in enumerate(logprobs):
        token = str(entry.get("token", ""))
        if pos <= offset < pos + len(token) or (pos == offset and token):
            if content[pos:offset].strip(' \t\n"') == "":
                index = i
            break
        pos += len(token)
    if index is None:
        return None
    answers = _answers(rubric)
    chosen = str(logprobs[index].get("token", ""))
    masses: dict[str, float] = {}
    exact = True
    for token, lp in _top(logprobs[index]):
        text = token.strip(' \t\n"').lower()
        if not text:
            continue
        complete = answers.get(text)
        longer = [a for a in answers if a != text and a.startswith(text)]
        p = math.exp(lp)
        if complete is None and len(longer) == 1:  # "Min" can only be "Minor error"
            complete, longer = answers[longer[0]], []
        if complete is None:
            continue
        if longer:
            if token == chosen and index + 1 < len(logprobs):
                # The answer took this path: the next position says how often it continues into a longer value.
                cont = 0.0
                for nxt, nlp in _top(logprobs[index + 1]):
                    candidate = (text + nxt.strip(' \t\n"')).lower()
                    if nxt.strip() and candidate in answers and candidate != text:
                        q = p * math.exp(nlp)
                        masses[answers[candidate]] = masses.get(answers[candidate], 0.0) + q
                        cont += math.exp(nlp)
                p *= max(0.0, 1.0 - cont)
            else:
                exact = False
        masses[complete] = masses.get(complete, 0.0) + p
    return _normalised(masses, exact=exact)

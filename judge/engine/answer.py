"""The judge's answer format, in one place: the JSON Schema sent to the model and the pydantic model that
validates what comes back.

A judge answers one criterion as ``{"rationale": str, "<field>": <a scale choice>}``, or every criterion of a
rubric set at once as ``{"<criterion>": {...}, ...}``. The score field is an ``enum`` of the rubric's answer
choices (numbers, or labels for ``kind: label``): constrained decoders (llama.cpp grammars, OpenAI structured
outputs) honour ``enum`` where they ignore minimum and maximum. The schemas are part of every cache key, so they
are written out by hand here and never derived from a library's schema generator, which could change them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from judge.data import Rubric

_MODELS: dict[str, type[BaseModel]] = {}


def single_answer_schema(rubric: Rubric) -> dict[str, Any]:
    """JSON Schema of the answer for one criterion."""
    return {
        "type": "object",
        "properties": {
            "rationale": {"type": "string"},
            rubric.answer.field: {"enum": rubric.answer_choices()},
        },
        "required": ["rationale", rubric.answer.field],
        "additionalProperties": False,
    }


def multi_answer_schema(rubrics: list[Rubric]) -> dict[str, Any]:
    """JSON Schema of a combined answer: one single-criterion answer per criterion, keyed by criterion name."""
    return {
        "type": "object",
        "properties": {r.name: single_answer_schema(r) for r in rubrics},
        "required": [r.name for r in rubrics],
        "additionalProperties": False,
    }


def answer_model(rubric: Rubric) -> type[BaseModel]:
    """The pydantic model of the answer for one criterion: ``rationale`` then the score field.

    Its score field is a ``Literal`` of ``rubric.answer_choices()``, the same ``enum`` as
    ``single_answer_schema``. The rationale comes first so that a model writing fields in order reasons before
    it scores.

    Example::

        Model = answer_model(rubric)
        Model.model_validate({"rationale": "Warm and specific.", "score": 4})
    """
    cached = _MODELS.get(rubric.content_hash)
    if cached is not None:
        return cached
    choices = tuple(rubric.answer_choices())
    score_type = Literal.__getitem__(choices)  # Literal[*choices], built at run time
    name = "".join(w.capitalize() for w in rubric.name.split("_")) + "Answer"
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name,
        __config__=ConfigDict(extra="forbid", frozen=True),
        rationale=(str, Field(description=f"A concise justification (about {rubric.answer.rationale_words} words).")),
        **{rubric.answer.field: (score_type, Field(description=f"One of {list(choices)}."))},
    )
    _MODELS[rubric.content_hash] = model
    return model


def choice_answer_schema(rubric: Rubric) -> dict[str, Any]:
    """JSON Schema of an answer that is one value of the scale and nothing else (score-only answers).

    The embedded judge reads this as "score the choices" (``judge.engine.local.provider.choice_schema``): it
    returns every choice's probability instead of sampling one.
    """
    return {"enum": rubric.answer_choices()}

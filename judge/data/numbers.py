"""A number read from a data file: ``true`` is not one.

pydantic reads JSON ``true`` into a ``float`` or ``int`` field as 1 (Python counts bools as numbers): a rating or
score of ``true`` would silently become 1. ``Number`` and ``Count`` refuse bools and keep every other rule of their
type (ints become floats, numeric strings are read as numbers); finiteness and the scale are checked where the scale
is known (``judge.data.ratings``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a number")
    return value


#: A float field of a data file (a rating, a score) that refuses ``true`` and ``false``.
Number = Annotated[float, BeforeValidator(_not_bool)]
#: An int field of a data file (a sample index, a length, a count of points) that refuses them too.
Count = Annotated[int, BeforeValidator(_not_bool)]

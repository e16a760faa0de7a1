"""One table cell holding several criteria: a JSON object, or "key: value" text.

Grids of systems (a row per context, a column per system) often keep every criterion of one (context, system) in
one cell, as a person or another judge wrote it::

    {"warmth": 4, "helpfulness": 3, "comment": "kind but vague"}
    warmth: 4; helpfulness: 3
    Warmth = 4, Helpfulness: Score 3

``criteria_in_cell`` returns the text of each criterion's entry (a nested object as its JSON, so a judge's
``{"score": 4, "rationale": ...}`` reaches the answer parser whole) and the keys that name no criterion (reported,
never dropped silently). Experts' entries are then checked against the scale; judges' entries are parsed like live
answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# "key: value" or "key = value", pairs separated by new lines, semicolons or commas followed by a key
_KEY = r"[^\W\d][^:=;\n,]{0,60}?"
_PAIR = re.compile(rf"(?P<key>{_KEY})\s*[:=]\s*(?P<value>[^;\n]*?)\s*(?=[;\n]|,\s*{_KEY}\s*[:=]|$)")


@dataclass
class CellCriteria:
    """What one cell holds: criterion -> the entry's text; ``others``: keys that name no criterion; ``error``: why
    the cell is neither a JSON object nor "key: value" text (None when it is one)."""

    entries: dict[str, str] = field(default_factory=dict)
    others: list[str] = field(default_factory=list)
    error: str | None = None


def _entry_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return str(value).strip()


def criteria_in_cell(cell: Any, spellings: Mapping[str, str]) -> CellCriteria:
    """The criteria of one cell.

    Args:
        cell: the cell (text, or a JSON object already parsed, as a JSONL table holds it).
        spellings: criterion spelling in lower case -> criterion name (``warmth`` -> ``warmth``, ``harm?`` ->
            ``harmfulness``).

    Returns:
        ``CellCriteria``; a key given twice (in any spelling) is an error, as in every file this tool reads.
    """
    out = CellCriteria()
    obj: Any = cell
    if isinstance(cell, str):
        text = cell.strip()
        if text.startswith("{"):
            try:
                obj = json.loads(text, object_pairs_hook=_no_repeats)
            except _Repeated as rep:
                out.error = f"the key {rep.key!r} is given twice"
                return out
            except ValueError as exc:
                out.error = f"starts like a JSON object but is not one ({exc.args[0].split(':')[0]})"
                return out
        else:
            pairs = [(m["key"].strip(), m["value"]) for m in _PAIR.finditer(text)]
            if not pairs:
                out.error = (
                    f"{text[:60]!r} holds no criteria: expected a JSON object or 'criterion: value' pairs "
                    "(e.g. 'warmth: 4; helpfulness: 3')"
                )
                return out
            obj = pairs
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, list) and all(isinstance(p, tuple) for p in obj):
        items = obj
    else:
        out.error = f"expected a JSON object or 'criterion: value' text, got {type(obj).__name__}"
        return out
    for key, value in items:
        name = spellings.get(str(key).strip().lower())
        if name is None:
            out.others.append(str(key).strip())
        elif name in out.entries:
            out.error = f"criterion {name!r} is given twice"
            return out
        else:
            out.entries[name] = _entry_text(value)
    return out


class _Repeated(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for k, v in pairs:
        if k in seen:
            raise _Repeated(k)
        seen[k] = v
    return seen

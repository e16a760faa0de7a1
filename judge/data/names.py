"""Names and ids as the tool compares them: Unicode NFC, surrounding white space trimmed.

The same rater typed ``José`` in one file (NFC: one code point for é) and ``José`` in another (NFD: e and a
combining accent) looks identical on screen but compares unequal; counted as two raters, the experts' agreement then
measures one person agreeing with herself. So every name and id read from a user's file or flag (items, posts,
raters, judges, criteria, systems) goes through ``normal_name``, and two spellings that become one name are one
name. Two *things* that become one name (two items ``a`` and ``a ``) are refused by the duplicate checks of the
loaders, whose messages show the spellings (``spellings``).

Example::

    from judge.data.names import normal_name
    normal_name(" Jose\u0301 ") == "José"   # True
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BeforeValidator


def normal_name(text: str) -> str:
    """A name or id as compared everywhere: NFC, without surrounding white space."""
    if text.isascii():  # the common case, already normal (NFC changes no ASCII text)
        return text.strip()
    return unicodedata.normalize("NFC", text).strip()


def _normal(value: Any) -> Any:
    return normal_name(value) if isinstance(value, str) else value


def _normal_mapping(value: Any) -> Any:
    if isinstance(value, dict):
        return {_normal(k): _normal(v) for k, v in value.items()}
    return value


#: A pydantic ``str`` field holding a name or id: normalised before it is validated (so ``min_length`` counts the
#: normal form: a name of spaces is empty).
Name = Annotated[str, BeforeValidator(_normal)]
#: A mapping of names to names (an item's ``system``: ``{"model": "gpt-4"}``), keys and values normalised.
NameMap = Annotated[dict[str, str], BeforeValidator(_normal_mapping)]


def spellings(raw: Iterable[str]) -> str:
    """The distinct spellings of one name, for a message: ``'a' and 'a '`` (repr shows spaces and accents apart)."""
    shown = [ascii(s) if not s.isascii() else repr(s) for s in dict.fromkeys(raw)]
    return " and ".join(shown)

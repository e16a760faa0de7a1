"""Which column of a table holds what (``TableMapping``: ``--mapping FILE`` or ``--col KEY=COLUMN`` flags), and
the patterns that name score columns (``{criterion}``, ``{rater}``, ``{system}``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.data.importers.tables import Table
from judge.data.rubric import Rubric
from judge.errors import InputError, Problem, UsageError
from judge.fileio import load_document

PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NOT_COLUMNS = ("criteria", "raters", "systems", "scores", "judged_role")  # mapping keys that name no column


class TableMapping(BaseModel):
    """Which column holds what (``--mapping FILE``, YAML or JSON; or ``--col KEY=COLUMN`` flags).

    A column left at its default name is used when the table has it; a column named explicitly must exist.
    """

    model_config = ConfigDict(extra="forbid")

    item: str = Field(default="item_id", description="Column of the item id (a response, or a conversation).")
    post_id: str = Field(default="post_id", description="Column grouping items for resampling (default: item).")
    post: str = Field(default="post", description="Column of the post the response answers.")
    response: str = Field(
        default="response",
        description="Column of the rated response; with '{system}' (e.g. 'reply_{system}'), a grid: one column per "
        "system, and an item per (row, system).",
    )
    transcript: str = Field(
        default="transcript", description="Column holding a whole conversation ('Seeker: ...' lines), one per row."
    )
    system: list[str] = Field(default=["system"], description="Columns naming what wrote the response.")
    role: str = Field(default="role", description="Items file, one row per turn: the speaker's role.")
    text: str = Field(default="text", description="Items file, one row per turn: what was said.")
    turn: str = Field(default="turn", description="Items file: the turn's number (default: file order).")
    judged_role: str | None = Field(
        default=None, description="Judge every turn of this role (e.g. supporter); default: each item's last turn."
    )
    rater: str = Field(default="rater", description="Column of the rater's name (long tables, or mixed files).")
    criterion: str = Field(default="criterion", description="Column of the criterion (long tables).")
    value: str = Field(default="rating", description="Column of the rating (long tables).")
    scores: str = Field(default="{criterion}", description="How score columns of wide tables are named.")
    criteria: dict[str, str] = Field(
        default_factory=dict, description="Spellings of criteria in the table -> criterion names."
    )
    raters: list[str] = Field(default_factory=list, description="The raters a '{rater}' pattern may match.")
    systems: list[str] = Field(
        default_factory=list, description="The systems a '{system}' pattern may match (default: any name)."
    )


def grid_item_id(row_id: str, system: str) -> str:
    """The item of a grid's cell: ``<row id>/<system>`` (a grid has an item per row and system)."""
    return f"{row_id}/{system}"


def parse_mapping(path: str | None, cols: Sequence[str]) -> TableMapping:
    """The mapping from a file (if given) with ``KEY=COLUMN`` flags on top."""
    data: dict[str, Any] = {}
    if path:
        base = load_document(path, TableMapping, "column mapping", fmt="json" if path.endswith(".json") else "yaml")
        data = base.model_dump(exclude_unset=True)
    for spec in cols:
        key, sep, column = spec.partition("=")
        key = key.strip()
        if not sep or not column.strip():
            raise UsageError(f"--col {spec!r}: expected KEY=COLUMN, e.g. --col post='Reddit post'")
        if key not in TableMapping.model_fields or key in _NOT_COLUMNS:
            keys = [k for k in TableMapping.model_fields if k not in _NOT_COLUMNS]
            raise UsageError(f"--col {spec!r}: unknown key {key!r}; expected one of {keys}")
        data[key] = [c.strip() for c in column.split(",")] if key == "system" else column.strip()
    return TableMapping.model_validate(data)  # its model_fields_set: the keys named explicitly


def mapped_column(table: Table, mapping: TableMapping, key: str) -> str | None:
    """The column of ``key`` in ``table``: its mapped name if the table has it, None if not (an error if the user
    named the column explicitly)."""
    name = getattr(mapping, key)
    if name in table.columns:
        return str(name)
    if key in mapping.model_fields_set:
        raise InputError(
            Problem(f"{table.name} row 1", f"no column {name!r} (mapped as {key}); the columns are {table.columns}")
        )
    return None


def score_regex(
    mapping: TableMapping, rubrics: Mapping[str, Rubric], systems: Sequence[str] = ()
) -> tuple[re.Pattern[str], dict[str, str]]:
    """The regular expression of score column names, and criterion spelling (lower-case) -> criterion name.

    ``systems``: the systems a ``{system}`` may match (``--systems``, or those of the grid's items); any name if
    empty."""
    found = PLACEHOLDER.findall(mapping.scores)
    names = set(found)
    if not names or names - {"rater", "criterion", "system"}:
        raise UsageError(
            f"--scores {mapping.scores!r}: name score columns with {{criterion}}, {{rater}} and/or {{system}}, "
            "e.g. '{criterion}', '{rater}_{criterion}' or '{system}'"
        )
    if len(found) != len(names):
        twice = sorted(n for n in names if found.count(n) > 1)
        raise UsageError(
            f"--scores {mapping.scores!r}: {{{twice[0]}}} appears twice; a column name holds each of {{criterion}}, "
            "{rater} and {system} once, e.g. '{rater}_{criterion}'"
        )
    if names == {"rater"} and not mapping.raters:
        raise UsageError(
            "--scores '{rater}' alone would take every other column as a rater: list the raters (--raters a,b,c)"
        )
    if names == {"system"} and not systems:
        raise UsageError(
            "--scores '{system}' alone would take every other column as a system: list the systems (--systems a,b,c) "
            "or read the grid's replies with --items and --col response='PATTERN_{system}'"
        )
    unknown = sorted(set(mapping.criteria.values()) - set(rubrics))
    if unknown:
        raise UsageError(f"criteria spellings map to unknown criteria {unknown}; the criteria are {sorted(rubrics)}")
    spellings = {c.lower(): c for c in rubrics} | {k.lower(): v for k, v in mapping.criteria.items()}
    alternation = {
        "criterion": "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True)),
        "rater": "|".join(re.escape(r) for r in mapping.raters) if mapping.raters else ".+?",
        "system": "|".join(re.escape(x) for x in sorted(systems, key=len, reverse=True)) if systems else ".+?",
    }
    parts = re.split(r"(\{rater\}|\{criterion\}|\{system\})", mapping.scores)
    body = "".join(f"(?P<{p[1:-1]}>{alternation[p[1:-1]]})" if p in ("{rater}", "{criterion}", "{system}")
                   else re.escape(p) for p in parts)  # fmt: skip
    return re.compile(f"^{body}$", re.IGNORECASE), spellings

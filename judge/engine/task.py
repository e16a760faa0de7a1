"""What is judged: the judge-task seam, and the registry of tasks.

A run judges *units*. What a unit is (its items, its messages, its answer schema, how its answer is read, its cache
identity and the record it leaves) is the run's *task*. The runner, the reply cache, the run store, the budget and
resuming know units and records only through the two protocols below, so a new task is a module that defines a
``JudgeTask`` and its record type and calls ``register_task``; nothing in ``runner``, ``cache``, ``store`` or
``calls/`` changes.

The built-in tasks:

- ``score`` (``judge.engine.score_task.ScoreTask``): absolute scoring, one unit per (judge, item, criterion,
  sample), the record ``judge.engine.judgment.Judgment``;
- ``pairwise`` (``judge.engine.pairwise.PairwiseTask``): which of two replies to the same post is better, one unit
  per (judge, pair, criterion, order, sample), the record ``judge.engine.pairwise.PairJudgment``.

Records: every record names its task in a ``task`` field; the store reads a line as the record type of that task
(a discriminated union, ``record_adapter``). A record without the field is a score record: runs written before
tasks existed load unchanged.

Example (a task defined outside the engine; see ``tests/test_task_seam.py`` for a whole one)::

    from judge.engine.task import register_task

    @register_task
    class LongerThan:
        name = "longer_than"
        record_type = LongerRecord
        ...
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, Union, cast, runtime_checkable

from pydantic import BaseModel, Discriminator, Tag, TypeAdapter

from judge.errors import UsageError

if TYPE_CHECKING:
    from judge.engine.cache import CachedReply
    from judge.engine.judge_spec import JudgeSpec
    from judge.engine.plan import RunConfig

#: The task of a record without a ``task`` field (records written before tasks existed are scores).
DEFAULT_TASK = "score"

# Modules that define (and register) the built-in tasks: imported on the first lookup, so a lookup by name works
# without the caller having imported them, and importing the engine stays cheap.
_BUILTIN = ("judge.engine.score_task", "judge.engine.pairwise")


@runtime_checkable
class TaskRecord(Protocol):
    """What the runner, store and summary read from any task's record (a pydantic model, one JSON line)."""

    task: str
    judge: str
    cache_hit: bool
    attempts: int
    cost_usd: float | None
    tokens_in: int
    tokens_out: int
    latency_s: float
    unscored_reason: str | None

    @property
    def key(self) -> Hashable:
        """The record's identity within a run (a later record of the same key replaces an unscored one)."""
        ...

    @property
    def scored(self) -> bool:
        """An answer was read (a final record); False: missing data, with ``unscored_reason``."""
        ...

    def judged_items(self) -> Iterable[tuple[str, str | None]]:
        """(item id, content hash it judged or None if not recorded) for every item the unit showed the judge."""
        ...


class TaskUnit(Protocol):
    """One call's worth of work: everything needed to call the model and to record the answer."""

    judge: JudgeSpec
    messages: list[dict[str, str]]
    response_format: dict[str, Any] | None
    seed: int
    key: str  # the reply cache key: units with the same key share one call

    @property
    def judgment_key(self) -> Hashable:
        """The key of the record this unit leaves (``TaskRecord.key``)."""
        ...

    def judgment(
        self,
        reply: CachedReply | None,
        *,
        cache_hit: bool,
        attempts: int = 0,
        error: str | None = None,
        overflow: bool = False,
    ) -> Any:
        """The record of this unit for a reply (parsed), or for no reply (the call failed, or overflowed)."""
        ...


class JudgeTask(Protocol):
    """What a run judges. An instance carries the task's options (e.g. which pairs); the class is registered."""

    name: ClassVar[str]
    record_type: ClassVar[type[BaseModel]]

    def units(self, cfg: RunConfig, done: set[Any]) -> Iterator[TaskUnit]:
        """Every unit of the run whose record key is not in ``done``, in the order the calls should be made."""
        ...

    def size(self, cfg: RunConfig) -> int:
        """How many units (records) the whole run has."""
        ...

    def selected(self, cfg: RunConfig, keys: set[Any]) -> int:
        """How many of ``keys`` (records of the run directory) belong to this run's selection."""
        ...

    def prompt_hash(self, cfg: RunConfig) -> str:
        """The hash of the prompt templates the run's judges are sent (recorded in run.json; resuming compares)."""
        ...

    def options(self) -> dict[str, Any]:
        """The task's options as JSON (recorded in run.json: a run is resumed only with the same options)."""
        ...


TASKS: dict[str, type[Any]] = {}
_adapter: tuple[tuple[str, ...], TypeAdapter[Any]] | None = None


def register_task(cls: type[Any]) -> type[Any]:
    """Register a judge task class by its ``name`` (use as a class decorator); return the class.

    Raises:
        ValueError: the name is taken by another class, or the class lacks ``name``/``record_type`` or a record
            type with a ``task`` field.
    """
    name = getattr(cls, "name", None)
    record = getattr(cls, "record_type", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"task class {cls.__qualname__}: 'name' must be an identifier, got {name!r}")
    if not (isinstance(record, type) and issubclass(record, BaseModel) and "task" in record.model_fields):
        raise ValueError(f"task {name!r}: record_type must be a pydantic model with a 'task' field")
    have = TASKS.get(name)
    if have is not None and have.__qualname__ != cls.__qualname__:
        raise ValueError(f"task {name!r} is already registered by {have.__module__}.{have.__qualname__}")
    TASKS[name] = cls
    return cls


def unregister_task(name: str) -> None:
    """Remove a task from the registry (tests registering their own)."""
    TASKS.pop(name, None)


def _load_builtin() -> None:
    import importlib

    for module in _BUILTIN:
        importlib.import_module(module)


def task_names() -> list[str]:
    """The registered task names (built-in ones included), sorted: the choices of ``--task``."""
    _load_builtin()
    return sorted(TASKS)


def get_task(name: str) -> type[Any]:
    """The task class registered as ``name``.

    Raises:
        UsageError: no such task; the message lists the known tasks and suggests the closest name.
    """
    if name not in TASKS:
        _load_builtin()
    cls = TASKS.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, list(TASKS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unknown judge task {name!r}{hint} (known tasks: {', '.join(sorted(TASKS))})")
    return cls


def _record_task(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("task") or DEFAULT_TASK)
    return str(getattr(value, "task", DEFAULT_TASK))


def record_adapter() -> TypeAdapter[Any]:
    """The pydantic adapter reading a record of any registered task (a union discriminated on ``task``; a record
    without it is a score record). Rebuilt when the registry changes."""
    global _adapter
    _load_builtin()
    names = tuple(sorted(TASKS))
    if _adapter is None or _adapter[0] != names:
        members: Any = tuple(Annotated[TASKS[n].record_type, Tag(n)] for n in names)
        union: Any = Annotated[Union[members], Discriminator(_record_task)]  # noqa: UP007 (built at run time)
        _adapter = (names, TypeAdapter(union))
    return _adapter[1]


def read_record(line: str) -> Any:
    """One record line of any task, validated (``ValueError`` if it is none).

    A score record (no ``task`` field, or ``"task":"score"``, the run files' common case) is read by its own model
    directly: the union's discriminator costs about half as much again per line, which a run of millions of
    judgments would feel. Any other line, or one the score model refuses, is read through ``record_adapter``.
    """
    if '"task":' not in line or '"task":"score"' in line:
        score: Any = TASKS.get(DEFAULT_TASK) or get_task(DEFAULT_TASK)
        try:
            return score.record_type.model_validate_json(line)
        except ValueError:
            pass  # e.g. a hand-edited record spelling its task with spaces: the union says what is wrong
    return record_adapter().validate_json(line)


def task_of(cfg: RunConfig) -> JudgeTask:
    """The task a run judges (``RunConfig.task``; absolute scoring when unset)."""
    if cfg.task is not None:
        return cast("JudgeTask", cfg.task)
    task: JudgeTask = get_task(DEFAULT_TASK)()
    return task

"""Absolute scoring, the judge task ``score``: each item on each criterion, on the rubric's scale.

The units and their prompts are planned in ``judge.engine.plan`` (``plan_units``); this module is the task's face
to the runner (``judge.engine.task``), as ``judge.engine.pairwise`` is the pairwise task's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from judge.engine.judgment import Judgment
from judge.engine.plan import JudgmentUnit, RunConfig, plan_units, run_prompt_hash
from judge.engine.task import register_task


@register_task
class ScoreTask:
    """Absolute scoring (the task ``score``): each item on each criterion, on the rubric's scale.

    One unit per (judge, item, criterion, sample), planned by ``plan_units``; the record is ``Judgment``.
    """

    name: ClassVar[str] = "score"
    record_type: ClassVar[type[Judgment]] = Judgment

    def units(self, cfg: RunConfig, done: set[Any]) -> Iterator[JudgmentUnit]:
        return plan_units(cfg, done)

    def size(self, cfg: RunConfig) -> int:
        return len(cfg.judges) * len(cfg.selected_ids()) * len(cfg.rubrics) * cfg.samples

    def selected(self, cfg: RunConfig, keys: set[Any]) -> int:
        judges, ids = {j.name for j in cfg.judges}, set(cfg.selected_ids())
        return sum(j in judges and i in ids and c in cfg.rubrics and s < cfg.samples for j, i, c, s in keys)

    def prompt_hash(self, cfg: RunConfig) -> str:
        return run_prompt_hash(cfg.judges, list(cfg.rubrics.values()))

    def options(self) -> dict[str, Any]:
        return {}

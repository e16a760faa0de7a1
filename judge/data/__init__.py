"""Stage 1, data: what is judged and what it is compared with.

Rubric sets (criteria, scales, levels of measurement), benchmarks (items and expert ratings), importers that
build benchmarks from other layouts, and the configs of systems that generate responses. Nothing here calls a
model or computes a statistic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judge.data.benchmark import (
        Benchmark as Benchmark,
    )
    from judge.data.benchmark import (
        BenchmarkManifest as BenchmarkManifest,
    )
    from judge.data.benchmark import (
        ExpertRating as ExpertRating,
    )
    from judge.data.benchmark import (
        Item as Item,
    )
    from judge.data.benchmark import (
        check_ratings as check_ratings,
    )
    from judge.data.benchmark import (
        default_demo_dir as default_demo_dir,
    )
    from judge.data.benchmark import (
        load_benchmark as load_benchmark,
    )
    from judge.data.benchmark import (
        save_benchmark as save_benchmark,
    )
    from judge.data.importers.resort import (
        import_resort as import_resort,
    )
    from judge.data.importers.resort import (
        import_summary as import_summary,
    )
    from judge.data.importers.resort import (
        read_posts as read_posts,
    )
    from judge.data.ratings import (
        parse_rating as parse_rating,
    )
    from judge.data.ratings import (
        rating_problems as rating_problems,
    )
    from judge.data.rubric import (
        Dimension as Dimension,
    )
    from judge.data.rubric import (
        Level as Level,
    )
    from judge.data.rubric import (
        Rubric as Rubric,
    )
    from judge.data.rubric import (
        ScalePoint as ScalePoint,
    )
    from judge.data.rubric import (
        default_rubrics_dir as default_rubrics_dir,
    )
    from judge.data.rubric import (
        find_criterion_name as find_criterion_name,
    )
    from judge.data.rubric import (
        load_rubric as load_rubric,
    )
    from judge.data.rubric import (
        load_rubric_set as load_rubric_set,
    )
    from judge.data.rubric import (
        parse_rubric as parse_rubric,
    )
    from judge.data.rubric import (
        rubric_json_schema as rubric_json_schema,
    )
    from judge.data.rubric import (
        validation_problems as validation_problems,
    )
    from judge.data.systems import (
        APPRAISAL_QUESTIONS as APPRAISAL_QUESTIONS,
    )
    from judge.data.systems import (
        RESORT_DIMENSIONS as RESORT_DIMENSIONS,
    )
    from judge.data.systems import (
        SystemConfig as SystemConfig,
    )
    from judge.data.systems import (
        builtin_names as builtin_names,
    )
    from judge.data.systems import (
        load_system as load_system,
    )
    from judge.data.systems import (
        parse_system as parse_system,
    )

# name -> the module that defines it; imported on first use, so importing the stage stays cheap
_WHERE = {
    "default_rubrics_dir": "judge.data.rubric",
    "Dimension": "judge.data.rubric",
    "find_criterion_name": "judge.data.rubric",
    "Level": "judge.data.rubric",
    "load_rubric": "judge.data.rubric",
    "load_rubric_set": "judge.data.rubric",
    "parse_rubric": "judge.data.rubric",
    "Rubric": "judge.data.rubric",
    "rubric_json_schema": "judge.data.rubric",
    "ScalePoint": "judge.data.rubric",
    "validation_problems": "judge.data.rubric",
    "Benchmark": "judge.data.benchmark",
    "BenchmarkManifest": "judge.data.benchmark",
    "check_ratings": "judge.data.benchmark",
    "default_demo_dir": "judge.data.benchmark",
    "ExpertRating": "judge.data.benchmark",
    "Item": "judge.data.benchmark",
    "load_benchmark": "judge.data.benchmark",
    "save_benchmark": "judge.data.benchmark",
    "APPRAISAL_QUESTIONS": "judge.data.systems",
    "builtin_names": "judge.data.systems",
    "load_system": "judge.data.systems",
    "parse_system": "judge.data.systems",
    "RESORT_DIMENSIONS": "judge.data.systems",
    "SystemConfig": "judge.data.systems",
    "import_resort": "judge.data.importers.resort",
    "import_summary": "judge.data.importers.resort",
    "read_posts": "judge.data.importers.resort",
    "parse_rating": "judge.data.ratings",
    "rating_problems": "judge.data.ratings",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

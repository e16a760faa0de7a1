"""Stage 1, data: what is judged and what it is compared with.

Rubric sets (criteria, scales, levels of measurement, the set's framing), benchmarks (items, which may be
conversations, and expert ratings), importers behind one interface that build benchmarks from other layouts
(the RESORT release, tables, raw judge outputs), the check of ratings against their scales, and the configs of
systems that generate responses. Nothing here calls a
model or computes a statistic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.lazy import load_attribute

if TYPE_CHECKING:
    from judge.data.benchmark import (
        Benchmark as Benchmark,
        BenchmarkManifest as BenchmarkManifest,
        ExpertRating as ExpertRating,
        Item as Item,
        Turn as Turn,
        benchmark_json_schemas as benchmark_json_schemas,
        check_ratings as check_ratings,
        default_demo_dir as default_demo_dir,
        load_benchmark as load_benchmark,
        save_benchmark as save_benchmark,
    )
    from judge.data.framing import (
        NEUTRAL_FRAMING as NEUTRAL_FRAMING,
        Framing as Framing,
        load_framing as load_framing,
    )
    from judge.data.importers.base import (
        Imported as Imported,
        Importer as Importer,
        get_importer as get_importer,
    )
    from judge.data.importers.resort import (
        import_resort as import_resort,
        import_summary as import_summary,
        read_posts as read_posts,
    )
    from judge.data.importers.table import (
        TableMapping as TableMapping,
    )
    from judge.data.probes import (
        PROBES as PROBES,
        perturbed_benchmark as perturbed_benchmark,
    )
    from judge.data.ratings import (
        parse_rating as parse_rating,
        rating_problems as rating_problems,
    )
    from judge.data.rubric import (
        Dimension as Dimension,
        Level as Level,
        Rubric as Rubric,
        ScalePoint as ScalePoint,
        default_rubrics_dir as default_rubrics_dir,
        find_criterion_name as find_criterion_name,
        load_rubric as load_rubric,
        load_rubric_set as load_rubric_set,
        new_rubric_yaml as new_rubric_yaml,
        parse_rubric as parse_rubric,
        rubric_json_schema as rubric_json_schema,
        validation_problems as validation_problems,
    )
    from judge.data.systems import (
        APPRAISAL_QUESTIONS as APPRAISAL_QUESTIONS,
        RESORT_DIMENSIONS as RESORT_DIMENSIONS,
        SystemConfig as SystemConfig,
        builtin_names as builtin_names,
        load_system as load_system,
        parse_system as parse_system,
    )

# name -> the module that defines it; imported on first use, so importing the stage stays cheap
_WHERE = {
    "PROBES": "judge.data.probes",
    "perturbed_benchmark": "judge.data.probes",
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
    "Turn": "judge.data.benchmark",
    "benchmark_json_schemas": "judge.data.benchmark",
    "Framing": "judge.data.framing",
    "NEUTRAL_FRAMING": "judge.data.framing",
    "load_framing": "judge.data.framing",
    "Imported": "judge.data.importers.base",
    "Importer": "judge.data.importers.base",
    "get_importer": "judge.data.importers.base",
    "TableMapping": "judge.data.importers.table",
    "parse_rating": "judge.data.ratings",
    "rating_problems": "judge.data.ratings",
    "new_rubric_yaml": "judge.data.rubric",
    "import_resort": "judge.data.importers.resort",
    "import_summary": "judge.data.importers.resort",
    "read_posts": "judge.data.importers.resort",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    return load_attribute(__name__, _WHERE, name)

"""Stage 5, jobs: what a user runs end to end, composed from the stages below.

The demo (``judge demo``), the prompt regression gate for CI (``judge gate``), bias probes (``judge probe``)
and the pytest fixture (``reappraisal_judge``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.lazy import load_attribute

if TYPE_CHECKING:
    from judge.jobs.demo import (
        DemoResult as DemoResult,
        run_demo as run_demo,
    )
    from judge.jobs.gate import (
        GateConfig as GateConfig,
        GateReport as GateReport,
        compare as compare,
        load_gate_config as load_gate_config,
        load_side as load_side,
        write_baseline as write_baseline,
    )
    from judge.jobs.probe import (
        ProbeConfig as ProbeConfig,
        run_probes as run_probes,
    )
    from judge.jobs.pytest_plugin import (
        ReappraisalJudge as ReappraisalJudge,
        UnscoredJudgment as UnscoredJudgment,
    )

# name -> the module that defines it; imported on first use, so importing the stage stays cheap
_WHERE = {
    "ProbeConfig": "judge.jobs.probe",
    "run_probes": "judge.jobs.probe",
    "DemoResult": "judge.jobs.demo",
    "run_demo": "judge.jobs.demo",
    "compare": "judge.jobs.gate",
    "GateConfig": "judge.jobs.gate",
    "GateReport": "judge.jobs.gate",
    "load_gate_config": "judge.jobs.gate",
    "load_side": "judge.jobs.gate",
    "write_baseline": "judge.jobs.gate",
    "ReappraisalJudge": "judge.jobs.pytest_plugin",
    "UnscoredJudgment": "judge.jobs.pytest_plugin",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    return load_attribute(__name__, _WHERE, name)

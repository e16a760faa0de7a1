"""Stage 3, analysis: what the judgments say, measured against the experts.

Judge scores as read from runs, the expert ratings (``experts``: the rater x item matrix, means, raters left out),
the checked inputs of a verb (``inputs``), agreement with the experts (and among them), calibration onto the
experts' scale, prediction-powered means, system leaderboards and judge boards. Every statistic and resampling lives
in ``judge.analysis.stats``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.lazy import load_attribute

if TYPE_CHECKING:
    from judge.analysis.agreement import (
        AgreementReport as AgreementReport,
        CriterionAgreement as CriterionAgreement,
        ExpertAgreement as ExpertAgreement,
        JudgeAgreement as JudgeAgreement,
        agreement_report as agreement_report,
    )
    from judge.analysis.calibration import (
        Calibrator as Calibrator,
        cross_fit as cross_fit,
        fit_calibrator as fit_calibrator,
        held_out_scores as held_out_scores,
    )
    from judge.analysis.experts import (
        exclude_raters as exclude_raters,
        expert_matrix as expert_matrix,
        expert_means as expert_means,
    )
    from judge.analysis.inputs import (
        Inputs as Inputs,
        load_inputs as load_inputs,
    )
    from judge.analysis.judge_board import (
        JudgeLeaderboard as JudgeLeaderboard,
        judge_leaderboard as judge_leaderboard,
    )
    from judge.analysis.leaderboard import (
        Leaderboard as Leaderboard,
        system_leaderboard as system_leaderboard,
    )
    from judge.analysis.ppi import (
        PPIEstimate as PPIEstimate,
        ppi_mean as ppi_mean,
        system_estimates as system_estimates,
    )
    from judge.analysis.probes import (
        ProbeReport as ProbeReport,
        probe_shifts as probe_shifts,
        self_preference as self_preference,
    )
    from judge.analysis.scores import (
        JudgeScores as JudgeScores,
        calibrated as calibrated,
        check_rubrics as check_rubrics,
        cross_fitted as cross_fitted,
        judges_with_calibrators as judges_with_calibrators,
        load_calibrators as load_calibrators,
        match_calibrator as match_calibrator,
        pick_judge as pick_judge,
        read_judges as read_judges,
        read_runs as read_runs,
    )

# name -> the module that defines it; imported on first use, so importing the stage stays cheap
_WHERE = {
    "ProbeReport": "judge.analysis.probes",
    "probe_shifts": "judge.analysis.probes",
    "self_preference": "judge.analysis.probes",
    "calibrated": "judge.analysis.scores",
    "check_rubrics": "judge.analysis.scores",
    "cross_fitted": "judge.analysis.scores",
    "judges_with_calibrators": "judge.analysis.scores",
    "JudgeScores": "judge.analysis.scores",
    "load_calibrators": "judge.analysis.scores",
    "match_calibrator": "judge.analysis.scores",
    "pick_judge": "judge.analysis.scores",
    "read_judges": "judge.analysis.scores",
    "read_runs": "judge.analysis.scores",
    "agreement_report": "judge.analysis.agreement",
    "AgreementReport": "judge.analysis.agreement",
    "CriterionAgreement": "judge.analysis.agreement",
    "ExpertAgreement": "judge.analysis.agreement",
    "JudgeAgreement": "judge.analysis.agreement",
    "exclude_raters": "judge.analysis.experts",
    "expert_matrix": "judge.analysis.experts",
    "expert_means": "judge.analysis.experts",
    "Inputs": "judge.analysis.inputs",
    "load_inputs": "judge.analysis.inputs",
    "Calibrator": "judge.analysis.calibration",
    "cross_fit": "judge.analysis.calibration",
    "fit_calibrator": "judge.analysis.calibration",
    "held_out_scores": "judge.analysis.calibration",
    "Leaderboard": "judge.analysis.leaderboard",
    "system_leaderboard": "judge.analysis.leaderboard",
    "judge_leaderboard": "judge.analysis.judge_board",
    "JudgeLeaderboard": "judge.analysis.judge_board",
    "ppi_mean": "judge.analysis.ppi",
    "PPIEstimate": "judge.analysis.ppi",
    "system_estimates": "judge.analysis.ppi",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    return load_attribute(__name__, _WHERE, name)

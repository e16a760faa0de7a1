"""Pairwise judging, the analysis face: which of two replies is better, from a judge and from the psychologists.

The inputs:

- ``Preference`` (``preferences``): one judge's verdicts on one pair of comparable replies (same post, appraisal
  dimension and, for conversations, context), asked in both orders, each verdict mapped back to the canonical A/B;
  ``preferences_from_records`` builds them from pairwise run records, ``preferences_from_scores`` from any judge's
  absolute scores (does asking pairwise beat scoring?);
- ``expert_preferences`` (``experts``): the experts' preference on every comparable pair of rated replies (decided
  when the mean ratings differ by more than a margin), the decided pairs at each margin, and each single expert's
  own preference (the ceiling);
- ``validity_pairs`` (``validity``): the fixed stratified set of pairs of the validity benchmark.

The results (pydantic, ready to render): ``pairwise_agreement`` (``agreement``: each judge against the experts'
preferences, beside the experts' ceiling and chance rows, with position bias) and ``pairwise_rankings``
(``rankings``: systems' win rates, Bradley-Terry strengths with rank intervals, length-controlled win rates against
a baseline); ``pairwise_leaderboard`` (``board``) puts both together for one pairwise run (``judge leaderboard``).
Every statistic is computed in ``judge.analysis.stats`` (``preference``, ``bradley_terry``); these modules only
assemble.

Example::

    from judge.analysis.pairwise import expert_preferences, pairwise_agreement, preferences_from_scores
    experts = expert_preferences(bench, "empathy", margin=0.0)
    gpt4 = preferences_from_scores(bench, gpt4_scores["empathy"], "empathy", judge="gpt-4",
                                   pairs=[(p.item_a, p.item_b) for p in experts.pairs])
    res = pairwise_agreement(experts, gpt4, n_boot=2000)
    crit = res.criteria[0]; crit.rows[0].kappa.value, crit.ceiling.kappa.value
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.lazy import load_attribute

if TYPE_CHECKING:
    from judge.analysis.pairwise.agreement import (
        CriterionPairwise as CriterionPairwise,
        PairwiseAgreement as PairwiseAgreement,
        PairwiseRow as PairwiseRow,
        pairwise_agreement as pairwise_agreement,
    )
    from judge.analysis.pairwise.board import (
        PairwiseLeaderboard as PairwiseLeaderboard,
        pairwise_leaderboard as pairwise_leaderboard,
    )
    from judge.analysis.pairwise.experts import (
        ExpertPair as ExpertPair,
        ExpertPreferences as ExpertPreferences,
        MarginCount as MarginCount,
        comparable_groups as comparable_groups,
        expert_preferences as expert_preferences,
    )
    from judge.analysis.pairwise.preferences import (
        Preference as Preference,
        balanced_preferences as balanced_preferences,
        canonical_verdict as canonical_verdict,
        comparable_key as comparable_key,
        preferences_from_records as preferences_from_records,
        preferences_from_scores as preferences_from_scores,
    )
    from judge.analysis.pairwise.rankings import (
        JudgeRanking as JudgeRanking,
        PairwiseRankings as PairwiseRankings,
        SystemRanking as SystemRanking,
        pairwise_rankings as pairwise_rankings,
    )
    from judge.analysis.pairwise.validity import ValidityPair as ValidityPair, validity_pairs as validity_pairs

_WHERE = {
    "CriterionPairwise": "judge.analysis.pairwise.agreement",
    "PairwiseAgreement": "judge.analysis.pairwise.agreement",
    "PairwiseRow": "judge.analysis.pairwise.agreement",
    "pairwise_agreement": "judge.analysis.pairwise.agreement",
    "PairwiseLeaderboard": "judge.analysis.pairwise.board",
    "pairwise_leaderboard": "judge.analysis.pairwise.board",
    "ExpertPair": "judge.analysis.pairwise.experts",
    "ExpertPreferences": "judge.analysis.pairwise.experts",
    "MarginCount": "judge.analysis.pairwise.experts",
    "comparable_groups": "judge.analysis.pairwise.experts",
    "expert_preferences": "judge.analysis.pairwise.experts",
    "Preference": "judge.analysis.pairwise.preferences",
    "balanced_preferences": "judge.analysis.pairwise.preferences",
    "canonical_verdict": "judge.analysis.pairwise.preferences",
    "comparable_key": "judge.analysis.pairwise.preferences",
    "preferences_from_records": "judge.analysis.pairwise.preferences",
    "preferences_from_scores": "judge.analysis.pairwise.preferences",
    "JudgeRanking": "judge.analysis.pairwise.rankings",
    "PairwiseRankings": "judge.analysis.pairwise.rankings",
    "SystemRanking": "judge.analysis.pairwise.rankings",
    "pairwise_rankings": "judge.analysis.pairwise.rankings",
    "ValidityPair": "judge.analysis.pairwise.validity",
    "validity_pairs": "judge.analysis.pairwise.validity",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    return load_attribute(__name__, _WHERE, name)

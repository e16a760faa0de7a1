"""Every statistic and every resampling of the package.

``resample`` makes the bootstrap draws (over items or over posts) and says when a sample is too thin for a CI;
``pairwise`` is the headline (kappa over judge-expert pairs, and over expert-expert pairs for the ceiling);
``alpha`` is Krippendorff's alpha; ``correlation`` the paired statistics (Spearman, Kendall, bias, weighted kappa,
ICC); ``system`` agreement of system means; ``alttest`` the alternative annotator test. Every function takes plain
numpy arrays or mappings and returns a pydantic result whose value is None, with a ``note``, when the statistic is
undefined for the data (never a crash, never a made-up number).

Names load on first use (``judge.analysis.stats.resample`` needs only numpy; the others bring scipy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.lazy import load_attribute

if TYPE_CHECKING:
    from judge.analysis.stats.alpha import AlphaResult as AlphaResult, bootstrap_alpha as bootstrap_alpha
    from judge.analysis.stats.alttest import (
        AltTestResult as AltTestResult,
        AltTestUndefinedError as AltTestUndefinedError,
        alt_test as alt_test,
    )
    from judge.analysis.stats.correlation import (
        BiasResult as BiasResult,
        Estimate as Estimate,
        IccEstimate as IccEstimate,
        icc as icc,
        icc_a1 as icc_a1,
        icc_c1 as icc_c1,
        kendall_tau_b as kendall_tau_b,
        mean_bias as mean_bias,
        quadratic_kappa as quadratic_kappa,
        spearman as spearman,
        system_spearman as system_spearman,
    )
    from judge.analysis.stats.pairwise import (
        Headline as Headline,
        expert_pairs as expert_pairs,
        headline as headline,
        judge_pairs as judge_pairs,
        permuted_kappas as permuted_kappas,
    )
    from judge.analysis.stats.resample import (
        MIN_CLUSTERS as MIN_CLUSTERS,
        MIN_ITEMS as MIN_ITEMS,
        cluster_bootstrap_means as cluster_bootstrap_means,
        percentile_ci as percentile_ci,
        too_few as too_few,
    )
    from judge.analysis.stats.system import SystemAgreement as SystemAgreement, system_agreement as system_agreement

_WHERE = {
    "AlphaResult": "judge.analysis.stats.alpha",
    "bootstrap_alpha": "judge.analysis.stats.alpha",
    "AltTestResult": "judge.analysis.stats.alttest",
    "AltTestUndefinedError": "judge.analysis.stats.alttest",
    "alt_test": "judge.analysis.stats.alttest",
    "BiasResult": "judge.analysis.stats.correlation",
    "Estimate": "judge.analysis.stats.correlation",
    "IccEstimate": "judge.analysis.stats.correlation",
    "icc": "judge.analysis.stats.correlation",
    "icc_a1": "judge.analysis.stats.correlation",
    "icc_c1": "judge.analysis.stats.correlation",
    "kendall_tau_b": "judge.analysis.stats.correlation",
    "mean_bias": "judge.analysis.stats.correlation",
    "quadratic_kappa": "judge.analysis.stats.correlation",
    "spearman": "judge.analysis.stats.correlation",
    "system_spearman": "judge.analysis.stats.correlation",
    "Headline": "judge.analysis.stats.pairwise",
    "expert_pairs": "judge.analysis.stats.pairwise",
    "headline": "judge.analysis.stats.pairwise",
    "judge_pairs": "judge.analysis.stats.pairwise",
    "permuted_kappas": "judge.analysis.stats.pairwise",
    "MIN_CLUSTERS": "judge.analysis.stats.resample",
    "MIN_ITEMS": "judge.analysis.stats.resample",
    "cluster_bootstrap_means": "judge.analysis.stats.resample",
    "percentile_ci": "judge.analysis.stats.resample",
    "too_few": "judge.analysis.stats.resample",
    "SystemAgreement": "judge.analysis.stats.system",
    "system_agreement": "judge.analysis.stats.system",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    return load_attribute(__name__, _WHERE, name)

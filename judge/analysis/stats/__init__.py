"""Agreement statistics: Krippendorff's alpha, paired correlations and the alternative annotator test.

Every function takes plain numpy arrays or mappings and returns a pydantic result whose value is None, with a
``note``, when the statistic is undefined for the data (never a crash, never a made-up number).
"""

from judge.analysis.stats.alpha import AlphaResult, bootstrap_alpha
from judge.analysis.stats.alttest import AltTestResult, AltTestUndefinedError, alt_test
from judge.analysis.stats.correlation import (
    BiasResult,
    Estimate,
    icc_a1,
    kendall_tau_b,
    mean_bias,
    quadratic_kappa,
    spearman,
    system_spearman,
)

__all__ = [
    "AlphaResult",
    "AltTestResult",
    "AltTestUndefinedError",
    "BiasResult",
    "Estimate",
    "alt_test",
    "bootstrap_alpha",
    "icc_a1",
    "kendall_tau_b",
    "mean_bias",
    "quadratic_kappa",
    "spearman",
    "system_spearman",
]

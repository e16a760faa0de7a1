"""Prediction-powered inference (PPI) for a mean on the experts' scale.

A few items carry expert ratings ("labeled"); many more carry only the judge's (calibrated) score ("unlabeled").
PPI (Angelopoulos et al., *Prediction-powered inference*, Science 2023) uses the judge on the many to narrow the
confidence interval, and the labeled items to correct the judge's bias, so the interval stays valid however
biased the judge is::

    theta_hat = mean(yhat_unlabeled) - mean(yhat_labeled - y_labeled)
    se^2      = var(yhat_unlabeled) / N + var(yhat_labeled - y_labeled) / n

The power-tuned variant (PPI++, Angelopoulos, Duchi and Zrnic 2023) weighs the judge by ``lam`` in [0, 1]:
``theta = mean(y_l) + lam * (mean(yhat_u) - mean(yhat_l))``; ``lam = 0`` is the classical estimate, so a useless judge
cannot make the interval much wider than the labeled data alone would.

The labeled items must be a random sample of the same population as the unlabeled ones, and the judge (and any
calibrator applied to it) must not have been fitted on the labeled items used here: use held-out (cross-fitted)
predictions, otherwise the rectifier is optimistic and the interval too narrow.

Example::

    from judge.analysis.stats.ppi import ppi_mean
    est = ppi_mean(expert_means, judge_on_rated, judge_on_unrated)
    est.mean, est.ci, est.width_ratio   # width_ratio < 1: PPI is narrower than experts alone
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats

from judge.errors import InputError, Problem


class PPIEstimate(BaseModel):
    """A prediction-powered estimate of a mean, with the classical (labeled-only) estimate for comparison."""

    model_config = ConfigDict(frozen=True)

    mean: float
    ci: tuple[float, float]
    n_labeled: int
    n_unlabeled: int
    classical_mean: float
    classical_ci: tuple[float, float]
    width_ratio: float
    """PPI interval width / classical width: below 1 means the judge's scores bought precision."""
    lam: float
    """Weight given to the judge: 1 for plain PPI, tuned in [0, 1] for PPI++."""
    confidence: float


def _vector(values: Sequence[float] | np.ndarray, name: str, min_len: int) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise InputError(Problem(name, f"must be a 1-D sequence of numbers, got shape {arr.shape}"))
    if arr.size < min_len:
        raise InputError(Problem(name, f"needs at least {min_len} values, got {arr.size}"))
    if not np.all(np.isfinite(arr)):
        raise InputError(Problem(name, "must hold finite numbers only (drop unscored items first and count them)"))
    return arr


def tuned_lambda(y_labeled: np.ndarray, yhat_labeled: np.ndarray, yhat_unlabeled: np.ndarray) -> float:
    """The PPI++ weight minimising the estimator's variance, clipped to [0, 1].

    ``lam* = Cov(y, yhat) / ((1 + n/N) Var(yhat))`` with ``Var(yhat)`` pooled over labeled and unlabeled items.
    """
    n, big_n = y_labeled.size, yhat_unlabeled.size
    var_f = float(np.var(np.concatenate([yhat_labeled, yhat_unlabeled]), ddof=1))
    if var_f == 0.0:
        return 0.0  # a constant judge carries no information about y
    cov = float(np.cov(y_labeled, yhat_labeled, ddof=1)[0, 1])
    return float(np.clip(cov / ((1.0 + n / big_n) * var_f), 0.0, 1.0))


def ppi_mean(
    y_labeled: Sequence[float] | np.ndarray,
    yhat_labeled: Sequence[float] | np.ndarray,
    yhat_unlabeled: Sequence[float] | np.ndarray,
    alpha: float = 0.05,
    *,
    power_tuned: bool = False,
) -> PPIEstimate:
    """Prediction-powered mean and its normal-approximation ``1 - alpha`` confidence interval.

    Args:
        y_labeled: expert values (e.g. the expert mean per item), shape (n,).
        yhat_labeled: the judge's score on the same items, same order, shape (n,).
        yhat_unlabeled: the judge's score on items without expert ratings, shape (N,).
        alpha: 1 - confidence level.
        power_tuned: use the PPI++ weight ``lam`` (see ``tuned_lambda``) instead of 1.

    Returns:
        PPIEstimate with the PPI mean and interval, the classical mean and interval from ``y_labeled`` alone,
        and ``width_ratio`` = PPI width / classical width.

    Example::

        >>> est = ppi_mean([3, 4, 5], [4, 5, 6], [5, 6, 4, 5])
        >>> round(est.mean, 3)  # mean(yhat_u) 5.0 minus mean rectifier 1.0
        4.0
    """
    if not 0.0 < alpha < 1.0:
        raise InputError(Problem("alpha", f"must be in (0, 1), got {alpha}"))
    y = _vector(y_labeled, "y_labeled", 2)
    f_l = _vector(yhat_labeled, "yhat_labeled", 2)
    f_u = _vector(yhat_unlabeled, "yhat_unlabeled", 2)
    if y.size != f_l.size:
        raise InputError(Problem("yhat_labeled", f"must have one value per labeled item ({y.size}), got {f_l.size}"))
    n, big_n = y.size, f_u.size
    lam = tuned_lambda(y, f_l, f_u) if power_tuned else 1.0
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))

    rectifier = y - lam * f_l
    theta = float(lam * f_u.mean() + rectifier.mean())
    se = float(np.sqrt(lam**2 * np.var(f_u, ddof=1) / big_n + np.var(rectifier, ddof=1) / n))

    classical = float(y.mean())
    se_classical = float(np.std(y, ddof=1) / np.sqrt(n))
    width_ratio = se / se_classical if se_classical > 0 else float("nan")
    return PPIEstimate(
        mean=theta,
        ci=(theta - z * se, theta + z * se),
        n_labeled=n,
        n_unlabeled=big_n,
        classical_mean=classical,
        classical_ci=(classical - z * se_classical, classical + z * se_classical),
        width_ratio=width_ratio,
        lam=lam,
        confidence=1.0 - alpha,
    )

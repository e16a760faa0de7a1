"""The code stays clean: ruff (lint) and mypy (types), as configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    out = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


@pytest.mark.slow
def test_mypy_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


# -- every statistic is computed in judge/analysis/stats/ -----------------------------------------------------------

import ast  # noqa: E402

STATS_DIR = ROOT / "judge" / "analysis" / "stats"
#: Functions that compute a statistic (correlation, dispersion, quantiles, kappa, tests, distributions) or a CI.
STAT_FUNCTIONS = {
    "spearmanr", "kendalltau", "pearsonr", "pointbiserialr", "weightedtau", "rankdata", "corrcoef", "cov",
    "var", "nanvar", "std", "nanstd", "stdev", "pstdev", "variance", "pvariance", "quantiles",
    "percentile", "nanpercentile", "quantile", "nanquantile", "median_abs_deviation",
    "cohen_kappa_score", "ttest_1samp", "ttest_rel", "ttest_ind", "wilcoxon", "bootstrap", "permutation_test",
}  # fmt: skip
#: Libraries of statistics: only stats/ imports them.
STAT_MODULES = ("scipy.stats", "krippendorff", "sklearn", "statsmodels", "pingouin")
#: The resample generators of stats/resample.py: a loop over them is a bootstrap, and bootstraps live in stats/.
RESAMPLE_BLOCKS = {"item_weight_blocks", "item_weight_blocks_t", "resample_blocks"}


def statistic_computations(source: str) -> list[tuple[int, str]]:
    """(line, what) for every statistic computed in ``source``: a call named in STAT_FUNCTIONS, an import of a
    statistics library, numpy random draws (resampling), or a loop over bootstrap resamples."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if name in STAT_FUNCTIONS:
                found.append((node.lineno, f"{name}()"))
            if name == "default_rng":
                found.append((node.lineno, "random draws (default_rng)"))
        elif isinstance(node, ast.Attribute) and node.attr == "random" and isinstance(node.value, ast.Name):
            if node.value.id in ("np", "numpy"):
                found.append((node.lineno, "numpy.random"))
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            names = [f"{mod}.{a.name}" for a in node.names]
            for full in [mod, *names]:
                if any(full == m or full.startswith(m + ".") for m in STAT_MODULES):
                    found.append((node.lineno, f"import {full}"))
                    break
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(alias.name == m or alias.name.startswith(m + ".") for m in STAT_MODULES):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.For | ast.comprehension):
            it = node.iter
            if isinstance(it, ast.Call):
                f = it.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
                if name in RESAMPLE_BLOCKS:
                    found.append((getattr(node, "lineno", it.lineno), f"bootstrap loop over {name}()"))
    return found


def test_no_statistic_is_computed_outside_stats() -> None:
    """docs/architecture.md: "Analyses call it; they do not compute it again". Every statistic that reaches a
    report, a JSON field, a verdict or an exit code is computed in judge/analysis/stats/ (plain means and counts are
    not statistics here; neither is fitting a calibrator's map)."""
    offenders = []
    for path in sorted((ROOT / "judge").rglob("*.py")):
        if STATS_DIR in path.parents:
            continue
        for line, what in statistic_computations(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offenders == [], "statistics computed outside judge/analysis/stats/:\n" + "\n".join(offenders)


def test_the_statistics_scan_finds_each_kind() -> None:
    source = """
import krippendorff
import numpy as np
from scipy import stats
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score
lo, hi = np.percentile(boot, [2.5, 97.5])
rho = stats.spearmanr(x, y).statistic
q = np.nanquantile(b, 0.025, axis=0)
sd = statistics.pstdev(v)
rng = np.random.default_rng(0)
idx = np.random.integers(0, 5, 10)
for w in item_weight_blocks_t(n, 2000, 0):
    pass
boots = [f(w) for w in item_weight_blocks(n, 100, 0)]
mean = float(np.mean(x))
"""
    found = statistic_computations(source)
    whats = [w for _, w in found]
    assert (
        whats.count("import scipy.stats") == 2 and "import krippendorff" in whats and "import sklearn.metrics" in whats
    )
    assert {"percentile()", "spearmanr()", "nanquantile()", "pstdev()", "random draws (default_rng)"} <= set(whats)
    assert "numpy.random" in whats
    assert "bootstrap loop over item_weight_blocks_t()" in whats and "bootstrap loop over item_weight_blocks()" in whats
    assert not any(line == 16 for line, _ in found)  # a mean is not flagged


def test_one_percentile_ci_function() -> None:
    """Inside stats/ too, every percentile interval comes from resample.py (``percentile_ci`` and its column form)."""
    calls = {
        f"{path.name}:{line}"
        for path in sorted(STATS_DIR.glob("*.py"))
        if path.name != "resample.py"
        for line, what in statistic_computations(path.read_text(encoding="utf-8"))
        if what in {"percentile()", "nanpercentile()", "quantile()", "nanquantile()"}
    }
    assert calls == set(), f"percentiles computed outside stats/resample.py: {sorted(calls)}"


def test_no_judge_name_is_parsed_for_its_calibration() -> None:
    """Whether a judge is calibrated is read from its typed identity (judge/engine/identity.py renders the names);
    no other code holds a string with "(calibrated" to split or search a name with."""
    offenders = []
    for path in sorted((ROOT / "judge").rglob("*.py")):
        if path.name == "identity.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
        for node in ast.walk(tree):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            if is_text and "(calibrated" in node.value:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert offenders == []

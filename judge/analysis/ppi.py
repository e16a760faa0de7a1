"""Prediction-powered means per system: the labeled (expert-rated) and unlabeled items of each system, and the
PPI estimate of ``judge.analysis.stats.ppi`` on them (``judge estimate``).

Example::

    from judge.analysis.ppi import system_estimates
    system_estimates(bench, scores["empathy"], "empathy")["all systems"]["ci"]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from judge.analysis.experts import expert_means
from judge.analysis.stats.ppi import PPIEstimate as PPIEstimate, ppi_mean as ppi_mean, tuned_lambda as tuned_lambda
from judge.data.benchmark import Benchmark

ALL_SYSTEMS = "all systems"


def system_estimates(
    bench: Benchmark,
    scores: Mapping[str, float | None],
    criterion: str,
    *,
    power_tuned: bool = False,
    confidence: float = 0.95,
    min_labeled: int = 5,
) -> dict[str, dict[str, Any]]:
    """Per system (and over all systems): the PPI mean of one criterion from one judge's scores.

    Items with expert ratings are the labeled sample (target: the mean of their experts), items with only a judge
    score the unlabeled one. A system with fewer than ``min_labeled`` rated items or no unrated judged item is
    skipped with the reason.

    Returns:
        system name -> ``PPIEstimate`` as JSON, or ``{"skipped": reason}``; ``"all systems"`` last.
    """
    experts = expert_means(bench).get(criterion, {})
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"y": [], "yhat_l": [], "yhat_u": []})
    for item_id, s in scores.items():
        if s is None or item_id not in bench.items:
            continue
        for name in (bench.items[item_id].system_name, ALL_SYSTEMS):
            g = groups[name]
            if item_id in experts:
                g["y"].append(experts[item_id])
                g["yhat_l"].append(s)
            else:
                g["yhat_u"].append(s)
    out: dict[str, dict[str, Any]] = {}
    for name, g in sorted(groups.items(), key=lambda kv: (kv[0] == ALL_SYSTEMS, kv[0])):
        n_l, n_u = len(g["y"]), len(g["yhat_u"])
        if n_l < min_labeled or n_u < 1:
            out[name] = {"skipped": f"{n_l} rated and {n_u} unrated judged items (need >= {min_labeled} and >= 1)"}
            continue
        est = ppi_mean(g["y"], g["yhat_l"], g["yhat_u"], 1 - confidence, power_tuned=power_tuned)
        out[name] = est.model_dump(mode="json")
    return out

"""What bias probes show about a judge: paired score shifts read against the placebo, and self-preference.

For every item the judge scored both as it is and perturbed by a probe (``judge.data.probes``), the paired shift
is ``perturbed - original``. Per judge, criterion and probe this module reports the mean shift with a bootstrap CI
that resamples whole posts (items of one post are not independent), the share of items whose score moved toward
"better" (up for most criteria, down for ``direction: lower`` ones such as harmfulness) and away from it, and the
shift minus the placebo's on the same items, also with a CI. A probe is **flagged** when the CI of its shift beyond
the placebo excludes zero in the gaming direction: the judge rewards the perturbation itself, not merely extra
text.

Self-preference: with systems and judges assigned to model families, a judge's mean score of its own family's
responses minus the others', set against the experts' same difference on the same items (where experts rated
them); a judge that prefers its family more than the experts do is flagged the same way.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge.analysis.stats.shift import Shift as Shift, group_gap, paired_shift
from judge.data import Benchmark, Rubric
from judge.data.probes import PLACEBO, probed_id, split_probed_id

Scores = Mapping[str, Mapping[str, float | None]]  # criterion -> item_id -> score (None = unscored)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProbeResult(_Model):
    """One judge x criterion x probe."""

    judge: str
    criterion: str
    probe: str
    direction: str = Field(description="Which end of the scale is better: 'higher' or 'lower'.")
    shift: Shift = Field(description="Mean of perturbed - original, in scale units.")
    vs_placebo: Shift | None = Field(
        default=None, description="Mean of (perturbed - original) - (placebo - original) on items with both."
    )
    toward_better: float | None = Field(default=None, description="Share of items whose score moved toward better.")
    toward_worse: float | None = None
    unscored: int = Field(default=0, description="Pairs lost because the original or the perturbed was unscored.")
    flagged: bool = Field(
        default=False, description="The CI of the shift beyond the placebo excludes zero in the gaming direction."
    )


class SelfPreference(_Model):
    """A judge's preference for its own model family's responses, against the experts' on the same items."""

    judge: str
    family: str
    criterion: str
    judge_gap: Shift = Field(description="Judge's mean on its family's items - on the others' items.")
    expert_gap: Shift | None = Field(default=None, description="The experts' mean gap on the same rated items.")
    excess: Shift | None = Field(default=None, description="Judge gap - expert gap, on items with both.")
    own_items: int = 0
    other_items: int = 0
    flagged: bool = False


class ProbeReport(_Model):
    """Everything ``judge probe`` measured (the JSON of its report)."""

    benchmark: str
    judges: list[str]
    criteria: list[str]
    probes: list[str]
    items: int = Field(description="Original items probed.")
    results: list[ProbeResult]
    self_preference: list[SelfPreference] = Field(default_factory=list)
    n_boot: int
    seed: int
    notes: list[str] = Field(default_factory=list)


def _excludes_zero_toward_better(s: Shift | None, sign: float) -> bool:
    return s is not None and s.ci is not None and min(sign * s.ci[0], sign * s.ci[1]) > 0


def probe_shifts(
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    scores: Mapping[str, Scores],
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> list[ProbeResult]:
    """Paired shifts of every judge, criterion and probe found in ``bench`` (a probed benchmark).

    Args:
        bench: the probed benchmark (originals plus ``<id>#probe:<name>`` copies), for posts and probe names.
        scores: judge -> criterion -> item_id -> score.
    """
    originals = [i for i in bench.items if split_probed_id(i)[1] is None]
    probes = sorted({p for i in bench.items if (p := split_probed_id(i)[1])}, key=lambda p: (p == PLACEBO, p))
    post = {i: bench.items[i].post_id for i in originals}
    out: list[ProbeResult] = []
    for judge, by_crit in scores.items():
        for crit, rubric in rubrics.items():
            s = by_crit.get(crit, {})
            sign = -1.0 if rubric.direction == "lower" else 1.0
            diffs: dict[str, dict[str, float]] = defaultdict(dict)  # probe -> item -> perturbed - original
            lost: dict[str, int] = defaultdict(int)
            for probe in probes:
                for i in originals:
                    pid = probed_id(i, probe)
                    if pid not in bench.items or (i not in s and pid not in s):
                        continue  # no such copy (a probe of other items), or never judged: not a loss
                    a, b = s.get(i), s.get(pid)
                    if a is None or b is None:
                        lost[probe] += 1
                        continue
                    diffs[probe][i] = b - a
            placebo = diffs.get(PLACEBO, {})
            for probe in probes:
                d = diffs.get(probe, {})
                ids = list(d)
                arr = np.array([d[i] for i in ids], dtype=float)
                res = ProbeResult(
                    judge=judge,
                    criterion=crit,
                    probe=probe,
                    direction=rubric.direction,
                    shift=paired_shift(arr, [post[i] for i in ids], n_boot, seed),
                    toward_better=float(np.mean(sign * arr > 0)) if len(arr) else None,
                    toward_worse=float(np.mean(sign * arr < 0)) if len(arr) else None,
                    unscored=lost[probe],
                )
                if probe != PLACEBO:
                    both = [i for i in ids if i in placebo]
                    beyond = np.array([d[i] - placebo[i] for i in both], dtype=float)
                    res.vs_placebo = paired_shift(beyond, [post[i] for i in both], n_boot, seed)
                    res.flagged = _excludes_zero_toward_better(res.vs_placebo, sign)
                out.append(res)
    return out


# -- self-preference ----------------------------------------------------------------------------------------------

_FAMILIES = (
    ("openai", r"\bgpt|\bo[134]\b|openai|chatgpt|davinci"),
    ("anthropic", r"claude|anthropic"),
    ("meta", r"llama"),
    ("mistral", r"mistral|mixtral"),
    ("qwen", r"qwen"),
    ("google", r"gemini|gemma|palm|bison"),
    ("deepseek", r"deepseek"),
    ("microsoft", r"\bphi[-_ ]?\d"),
)


def model_family(name: str) -> str | None:
    """The model family a model name belongs to (``openai``, ``anthropic``, ``meta``, ``mistral``, ``qwen``,
    ``google``, ``deepseek``, ``microsoft``), or None if the name says nothing known."""
    low = name.lower()
    return next((fam for fam, pat in _FAMILIES if re.search(pat, low)), None)


def system_family(system: Mapping[str, str]) -> str | None:
    """A system's family: declared (``family``), else read from its ``model`` (or any field naming a model)."""
    if system.get("family"):
        return system["family"].lower()
    for key in ("model", *sorted(system)):
        fam = model_family(str(system.get(key, "")))
        if fam:
            return fam
    return None


def self_preference(
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    scores: Mapping[str, Scores],
    judge_families: Mapping[str, str],
    expert_means: Mapping[str, Mapping[str, float]] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> list[SelfPreference]:
    """Each judge's own-family gap (judge family from ``judge_families``; system families from the items).

    Only original (unprobed) items of systems with a known family take part.
    """
    out: list[SelfPreference] = []
    fam_of = {i: system_family(it.system) for i, it in bench.items.items() if split_probed_id(i)[1] is None}
    for judge, family in judge_families.items():
        for crit, rubric in rubrics.items():
            s = scores.get(judge, {}).get(crit, {})
            ids = [i for i, f in fam_of.items() if f and s.get(i) is not None]
            if not ids:
                continue
            sign = -1.0 if rubric.direction == "lower" else 1.0
            own = np.array([fam_of[i] == family for i in ids])
            x = np.array([s[i] for i in ids], dtype=float)
            posts = [bench.items[i].post_id for i in ids]
            res = SelfPreference(
                judge=judge,
                family=family,
                criterion=crit,
                judge_gap=group_gap(x, own, posts, n_boot, seed),
                own_items=int(own.sum()),
                other_items=int((~own).sum()),
            )
            em = (expert_means or {}).get(crit, {})
            rated = [k for k, i in enumerate(ids) if i in em]
            if rated:
                r_own = own[rated]
                r_posts = [posts[k] for k in rated]
                e = np.array([em[ids[k]] for k in rated], dtype=float)
                res.expert_gap = group_gap(e, r_own, r_posts, n_boot, seed)
                res.excess = group_gap(x[rated] - e, r_own, r_posts, n_boot, seed)
                res.flagged = _excludes_zero_toward_better(res.excess, sign)
            out.append(res)
    return out

"""Golden figures: the README's RESORT tables are what the verbs compute from the release, to their printed
precision (``python -m benchmarks.readme_tables`` writes them; this test fails when README.md differs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.readme_tables import README, current, rewrite, tables

#: Pinned at the README's precision, independently of README.md: regenerating the README after a change of a
#: statistic would not make this pass. Per criterion: experts' kappa (every rated item), the experts' kappa on GPT-4's
#: items (its ceiling), GPT-4's kappa, bias and Spearman, system-level Spearman; then the calibrated kappa change.
#: GPT-4's judgments come from the release's eval-gpt4/ folders (issue 27): on the tested copy, the oracle and
#: top-comment replies, 39 rated items per criterion from 2 systems (so no system-level figure).
GOLDEN = {
    "alignment_with_standards": (
        "0.49 [0.39, 0.58]", "0.63 [0.36, 0.81]", "0.38 [0.21, 0.55]", "+2.03", "0.62", "n/a"
    ),
    "empathy": ("0.39 [0.26, 0.50]", "0.48 [0.16, 0.69]", "0.51 [0.31, 0.64]", "+0.41", "0.72", "n/a"),
    "factuality": ("0.09 [-0.05, 0.24]", "0.40 [0.06, 0.70]", "0.32 [0.09, 0.53]", "-0.17", "0.45", "n/a"),
    "harmfulness": ("0.21 [-0.04, 0.45]", "0.21 [-0.16, 0.57]", "0.00 [0.00, 0.00]", "-0.21", "n/a", "n/a"),
}  # fmt: skip
#: The held-out effect at each criterion's level (issue 27 point 7: empathy and factuality are ordinal).
CALIBRATION_CHANGE = {
    "alignment_with_standards": ("+2.03 -> +0.05", "0.36 -> 0.41", "+0.05 [-0.06, +0.11]", "helps"),
    "empathy": ("+0.41 -> +0.00", "0.51 -> 0.56", "+0.05 [-0.03, +0.09]", "does not help"),
    "factuality": ("-0.17 -> +0.01", "0.28 -> 0.16", "-0.12 [-0.24, -0.01]", "does not help"),
}
GPT4_MATCHED = {c: "39 of 227" for c in GOLDEN}


@pytest.fixture(scope="module")
def computed(resort_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return tables(resort_dir, tmp_path_factory.mktemp("readme"))


def _cells(table: str) -> dict[str, list[str]]:
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    return {re.sub(r" \(\w+\)$", "", r[0]): r[1:] for r in rows}


def test_readme_tables_are_what_the_verbs_compute(computed: dict[str, str]) -> None:
    have = current(README.read_text(encoding="utf-8"))
    differ = [name for name, text in computed.items() if have.get(name) != text]
    assert differ == [], f"README.md tables {differ} differ from the verbs: run python -m benchmarks.readme_tables"


def test_golden_figures(computed: dict[str, str]) -> None:
    agreement = _cells(computed["agreement"])
    for criterion, (experts, ceiling, gpt4, bias, rho, systems) in GOLDEN.items():
        row = agreement[criterion]
        assert (row[0], row[1], row[2], row[4], row[5], row[6]) == (experts, ceiling, gpt4, bias, rho, systems)
    assert {c: r[0] for c, r in _cells(computed["gpt4"]).items()} == GPT4_MATCHED
    calibration = _cells(computed["calibration"])
    for criterion, (bias, kappa, change, verdict) in CALIBRATION_CHANGE.items():
        row = calibration[criterion]
        assert (row[0], row[2], row[3], row[5]) == (bias, kappa, change, verdict), criterion
    board = _cells(computed["judges"])
    names = [line.strip("|").split("|")[0].strip() for line in computed["judges"].splitlines()[2:]]
    # on alignment, a count of characters agrees with the experts better than GPT-4 does (issue #30)
    assert names == [
        "experts (ceiling)",
        "baseline:length (characters)",
        "baseline:length (words)",
        "gpt-4-1106-preview (calibrated, cross-fitted)",
        "gpt-4-1106-preview",
        "chance:constant",
        "chance:permuted",
    ]
    assert board["experts"][0] == GOLDEN["alignment_with_standards"][0]  # the ceiling row is the experts' kappa
    # not better than length (on its 39 items of the tested copy, where length ranks harmfulness above a constant 0)
    assert board["gpt-4-1106-preview"][-1] == "alignment_with_standards, empathy, factuality, harmfulness"


def test_rewrite_replaces_only_between_the_markers() -> None:
    text = "intro\n<!-- readme-table:agreement -->\nold\n<!-- /readme-table:agreement -->\noutro\n"
    out = rewrite(text, {"agreement": "| a |\n| --- |\n| 1 |"})
    assert (
        out
        == "intro\n<!-- readme-table:agreement -->\n| a |\n| --- |\n| 1 |\n<!-- /readme-table:agreement -->\noutro\n"
    )
    assert current(out) == {"agreement": "| a |\n| --- |\n| 1 |"}
    with pytest.raises(ValueError, match="readme-table:systems"):
        rewrite(text, {"systems": "x"})

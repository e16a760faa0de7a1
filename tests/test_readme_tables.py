"""Golden figures: the README's RESORT tables are what the verbs compute from the release, to their printed
precision (``python -m benchmarks.readme_tables`` writes them; this test fails when README.md differs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.readme_tables import README, current, rewrite, tables

#: Pinned at the README's precision, independently of README.md: regenerating the README after a change of a
#: statistic would not make this pass. Per criterion: experts' kappa, GPT-4's kappa, GPT-4's bias and Spearman,
#: system-level Spearman; then the calibrated kappa change.
GOLDEN = {
    "alignment_with_standards": ("0.49 [0.39, 0.58]", "0.27 [0.18, 0.36]", "+2.17", "0.55", "0.83 [0.46, 0.90] (15)"),
    "empathy": ("0.39 [0.26, 0.50]", "0.30 [0.20, 0.38]", "+0.46", "0.48", "0.50 [0.18, 0.69] (23)"),
    "factuality": ("0.09 [-0.05, 0.24]", "0.16 [0.05, 0.26]", "-0.08", "0.20", "0.49 [0.09, 0.60] (23)"),
    "harmfulness": ("0.21 [-0.04, 0.45]", "0.00 [0.00, 0.00]", "-0.06", "n/a", "n/a"),
}
CALIBRATION_CHANGE = {
    "alignment_with_standards": ("+2.17 -> +0.01", "0.27 -> 0.37", "+0.10 [+0.05, +0.14]", "helps"),
    "empathy": ("+0.46 -> +0.00", "0.32 -> 0.32", "+0.00 [-0.04, +0.02]", "helps"),
    "factuality": ("-0.08 -> +0.00", "0.12 -> 0.07", "-0.05 [-0.12, +0.02]", "mixed"),
}


@pytest.fixture(scope="module")
def computed(resort_dir: Path, resort_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return tables(resort_dir, tmp_path_factory.mktemp("readme"), bench=resort_bench)


def _cells(table: str) -> dict[str, list[str]]:
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    return {re.sub(r" \(\w+\)$", "", r[0]): r[1:] for r in rows}


def test_readme_tables_are_what_the_verbs_compute(computed: dict[str, str]) -> None:
    have = current(README.read_text(encoding="utf-8"))
    differ = [name for name, text in computed.items() if have.get(name) != text]
    assert differ == [], f"README.md tables {differ} differ from the verbs: run python -m benchmarks.readme_tables"


def test_golden_figures(computed: dict[str, str]) -> None:
    agreement = _cells(computed["agreement"])
    for criterion, (experts, gpt4, bias, rho, systems) in GOLDEN.items():
        row = agreement[criterion]
        assert (row[0], row[1], row[3], row[4], row[5]) == (experts, gpt4, bias, rho, systems), criterion
    calibration = _cells(computed["calibration"])
    for criterion, (bias, kappa, change, verdict) in CALIBRATION_CHANGE.items():
        row = calibration[criterion]
        assert (row[0], row[2], row[3], row[5]) == (bias, kappa, change, verdict), criterion
    board = _cells(computed["judges"])
    assert list(board) == [
        "experts",
        "gpt-4-1106-preview (calibrated, cross-fitted)",
        "gpt-4-1106-preview",
        "chance:constant",
        "chance:permuted",
    ]
    assert board["experts"][0] == GOLDEN["alignment_with_standards"][0]  # the ceiling row is the experts' kappa


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

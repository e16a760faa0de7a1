"""The README's RESORT tables, computed by the verbs themselves and written between markers in README.md.

``python -m benchmarks.readme_tables`` imports the RESORT release with GPT-4's released judgments on its rated
items (``judge import resort --gpt4-run``: the answers in the release's own ``eval-gpt4/`` folders, matched to the
rated items), runs ``judge agree --json``, ``judge calibrate --json`` and ``judge
leaderboard --judges --json`` with their default resamples and seeds, and rewrites each table of README.md between
its ``<!-- readme-table:NAME -->`` and ``<!-- /readme-table:NAME -->`` markers (``--check``: exit 1 and name the
tables that differ, writing nothing). ``tests/test_readme_tables.py`` runs the same function and fails when the
README differs, so the README's figures and the verbs' output cannot drift apart.

Tables: ``agreement`` (experts and GPT-4 per criterion, with the chance rows, bias, Spearman, system level,
alt-test), ``systems`` (agreement of system means), ``calibration`` (GPT-4 calibrated on held-out posts), and
``judges`` (the judge board: experts, GPT-4 raw and calibrated, the reply-length baselines, chance, and the
criteria on which a judge is not better than length).

Where GPT-4's judgments come from is decided in one place, ``gpt4_judgments``: the release's ``eval-gpt4/`` folders,
read by the importer a user runs (no file outside the release is needed).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RESORT = Path(os.environ.get("RESORT_RELEASE") or ROOT.parent / "shared" / "data" / "resort")
GPT4 = "gpt-4-1106-preview"


def gpt4_judgments(resort_dir: Path, bench: Path, out: Path) -> list[str]:
    """The command that brings the release in as ``bench`` with GPT-4's released judgments as the run ``out`` (the
    one place that says where they come from: the release's ``eval-gpt4/`` folders)."""
    return ["import", "resort", str(resort_dir), "--out", str(bench), "--gpt4-run", str(out), "--json"]


def _verb(args: list[str]) -> Any:
    """Run one ``judge`` verb in process; its JSON output (``--json``), or None for a verb without it."""
    from judge.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(args)
    if rc != 0:
        raise RuntimeError(f"judge {' '.join(args)} exited {rc}")
    return json.loads(buf.getvalue()) if "--json" in args else None


def run_verbs(resort_dir: Path, work: Path) -> dict[str, Any]:
    """Import the release and GPT-4's judgments into ``work``, then the verbs' JSON: ``import`` (the matching
    counts), ``agree``, ``calibrate``, ``judges``."""
    run, cal, bench = work / "gpt4", work / "gpt4-cal.json", work / "bench"
    imported = _verb(gpt4_judgments(resort_dir, bench, run))
    base = ["--benchmark", str(bench), "--run", str(run)]
    return {
        "import": imported,
        "agree": _verb(["agree", *base, "--json"]),
        "calibrate": _verb(["calibrate", *base, "--out", str(cal), "--json"]),
        "judges": _verb(
            ["leaderboard", "--judges", *base, "--calibrator", str(cal), "--out", str(work / "judges"), "--json"]
        ),
    }


# -- formatting -----------------------------------------------------------------------------------------------------


def num(v: float | None, *, sign: bool = False) -> str:
    """Two decimals as the tables print them (``n/a`` when undefined; never ``-0.00``)."""
    if v is None:
        return "n/a"
    r = round(v, 2) + 0.0
    return f"{r:+.2f}" if sign else f"{r:.2f}"


def ci(c: list[float] | None, *, sign: bool = False) -> str:
    return "" if c is None else f" [{num(c[0], sign=sign)}, {num(c[1], sign=sign)}]"


def est(e: Mapping[str, Any] | None, *, sign: bool = False) -> str:
    """``value [low, high]``, ``value`` without a CI, ``n/a`` when undefined."""
    if e is None or e.get("value") is None:
        return "n/a"
    return num(e["value"], sign=sign) + ci(e.get("ci"), sign=sign)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join([_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)])


# -- the tables -----------------------------------------------------------------------------------------------------


def agreement_table(agree: Mapping[str, Any]) -> str:
    rows = []
    for name, c in agree["criteria"].items():
        j, perm, const = c["judges"][GPT4], c["judges"]["chance:permuted"], c["judges"]["chance:constant"]
        sys = j.get("system")
        systems = "n/a" if sys is None or sys["spearman"]["value"] is None else (
            f"{est(sys['spearman'])} ({sys['n_systems']})"
        )  # fmt: skip
        alt = j.get("alt_test")
        rows.append(
            [
                f"{name} ({c['level']})",
                est(c["experts"]["headline"]),
                est(j["ceiling"]),
                est(j["headline"]),
                f"{num(const['headline']['value'])} / {est(perm['headline'])}",
                num(j["bias"]["value"], sign=True),
                num(j["spearman"]["value"]),
                systems,
                "n/a" if alt is None else f"{'pass' if alt['passed'] else 'fail'} (w={alt['winning_rate']:.2f})",
                str(j["n_items"]),
            ]
        )
    header = [
        "criterion (level)",
        "experts among themselves: kappa [95% CI]",
        "experts on GPT-4's items",
        "GPT-4 with the experts: kappa [95% CI]",
        "chance: constant / shuffled",
        "bias",
        "Spearman",
        "systems: Spearman [95% CI]",
        "alt-test",
        "items",
    ]
    return _table(header, rows)


def systems_table(agree: Mapping[str, Any]) -> str:
    rows = []
    for name, c in agree["criteria"].items():
        sys = c["judges"][GPT4].get("system")
        if sys is None or sys["spearman"]["value"] is None:
            continue
        rows.append(
            [
                name,
                f"{sys['n_systems']} ({sys['n_left_out']} left out)",
                est(sys["spearman"]),
                est(sys["kendall"]),
                est(sys["icc_c1"]),
                est(sys["icc_a1"]),
            ]
        )
    header = ["criterion", "systems", "Spearman", "Kendall", "ICC(C,1)", "ICC(A,1)"]
    return _table(header, rows)


def calibration_table(cal: Mapping[str, Any]) -> str:
    rows = []
    for name, c in cal["criteria"].items():
        b, a, ch, cis = c["before"], c["after"], c["change"], c["ci"]
        head = c["verdict"].removeprefix("Calibration ")
        verdict = "helps" if head.startswith("helps") else "mixed" if head.startswith("is mixed") else "does not help"
        rows.append(
            [
                name,
                f"{num(b['bias'], sign=True)} -> {num(a['bias'], sign=True)}",
                f"{num(b['mae'])} -> {num(a['mae'])}",
                f"{num(b['headline'])} -> {num(a['headline'])}",
                num(ch["headline"], sign=True) + ci(cis["change"].get("headline"), sign=True),
                f"{num(b['spearman'])} -> {num(a['spearman'])}",
                verdict,
            ]
        )
    header = ["criterion", "bias", "MAE", "kappa", "kappa change [95% CI]", "Spearman", "verdict"]
    return _table(header, rows)


def judges_table(board: Mapping[str, Any]) -> str:
    lb = board["leaderboard"]
    crits = lb["criteria"]
    rows = []
    for r in lb["rows"]:
        cells = r["criteria"]
        behind = [c for c in crits if cells.get(c, {}).get("not_better_than_length")]
        no_better = ", ".join(behind) or ("none" if r["kind"] == "judge" else "-")
        rows.append([r["judge"], *(est(cells.get(c, {}).get("headline")) for c in crits), no_better])
    header = ["judge", *(f"{c}: kappa [95% CI]" for c in crits), "not better than length on"]
    return _table(header, rows)


def gpt4_table(imported: Mapping[str, Any]) -> str:
    """How many rated items GPT-4's released answers were matched to, per criterion (``judge import resort``)."""
    rows = [
        [name, f"{n['matched']} of {n['rated_items']}", str(n["unmatched"]), str(n["ambiguous"]), str(n["files"])]
        for name, n in imported["gpt4"]["by_criterion"].items()
    ]
    header = ["criterion", "rated items with a GPT-4 answer", "no answer", "conflicting answers (left out)", "files"]
    return _table(header, rows)


TABLES: dict[str, Callable[[dict[str, Any]], str]] = {
    "gpt4": lambda out: gpt4_table(out["import"]),
    "agreement": lambda out: agreement_table(out["agree"]),
    "systems": lambda out: systems_table(out["agree"]),
    "calibration": lambda out: calibration_table(out["calibrate"]),
    "judges": lambda out: judges_table(out["judges"]),
}


def tables(resort_dir: Path, work: Path) -> dict[str, str]:
    """Every README table, computed from the release by the verbs (see ``run_verbs``)."""
    out = run_verbs(resort_dir, work)
    return {name: make(out) for name, make in TABLES.items()}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- readme-table:{name} -->)(.*?)(<!-- /readme-table:{name} -->)", re.DOTALL)


def current(readme: str) -> dict[str, str]:
    """The tables as README.md has them (a missing marker pair: missing from the result)."""
    found = {}
    for name in TABLES:
        m = _block(name).search(readme)
        if m:
            found[name] = m.group(2).strip("\n")
    return found


def rewrite(readme: str, new: Mapping[str, str]) -> str:
    """README.md with each table replaced between its markers (every table must have its markers)."""
    for name, text in new.items():
        pattern = _block(name)
        if not pattern.search(readme):
            raise ValueError(f"README.md has no <!-- readme-table:{name} --> ... <!-- /readme-table:{name} --> block")
        readme = pattern.sub(lambda m, t=text: f"{m.group(1)}\n{t}\n{m.group(3)}", readme)
    return readme

"""Imported judgments cost nothing and say so in one wording everywhere: "none (imported)" in the terminal, the
run's summary.json, ``judge import ... --json``, ``judge show`` and the judge board (issue 29, point 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHATS = ROOT / "datasets" / "support-chats"
NONE = "none (imported)"


def _import(tmp_path: Path, *extra: str) -> list[str]:
    return ["import", "table", str(CHATS / "judge-scores.csv"), "--scores", "{rater}_{criterion}",
            "--as-judge", "judge-a", "--as-judge", "judge-b", "--items", str(CHATS / "conversations.csv"),
            "--judged-role", "supporter", "--rubrics", str(CHATS / "rubrics"), "--out", str(tmp_path / "bench"),
            "--run-out", str(tmp_path / "run"), *extra]  # fmt: skip


def test_imported_cost_reads_the_same_in_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_import(tmp_path)) == 0
    text = capsys.readouterr().out
    assert f"cost {NONE}" in text and "$0" not in text and "model calls" not in text
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["cost"] == NONE and summary["cost_usd"] == 0.0  # the number stays a number: nothing was spent
    assert {j["cost"] for j in summary["per_judge"].values()} == {NONE}

    assert main(["show", str(tmp_path / "run"), "--rubrics", str(CHATS / "rubrics")]) == 0
    shown = capsys.readouterr().out
    assert f"cost {NONE}" in shown and "$0" not in shown
    assert shown.count(f"cost {NONE}") == 1 + 2  # the run, and each judge

    assert main(["show", str(tmp_path / "run"), "--rubrics", str(CHATS / "rubrics"), "--json"]) == 0
    ov = json.loads(capsys.readouterr().out)
    assert ov["cost"] == NONE and {j["cost"] for j in ov["judges"]} == {NONE}

    out = tmp_path / "board"
    assert main(["leaderboard", "--judges", "--benchmark", str(tmp_path / "bench"), "--rubrics",
                 str(CHATS / "rubrics"), "--run", str(tmp_path / "run"), "--n-boot", "50", "--out", str(out),
                 "--format", "md,html"]) == 0  # fmt: skip
    capsys.readouterr()
    md = (out / "judges.md").read_text(encoding="utf-8")
    assert f"| {NONE} |" in md and "0.0000" not in md


def test_import_judgments_json_says_none_imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = ROOT / "datasets" / "demo"
    outputs = tmp_path / "outputs.jsonl"
    outputs.write_text(
        json.dumps({"item_id": "demo:exam-careful", "criterion": "empathy", "judge": "gpt4", "raw_output": "4"}) + "\n",
        encoding="utf-8",
    )
    assert main(["import", "judgments", str(outputs), "--benchmark", str(demo), "--out", str(tmp_path / "r"),
                 "--json"]) == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["cost"] == NONE and data["per_judge"]["gpt4"]["cost"] == NONE
    assert "$0.0000" not in json.dumps(data)

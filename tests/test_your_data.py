"""The tutorial of docs/your-data.md, end to end: every command of its bash blocks runs as written, in order.

The blocks import the bundled example (datasets/support-chats: per-rater CSVs and a CSV of conversations; a table
of a human's and four judges' scores), measure expert agreement, show a prompt and rank the judges. Commands that
call a model are in `console` blocks and are not run here (the engine's own tests cover them).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.rubric import load_rubric_set
from judge.engine.store import iter_records

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "your-data.md"


def doc_commands() -> list[str]:
    """The `judge ...` commands of the doc's ```bash blocks, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    commands = []
    for block in blocks:
        for cmd in block.replace("\\\n", " ").splitlines():
            if cmd.strip().startswith("judge "):
                commands.append(cmd.strip())
    return commands


def test_the_doc_has_the_steps_of_the_tutorial() -> None:
    verbs = [shlex.split(c)[1:3] for c in doc_commands()]
    assert ["import", "table"] in verbs and ["agree", "--benchmark"] in verbs and ["prompt", "show"] in verbs
    assert any(c.startswith("judge leaderboard --judges") for c in doc_commands())
    assert ["rubrics", "new"] in verbs


def test_tutorial_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "datasets").symlink_to(ROOT / "datasets")
    monkeypatch.chdir(tmp_path)
    outputs = {}
    for cmd in doc_commands():
        rc = main(shlex.split(cmd)[1:])
        out, err = capsys.readouterr()
        assert rc == 0, f"{cmd}\n{err}"
        outputs[cmd] = out
    # (a) three per-rater CSVs and a CSV of conversations -> a benchmark
    rubrics = load_rubric_set("datasets/support-chats/rubrics")
    bench = load_benchmark("bench/support-chats", known_criteria=rubrics)
    assert len(bench.items) == 12 and bench.raters() == ["ana", "ben", "chloe"] and len(bench.ratings) == 70
    assert all(it.conversation is not None for it in bench.items.values())
    agree = next(o for c, o in outputs.items() if c.startswith("judge agree --benchmark bench/support-chats"))
    assert "warmth (ordinal; 3 experts)" in agree and "experts (ceiling)" in agree
    # the scaffolded criterion validates, and comes with the neutral framing to edit
    assert set(load_rubric_set("my-rubrics")) == {"warmth"}
    assert (tmp_path / "my-rubrics" / "framing.yaml").is_file()
    shown = next(o for c, o in outputs.items() if c.startswith("judge prompt show"))
    assert "You are an experienced trainer of volunteer peer supporters" in shown and "[[BEGIN REPLIES " in shown
    # (b) one table of a human score and four judges' scores -> a benchmark plus a run
    sheet = load_benchmark("bench/sheet")
    assert sheet.raters() == ["human"] and len(sheet.ratings) == 24
    judges = {j.judge for j in iter_records("runs/sheet")}
    assert judges == {"judge-a", "judge-b", "judge-c", "judge-d"} and len(iter_records("runs/sheet")) == 96
    board = json.loads((tmp_path / "reports" / "sheet-judges" / "judges.json").read_text())
    assert "judge-a" in json.dumps(board)
    # (c) the other layouts of section 8: a conversation per cell, a grid of systems, off-scale values by choice
    assert len(load_benchmark("bench/transcripts").items) == 6
    assert len(load_benchmark("bench/grid").items) == 17 and len(iter_records("runs/grid")) == 34
    assert load_benchmark("bench/off-scale").manifest.off_scale_missing["warmth"] == {"0": 1, "6": 1}
    off = next(o for c, o in outputs.items() if c.startswith("judge agree --benchmark bench/off-scale"))
    assert "off their scale were read as not rated" in off


def test_prompt_show_prints_what_a_run_would_send(capsys: pytest.CaptureFixture[str]) -> None:
    from judge.data.benchmark import default_demo_dir
    from judge.data.rubric import default_rubrics_dir
    from judge.engine.judge_spec import judge_from_model
    from judge.engine.plan import plan_unit

    demo = load_benchmark(default_demo_dir())
    item = next(iter(demo.items))
    argv = ["prompt", "show", "--benchmark", str(default_demo_dir()), "--item", item, "--criterion", "empathy",
            "--judge", "openai/gpt-4o", "--json"]  # fmt: skip
    assert main(argv) == 0
    shown = json.loads(capsys.readouterr().out)
    spec = judge_from_model("openai/gpt-4o", None, {"temperature": 0.0, "max_tokens": 400})  # judge run's defaults
    unit = plan_unit(spec, load_rubric_set(default_rubrics_dir())["empathy"],
                     demo.items[item])  # fmt: skip
    assert shown["messages"] == unit.messages and shown["cache_key"] == unit.key
    assert shown["response_format"] == unit.response_format and shown["prompt_hash"] == "fe38e5af50dc41bd"
    assert main(["prompt", "show", "--benchmark", str(default_demo_dir()), "--item", "nope"]) == 2
    assert "--item 'nope' is not in" in capsys.readouterr().err


def test_rubrics_new_refuses_what_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["rubrics", "new", "warmth", "--out", str(tmp_path)]
    assert main([*base, "--scale", "5-1"]) == 2 and "--scale" in capsys.readouterr().err
    assert main([*base, "--scale", "1-5", "--anchor", "7=Too high"]) == 2
    assert "not points of the scale" in capsys.readouterr().err
    assert main([*base, "--scale", "1-5", "--anchor", "one=x"]) == 2 and "VALUE=TEXT" in capsys.readouterr().err
    assert main(["rubrics", "new", "Warm th", "--scale", "1-5", "--out", str(tmp_path)]) == 2
    assert "name" in capsys.readouterr().err
    assert main([*base, "--scale", "0,1", "--label", "0=No", "--label", "1=Yes", "--level", "nominal"]) == 0
    rubric = load_rubric_set(tmp_path)["warmth"]
    assert rubric.answer.kind == "label" and [p.label for p in rubric.scale] == ["No", "Yes"]
    assert main([*base, "--scale", "0,1"]) == 2 and "exists" in capsys.readouterr().err


def test_import_kinds_dispatch_through_one_interface() -> None:
    from judge.data.importers.base import IMPORTERS, get_importer
    from judge.errors import UsageError

    for kind in IMPORTERS:
        importer = get_importer(kind)
        assert importer.kind == kind and importer.reads
    with pytest.raises(UsageError, match="unknown importer 'nope'"):
        get_importer("nope")

"""Real data layouts in with one command (issue 27): a whole conversation in one cell, a grid of systems with
several criteria in one cell, off-scale ratings read as not rated by choice, raters named from file names.

The examples are the small original ones in ``datasets/`` (``chat-transcripts``, ``systems-grid``, ``off-scale``),
imported by the real CLI in-process and read back with the library's loaders; the readers' edge cases are unit
tests of ``judge.data.importers.transcripts`` and ``judge.data.importers.cells``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.importers.cells import criteria_in_cell
from judge.data.importers.transcripts import detect_speakers, parse_speakers, split_transcript
from judge.data.rubric import load_rubric_set
from judge.engine.parse import parse_answer
from judge.engine.store import iter_records
from judge.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets"
CHAT_RUBRICS = str(DATA / "support-chats" / "rubrics")
GRID = DATA / "systems-grid"
GRID_RUBRICS = str(GRID / "rubrics")


def judge(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code) if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


# -- transcripts in one cell ---------------------------------------------------------------------------------


def test_a_transcript_splits_at_speakers_and_keeps_continuation_lines() -> None:
    text = "Member: first line\nsecond line\n\nListener: hi\n  Member: indented prefix\nListener:\nlate text"
    got = split_transcript(text, {"Member": "seeker", "listener": "supporter"})
    assert [(t.role, t.text) for t in got.turns] == [
        ("seeker", "first line\nsecond line"),
        ("supporter", "hi"),
        ("seeker", "indented prefix"),
        ("supporter", "late text"),
    ]
    assert got.continuations == 2 and got.before == ""  # 'second line' and 'late text'; blank lines are no lines
    assert split_transcript("hello\nMember: x", {"Member": "seeker"}).before == "hello"
    # a colon inside a turn is not a speaker unless it is one
    inside = split_transcript("Member: my note: read this\nTime: 5pm", {"Member": "seeker"})
    assert [t.text for t in inside.turns] == ["my note: read this\nTime: 5pm"] and inside.continuations == 1


def test_speakers_are_detected_and_named() -> None:
    texts = ["Seeker: a\nSupporter: b\nNote: c", "Seeker: d\nSupporter: e", "seeker: f\nSupporter: g"]
    found = detect_speakers(texts)
    assert found.speakers == {"Seeker": "seeker", "Supporter": "supporter"}  # 'Note' is in 1 of 3: not a speaker
    assert found.seen_in == {"Seeker": 3, "Supporter": 3}
    assert parse_speakers("Member=seeker, Listener=supporter") == {"Member": "seeker", "Listener": "supporter"}
    assert parse_speakers("Seeker,Peer Helper") == {"Seeker": "seeker", "Peer Helper": "peer_helper"}
    for bad, why in [("=seeker", "names no speaker"), ("A=1x", "must be a word"), ("A=a,a=b", "named twice")]:
        with pytest.raises(UsageError, match=why):
            parse_speakers(bad)


def transcripts_import(tmp_path: Path, *extra: str) -> list[str]:
    return ["import", "table", str(DATA / "chat-transcripts" / "rated-chats.csv"), "--col", "item=chat_id",
            "--col", "transcript=conversation", "--scores", "{criterion}_{rater}", "--rubrics", CHAT_RUBRICS,
            "--out", str(tmp_path / "bench"), *extra]  # fmt: skip


def test_transcripts_in_one_cell_import_with_named_speakers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = transcripts_import(tmp_path, "--speakers", "Member=seeker,Listener=supporter", "--judged-role", "supporter")
    rc, out, err = judge([*argv, "--json"], capsys)
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["transcripts"] == {
        "conversations": 6,
        "turns": 19,
        "continuation_lines": 5,
        "speakers": {"Member": "seeker", "Listener": "supporter"},
        "speakers_detected": None,
    }
    bench = load_benchmark(tmp_path / "bench", known_criteria=load_rubric_set(CHAT_RUBRICS))
    first = bench.items["t-01"]
    assert first.conversation is not None and [t.role for t in first.conversation] == ["seeker", "supporter"] * 2
    assert (
        first.conversation[0].text == "I moved to a new city for work and I know nobody here.\nEvenings are the worst."
    )
    assert first.judged_turns == [2, 4]
    assert bench.raters() == ["dana", "eli"] and len(bench.ratings) == 23  # eli left one cell empty
    rc, out, _ = judge(argv, capsys)
    assert rc == 0 and "6 conversations, 19 turns, 5 continuation lines" in out and "speakers given" in out


def test_transcript_speakers_detected_are_reported_and_a_wrong_role_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = judge(transcripts_import(tmp_path), capsys)
    out = " ".join(out.split())  # (the summary is wrapped to the terminal)
    assert rc == 0
    assert "speakers detected: 'Listener' -> listener (in 6 transcripts), 'Member' -> member (in 6" in out
    rc, _, err = judge(transcripts_import(tmp_path / "b", "--judged-role", "supporter"), capsys)
    assert rc == 2 and err.count("--judged-role 'supporter' is none of the roles") == 1
    assert "--speakers Listener=ROLE,Member=ROLE" in err and not (tmp_path / "b").exists()


def test_a_transcript_with_text_before_the_first_speaker_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = write_csv(tmp_path / "chats.csv", [["item_id", "transcript", "warmth"],
                                               ["c1", "Seeker: hi\nSupporter: hello", "4"],
                                               ["c2", "(chat started)\nSeeker: hey\nSupporter: yes?", "3"],
                                               ["c3", "", "2"]])  # fmt: skip
    argv = ["import", "table", str(table), "--rater", "ana", "--rubrics", CHAT_RUBRICS, "--out", str(tmp_path / "b")]
    rc, _, err = judge(argv, capsys)
    assert rc == 2
    assert "chats.csv row 3, column 'transcript': '(chat started)' comes before the first speaker" in err
    assert "chats.csv row 4, column 'transcript': empty transcript for item 'c3'" in err
    plain = write_csv(tmp_path / "plain.csv", [["item_id", "transcript", "warmth"], ["c1", "just text", "4"]])
    rc, _, err = judge([*argv[:2], str(plain), *argv[3:]], capsys)
    assert rc == 2 and "no speakers found" in err and "--speakers Seeker=seeker" in err


# -- a grid of systems, several criteria per cell ------------------------------------------------------------


def test_cells_with_several_criteria() -> None:
    spell = {"warmth": "warmth", "helpfulness": "helpfulness", "help": "helpfulness"}
    got = criteria_in_cell('{"warmth": 4, "Help": {"score": 3, "rationale": "ok"}, "note": "x"}', spell)
    assert got.entries == {"warmth": "4", "helpfulness": '{"score": 3, "rationale": "ok"}'} and got.others == ["note"]
    got = criteria_in_cell("Warmth = 4, helpfulness: Score: 3", spell)
    assert got.entries == {"warmth": "4", "helpfulness": "Score: 3"} and got.error is None
    got = criteria_in_cell("warmth: kind, but vague; help: 2", spell)
    assert got.entries == {"warmth": "kind, but vague", "helpfulness": "2"}
    assert "twice" in (criteria_in_cell('{"warmth": 4, "warmth": 5}', spell).error or "")
    assert "twice" in (criteria_in_cell("warmth: 4; WARMTH: 5", spell).error or "")
    assert "not one" in (criteria_in_cell('{"warmth": 4', spell).error or "")
    assert "holds no criteria" in (criteria_in_cell("4", spell).error or "")
    assert criteria_in_cell({"warmth": 2}, spell).entries == {"warmth": "2"}  # a JSONL table's object


def grid_import(tmp_path: Path) -> list[str]:
    return ["import", "table", str(GRID / "ratings" / "dana.csv"), str(GRID / "ratings" / "eli.csv"), "--items",
            str(GRID / "replies.csv"), "--col", "item=context_id", "--col", "post=message", "--col",
            "response=reply_{system}", "--scores", "{system}", "--rubrics", GRID_RUBRICS,
            "--out", str(tmp_path / "grid")]  # fmt: skip


def test_a_grid_of_systems_with_json_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = judge([*grid_import(tmp_path), "--json"], capsys)
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["grid"] == {"systems": ["atlas", "echo", "willow"], "empty_responses": 1, "items": 17}
    assert summary["cell_keys_ignored"] == {"comment": 1} and summary["empty_cells"] == 2
    bench = load_benchmark(tmp_path / "grid", known_criteria=load_rubric_set(GRID_RUBRICS))
    assert len(bench.items) == 17 and "m-03/atlas" not in bench.items  # atlas gave no reply to m-03
    item = bench.items["m-02/willow"]
    assert item.post_id == "m-02" and item.system_name == "willow" and item.response.startswith("I'm so sorry.")
    dana = {(r.item_id, r.criterion): r.value for r in bench.ratings if r.rater == "dana"}
    assert dana[("m-02/willow", "helpfulness")] == 5 and dana[("m-01/echo", "warmth")] == 2
    assert len(bench.ratings) == 68


def test_judge_cells_of_a_grid_are_parsed_like_live_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert judge(grid_import(tmp_path), capsys)[0] == 0
    argv = ["import", "table", str(GRID / "judge-x.csv"), "--benchmark", str(tmp_path / "grid"), "--col",
            "item=context_id", "--scores", "{system}", "--as-judge", "judge-x", "--rubrics", GRID_RUBRICS,
            "--run-out", str(tmp_path / "run")]  # fmt: skip
    rc, out, err = judge(argv, capsys)
    assert rc == 0, err
    records = {(j.item_id, j.criterion): j for j in iter_records(tmp_path / "run")}
    assert len(records) == 34  # 17 items x 2 criteria; the empty cell of m-03/atlas is no item
    rubrics = load_rubric_set(GRID_RUBRICS)
    assert records[("m-01/willow", "helpfulness")].score == parse_answer("Score: 4", rubrics["helpfulness"]).score == 4
    off = records[("m-04/echo", "helpfulness")]
    assert off.score is None and off.unscored_reason == parse_answer("7", rubrics["helpfulness"]).unscored_reason
    assert off.unscored_reason == "off_scale"
    missing = records[("m-05/willow", "helpfulness")]  # the cell gave only warmth: no answer, never a score
    assert missing.score is None and missing.unscored_reason == "empty"
    assert records[("m-05/willow", "warmth")].score == 5
    assert "unscored 2 (empty 1, off_scale 1)" in out


def test_grid_cells_are_checked_against_the_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replies = write_csv(tmp_path / "replies.csv", [["id", "post", "r_a", "r_b"], ["1", "p", "ra", "rb"]])
    ratings = write_csv(tmp_path / "ana.csv", [["id", "a", "b"], ["1", '{"warmth": 7}', "warmth: 3; helpfulness: x"]])
    argv = ["import", "table", str(ratings), "--items", str(replies), "--col", "item=id", "--col",
            "response=r_{system}", "--scores", "{system}", "--rubrics", GRID_RUBRICS, "--out", str(tmp_path / "b")
            ]  # fmt: skip
    rc, _, err = judge(argv, capsys)
    assert rc == 2 and not (tmp_path / "b").exists()
    assert "ana.csv row 2, column 'a', criterion 'warmth': 7 is not a point of the warmth scale" in err
    assert "ana.csv row 2, column 'b', criterion 'helpfulness': 'x' is not a rating" in err
    assert "ana.csv row 2, column 'a', criterion 'warmth'" in err
    # '{system}' alone without a grid of replies to name the systems is refused with what to do
    alone = [*argv[:3], "--col", "item=id", "--scores", "{system}", "--rubrics", GRID_RUBRICS, "--out", "c"]
    rc, _, err = judge(alone, capsys)
    assert rc == 2 and "--systems a,b,c" in err


# -- off-scale values, by choice -----------------------------------------------------------------------------


def off_scale_import(tmp_path: Path, *extra: str) -> list[str]:
    off = DATA / "off-scale"
    return ["import", "table", str(off / "expert1_ratings.csv"), str(off / "expert2_ratings.csv"), "--rater-names",
            "{rater}_ratings", "--items", str(off / "items.csv"), "--rubrics", GRID_RUBRICS,
            "--out", str(tmp_path / "bench"), *extra]  # fmt: skip


def test_off_scale_ratings_are_refused_unless_read_as_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = judge(off_scale_import(tmp_path), capsys)
    assert rc == 2 and "4 rating(s) are numbers off their criterion's scale" in err and "--off-scale missing" in err
    assert "expert1_ratings.csv row 6, column 'warmth': 0 is not a point of the warmth scale" in err
    rc, out, err = judge([*off_scale_import(tmp_path, "--off-scale", "missing"), "--json"], capsys)
    assert rc == 0, err
    expected = {"helpfulness": {"0": 1, "6": 1}, "warmth": {"0": 1, "6": 1}}
    summary = json.loads(out)
    assert summary["off_scale_missing"] == expected and summary["raters"] == ["expert1", "expert2"]
    bench = load_benchmark(tmp_path / "bench")
    assert bench.manifest.off_scale_missing == expected and len(bench.ratings) == 20
    assert json.loads((tmp_path / "bench" / "benchmark.json").read_text())["off_scale_missing"] == expected
    rc, out, _ = judge(["agree", "--benchmark", str(tmp_path / "bench"), "--rubrics", GRID_RUBRICS, "--n-boot", "50"],
                       capsys)  # fmt: skip
    out = " ".join(out.split())  # (notes are wrapped to the terminal's width)
    assert rc == 0 and "4 expert rating(s) off their scale were read as not rated" in out
    assert "helpfulness: 0 x1, 6 x1; warmth: 0 x1, 6 x1" in out
    # a word is never an off-scale number: still refused
    bad = write_csv(tmp_path / "x.csv", [["item_id", "warmth"], ["p-01", "great"]])
    argv = ["import", "table", str(bad), "--items", str(DATA / "off-scale" / "items.csv"), "--off-scale", "missing",
            "--rubrics", GRID_RUBRICS, "--out", str(tmp_path / "c")]  # fmt: skip
    rc, _, err = judge(argv, capsys)
    assert rc == 2 and "'great' is not a rating" in err


def test_a_benchmark_without_off_scale_values_says_nothing_of_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert judge(grid_import(tmp_path), capsys)[0] == 0
    assert "off_scale_missing" not in (tmp_path / "grid" / "benchmark.json").read_text()
    rc, out, _ = judge(["agree", "--benchmark", str(tmp_path / "grid"), "--rubrics", GRID_RUBRICS, "--n-boot", "50"],
                       capsys)  # fmt: skip
    assert rc == 0 and "off their scale" not in out


# -- rater names from file names -----------------------------------------------------------------------------


def test_rater_names_from_a_pattern_or_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = off_scale_import(tmp_path, "--off-scale", "missing")
    i = argv.index("{rater}_ratings")
    argv[i] = "expert1_ratings=ana,expert2_ratings=ben"
    assert judge(argv, capsys)[0] == 0
    assert load_benchmark(tmp_path / "bench").raters() == ["ana", "ben"]
    argv[i] = "expert1_ratings=ana"
    rc, _, err = judge(argv, capsys)
    assert rc == 2 and "--rater-names 'expert1_ratings=ana' names no rater for the file 'expert2_ratings'" in err
    argv[i] = "rater_{rater}"
    rc, _, err = judge(argv, capsys)
    assert rc == 2 and "the file name 'expert1_ratings' does not match --rater-names 'rater_{rater}'" in err


def test_grid_with_a_column_per_system_and_criterion_and_a_jsonl_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replies = write_csv(tmp_path / "replies.csv", [["id", "post", "r_a", "r_b"], ["1", "p1", "ra", "rb"],
                                                   ["2", "p2", "ra2", ""]])  # fmt: skip
    wide = write_csv(tmp_path / "ana.csv", [["id", "a_warmth", "b_warmth", "a_helpfulness"], ["1", "4", "2", "3"],
                                            ["2", "5", "", "4"]])  # fmt: skip
    argv = ["import", "table", str(wide), "--items", str(replies), "--col", "item=id", "--col", "response=r_{system}",
            "--scores", "{system}_{criterion}", "--rubrics", GRID_RUBRICS, "--out", str(tmp_path / "b")]  # fmt: skip
    rc, _, err = judge(argv, capsys)
    assert rc == 0, err
    got = {(r.item_id, r.criterion): r.value for r in load_benchmark(tmp_path / "b").ratings}
    assert got == {("1/a", "warmth"): 4, ("1/b", "warmth"): 2, ("1/a", "helpfulness"): 3, ("2/a", "warmth"): 5,
                   ("2/a", "helpfulness"): 4}  # fmt: skip
    # a JSONL grid: each cell an object of criteria
    lines = [{"id": "1", "a": {"warmth": 4, "helpfulness": 2}, "b": {"warmth": 1}}, {"id": "2", "a": None, "b": None}]
    jsonl = tmp_path / "ben.jsonl"
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    rc, _, err = judge(["import", "table", str(jsonl), *argv[3:-4], "--scores", "{system}", "--rubrics", GRID_RUBRICS,
                        "--out", str(tmp_path / "c")], capsys)  # fmt: skip
    assert rc == 0, err
    got = {(r.item_id, r.criterion): r.value for r in load_benchmark(tmp_path / "c").ratings}
    assert got == {("1/a", "warmth"): 4, ("1/a", "helpfulness"): 2, ("1/b", "warmth"): 1}


def test_speakers_without_a_transcript_column_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = write_csv(tmp_path / "ana.csv", [["item_id", "post", "response", "warmth"], ["c1", "p", "r", "4"]])
    argv = ["import", "table", str(table), "--speakers", "A=seeker", "--rubrics", CHAT_RUBRICS, "--out", "x"]
    rc, _, err = judge(argv, capsys)
    assert rc == 2 and "--speakers: no table has a transcript column ('transcript')" in err

"""judge import table: every layout in, every mistake named (file, row, column, value), nothing written on error.

Each test writes real files (CSV, TSV, XLSX, JSONL) and runs the real CLI in-process; the written benchmark and
run are read back with the library's own loaders.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.rubric import load_rubric_set, new_rubric_yaml, parse_rubric, scale_values
from judge.engine.store import iter_records

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "datasets" / "support-chats"
RUBRICS = EXAMPLE / "rubrics"


def judge(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code) if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def write_csv(path: Path, rows: list[list[Any]], delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]], sheet: str = "scores") -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


POSTS = [
    ["item_id", "post", "response", "model"],
    ["r1", "I failed.", "You will pass next time.", "m1"],
    ["r2", "I am lonely.", "Tell me more about it.", "m2"],
    ["r3", "I lost my job.", "Stay positive!", "m1"],
]


# -- layouts ---------------------------------------------------------------------------------------------------


def test_per_rater_files_and_a_conversations_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Layout (a) of the issue: one CSV per rater, one row per conversation, a column per criterion."""
    ratings = sorted(str(p) for p in (EXAMPLE / "ratings").glob("*.csv"))
    argv = [
        "import",
        "table",
        *ratings,
        "--items",
        str(EXAMPLE / "conversations.csv"),
        "--judged-role",
        "supporter",
        "--rubrics",
        str(RUBRICS),
        "--out",
        str(tmp_path / "b"),
        "--json",
    ]
    rc, out, err = judge(argv, capsys)
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["raters"] == ["ana", "ben", "chloe"]  # the file names
    assert summary["ratings"] == {"helpfulness": 35, "warmth": 35}  # chloe left one chat unrated
    assert summary["empty_cells"] == 2 and summary["conversations"] == 12
    bench = load_benchmark(tmp_path / "b", known_criteria=["warmth", "helpfulness"])
    chat = bench.items["chat-02"]
    assert chat.conversation is not None and [t.role for t in chat.conversation] == ["seeker", "supporter"] * 2
    assert chat.judged_turn_numbers == [2, 4]  # every supporter turn
    assert chat.post == "" and chat.response == ""
    assert {(r.rater, r.criterion, r.value) for r in bench.ratings if r.item_id == "chat-02"} >= {("ben", "warmth", 3)}


def test_long_table_with_items_in_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [["item_id", "post", "response", "annotator", "dimension", "score"]]
    for iid, post, resp, _ in POSTS[1:]:
        rows += [[iid, post, resp, "a", "Warmth", 4], [iid, post, resp, "b", "helpfulness", "2"]]
    f = write_csv(tmp_path / "long.csv", rows)
    argv = [
        "import",
        "table",
        str(f),
        "--col",
        "rater=annotator",
        "--col",
        "criterion=dimension",
        "--col",
        "value=score",
        "--col",
        "system=model",
        "--rubrics",
        str(RUBRICS),
        "--out",
        str(tmp_path / "b"),
    ]
    rc, out, err = judge(argv, capsys)
    assert rc == 0, err
    bench = load_benchmark(tmp_path / "b")
    assert [it.post for it in bench.items.values()] == ["I failed.", "I am lonely.", "I lost my job."]
    assert len(bench.ratings) == 6 and bench.raters() == ["a", "b"]
    assert bench.manifest.name == "b" and "long: one rating per row" in out


def test_tsv_wide_by_rater_for_one_criterion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_csv(
        tmp_path / "warmth.tsv",
        [
            ["item_id", "post", "response", "ana", "ben", "note"],
            ["r1", "p", "r", 4, 5, "fine"],
            ["r2", "p2", "r2", 2, "", "short"],
        ],
        delimiter="\t",
    )
    argv = [
        "import",
        "table",
        str(f),
        "--scores",
        "{rater}",
        "--raters",
        "ana,ben",
        "--criterion",
        "warmth",
        "--rubrics",
        str(RUBRICS),
        "--out",
        str(tmp_path / "b"),
        "--json",
    ]
    rc, out, err = judge(argv, capsys)
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["ignored_columns"] == {str(f): ["note"]}  # never silent: unused columns are listed
    assert summary["ratings"] == {"warmth": 3} and summary["empty_cells"] == 1


def test_spreadsheet_of_a_human_and_four_judges_on_seven_criteria(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Layout (b) of the issue: one XLSX row per response, human and judge scores per criterion."""
    crits = [f"c{i}" for i in range(1, 8)]
    rubric_dir = tmp_path / "rubrics"
    rubric_dir.mkdir()
    for c in crits:
        (rubric_dir / f"{c}.yaml").write_text(new_rubric_yaml(c, scale_values("1-5"), {}, question="How good?"))
    sources = ["human", "gpt", "claude", "llama", "qwen"]
    header = ["id", "post", "response", *[f"{s}_{c}" for c in crits for s in sources]]
    rows: list[list[Any]] = [header]
    for n in range(1, 13):
        rows.append([n, f"post {n}", f"reply {n}", *[(n + i) % 5 + 1 for i in range(len(header) - 3)]])
    rows[2][4] = 9  # gpt's c1 answer off the scale: unscored, like a live judge's
    rows[3][5] = None  # claude gave no c1 score: unscored (empty), never dropped
    f = write_xlsx(tmp_path / "sheet.xlsx", rows)
    judges = [a for j in sources[1:] for a in ("--as-judge", j)]
    argv = [
        "import",
        "table",
        str(f),
        "--col",
        "item=id",
        "--scores",
        "{rater}_{criterion}",
        *judges,
        "--rubrics",
        str(rubric_dir),
        "--out",
        str(tmp_path / "b"),
        "--run-out",
        str(tmp_path / "run"),
        "--json",
    ]
    rc, out, err = judge(argv, capsys)
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["raters"] == ["human"] and sum(summary["ratings"].values()) == 12 * 7
    assert summary["judges"] == {j: 12 * 7 for j in sorted(sources[1:])}
    bench = load_benchmark(tmp_path / "b")
    assert list(bench.items)[:2] == ["1", "2"]  # a spreadsheet's numbers as ids, without ".0"
    records = iter_records(tmp_path / "run")
    assert len(records) == 4 * 12 * 7
    unscored = {(j.judge, j.item_id, j.criterion): j.unscored_reason for j in records if j.score is None}
    assert unscored == {("gpt", "2", "c1"): "off_scale", ("claude", "3", "c1"): "empty"}
    assert summary["run"]["judgments"] == 4 * 12 * 7


def test_jsonl_table_and_a_mapping_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ratings.jsonl"
    f.write_text(
        "".join(
            json.dumps({"conv": f"r{n}", "text_in": "p", "reply": "r", "who": "x", "Warmth (1-5)": n}) + "\n"
            for n in (1, 2, 3)
        )
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text("item: conv\npost: text_in\nresponse: reply\nrater: who\ncriteria: {'Warmth (1-5)': warmth}\n")
    argv = [
        "import",
        "table",
        str(f),
        "--mapping",
        str(mapping),
        "--rubrics",
        str(RUBRICS),
        "--out",
        str(tmp_path / "b"),
    ]
    rc, _, err = judge(argv, capsys)
    assert rc == 0, err
    bench = load_benchmark(tmp_path / "b")
    assert sorted(r.value for r in bench.ratings) == [1, 2, 3] and bench.raters() == ["x"]


def test_judge_scores_for_an_existing_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = write_csv(tmp_path / "items.csv", POSTS)
    experts = write_csv(tmp_path / "ana.csv", [["item_id", "warmth"], ["r1", 4], ["r2", 2], ["r3", 1]])
    assert (
        judge(
            [
                "import",
                "table",
                str(experts),
                "--items",
                str(items),
                "--rubrics",
                str(RUBRICS),
                "--out",
                str(tmp_path / "b"),
            ],
            capsys,
        )[0]
        == 0
    )
    scores = write_csv(tmp_path / "gpt.csv", [["item_id", "warmth"], ["r1", "4"], ["r2", "Score: 3"], ["r3", "?"]])
    argv = [
        "import",
        "table",
        str(scores),
        "--benchmark",
        str(tmp_path / "b"),
        "--as-judge",
        "gpt",
        "--rubrics",
        str(RUBRICS),
        "--run-out",
        str(tmp_path / "run"),
        "--json",
    ]
    rc, out, err = judge(argv, capsys)
    assert rc == 0, err
    got = {j.item_id: (j.score, j.unscored_reason) for j in iter_records(tmp_path / "run")}
    # The judge's text is parsed exactly as a live answer: "Score: 3" reads as 3, "?" is a parse failure.
    assert got == {"r1": (4.0, None), "r2": (3.0, None), "r3": (None, "parse_failure")}
    rc, out, err = judge(
        [
            "agree",
            "--benchmark",
            str(tmp_path / "b"),
            "--rubrics",
            str(RUBRICS),
            "--run",
            str(tmp_path / "run"),
            "--n-boot",
            "20",
        ],
        capsys,
    )
    assert rc == 0 and "gpt" in out


# -- errors: each named, exit 2, nothing written -----------------------------------------------------------------


def _expect_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], *expected: str) -> str:
    rc, _, err = judge(argv, capsys)
    assert rc == 2, err
    for e in expected:
        assert e in err, err
    assert not (tmp_path / "b").exists() and not (tmp_path / "run").exists()  # nothing written
    return err


def _one_rater(tmp_path: Path, rows: list[list[Any]]) -> list[str]:
    items = write_csv(tmp_path / "items.csv", POSTS)
    f = write_csv(tmp_path / "ana.csv", rows)
    return ["import", "table", str(f), "--items", str(items), "--rubrics", str(RUBRICS), "--out", str(tmp_path / "b")]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        pytest.param(7, "7 is not a point of the warmth scale (1, 2, 3, 4, 5)", id="off-scale"),
        pytest.param("great", "'great' is not a rating (expected a number or a label: 1, 2, 3, 4, 5)", id="word"),
        pytest.param("2.5", "2.5 is not a point of the warmth scale", id="between-points"),
        pytest.param("inf", "inf is not a finite number", id="infinite"),
    ],
)
def test_a_bad_rating_is_named_with_file_row_column_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cell: Any, message: str
) -> None:
    argv = _one_rater(tmp_path, [["item_id", "warmth"], ["r1", 4], ["r2", cell]])
    _expect_error(tmp_path, capsys, argv, f"ana.csv row 3, column 'warmth': {message}")


def test_unknown_item_duplicate_rating_and_unknown_criterion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _one_rater(
        tmp_path,
        [
            ["item_id", "rater", "criterion", "rating"],
            ["r9", "a", "warmth", 3],
            ["r1", "a", "warmth", 3],
            ["r1", "a", "warmth", 4],
            ["r2", "a", "kindness", 2],
        ],
    )
    _expect_error(
        tmp_path,
        capsys,
        argv,
        "ana.csv row 2, column 'rating': item 'r9' is not in the items read",
        "ana.csv row 4, column 'rating': a second score of 'a' on 'warmth' for item 'r1' (first at",
        "ana.csv row 5, column 'criterion': unknown criterion 'kindness'; expected one of ['helpfulness', 'warmth']",
    )


def test_missing_columns_are_named_with_the_columns_there_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _one_rater(tmp_path, [["conversation", "warmth"], ["r1", 4]])
    _expect_error(tmp_path, capsys, argv, "no item id column 'item_id'", "['conversation', 'warmth']", "--col item=")
    argv = _one_rater(tmp_path, [["item_id", "kindness"], ["r1", 4]])
    _expect_error(tmp_path, capsys, argv, "no score columns", "['item_id', 'kindness']", "--scores PATTERN")
    argv = [*_one_rater(tmp_path, [["item_id", "warmth"], ["r1", 4]]), "--col", "rater=annotator"]
    _expect_error(tmp_path, capsys, argv, "no column 'annotator' (mapped as rater)")


def test_items_that_disagree_between_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_csv(tmp_path / "a.csv", [["item_id", "post", "response", "warmth"], ["r1", "p", "reply", 3]])
    b = write_csv(tmp_path / "b.csv", [["item_id", "post", "response", "warmth"], ["r1", "p", "other reply", 3]])
    argv = ["import", "table", str(a), str(b), "--rubrics", str(RUBRICS), "--out", str(tmp_path / "b")]
    _expect_error(tmp_path, capsys, argv, "b.csv row 2: item 'r1' differs from the same item at")


def test_broken_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--rubrics", str(RUBRICS), "--out", str(tmp_path / "b")]
    f = write_csv(tmp_path / "x.csv", [["item_id", "warmth"], ["r1", 4, "surplus"]])
    _expect_error(tmp_path, capsys, ["import", "table", str(f), *base], "x.csv row 2", "3 cells", "2 columns")
    f = tmp_path / "bad.csv"
    f.write_bytes(b"item_id,warmth\nr1,\xff\xfe\n")
    _expect_error(tmp_path, capsys, ["import", "table", str(f), *base], "bad.csv", "not UTF-8")
    f = tmp_path / "t.parquet"
    f.write_bytes(b"PAR1")
    _expect_error(tmp_path, capsys, ["import", "table", str(f), *base], "Parquet is not read", "convert it to CSV")
    f = write_xlsx(tmp_path / "s.xlsx", [["item_id", "warmth"], ["r1", 4]])
    _expect_error(tmp_path, capsys, ["import", "table", str(f), "--sheet", "Nope", *base], "no sheet 'Nope'")
    f = tmp_path / "dup.csv"
    f.write_text("item_id,warmth,warmth\nr1,1,2\n")
    _expect_error(tmp_path, capsys, ["import", "table", str(f), *base], "repeated column name(s) ['warmth']")
    _expect_error(tmp_path, capsys, ["import", "table", str(f), "--col", "item", *base], "expected KEY=COLUMN")


def test_a_long_list_of_problems_is_capped_with_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _one_rater(tmp_path, [["item_id", "warmth"], *[["r1" if n == 0 else f"x{n}", 9] for n in range(120)]])
    err = _expect_error(tmp_path, capsys, argv, "more problems like these")
    assert err.count("\n  - ") == 51  # 50 shown, then the count


def test_judge_not_found_and_run_dir_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_csv(
        tmp_path / "s.csv", [["item_id", "post", "response", "human_warmth", "gpt_warmth"], ["r1", "p", "r", 3, 4]]
    )
    argv = [
        "import",
        "table",
        str(f),
        "--scores",
        "{rater}_{criterion}",
        "--rubrics",
        str(RUBRICS),
        "--out",
        str(tmp_path / "b"),
        "--run-out",
        str(tmp_path / "run"),
    ]
    _expect_error(tmp_path, capsys, [*argv, "--as-judge", "gtp"], "no scores by ['gtp'] were read", "['gpt', 'human']")
    rc, _, err = judge([*argv, "--as-judge", "gpt"], capsys)
    assert rc == 0, err
    # Imported again (e.g. to complete an interrupted import): the earlier import is replaced whole ...
    f.write_text("item_id,post,response,human_warmth,gpt_warmth\nr1,p,r,3,5\n")
    rc, _, err = judge([*argv, "--as-judge", "gpt"], capsys)
    assert rc == 0, err
    assert [j.score for j in iter_records(tmp_path / "run")] == [5.0]
    # ... but a run of judge calls (paid for, not re-importable) is refused, not replaced
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    (tmp_path / "run" / "run.json").write_text(json.dumps({**manifest, "source": "live"}))
    rc, _, err = judge([*argv, "--as-judge", "gpt"], capsys)
    assert rc == 2 and f"--run-out {tmp_path / 'run'}: already holds a run of judge calls; choose an empty" in err


# -- the rating check, shared with the benchmark loader -----------------------------------------------------------


def test_rating_check_by_level_and_labels() -> None:
    from judge.data.ratings import parse_rating, rating_problems

    resort = load_rubric_set(ROOT / "rubrics" / "resort")
    assert parse_rating("Not harmful", resort["harmfulness"]) == (0.0, None)  # a label, case-insensitively
    assert parse_rating(" minor error ", resort["factuality"]) == (0.5, None)
    assert parse_rating("N/A", resort["empathy"]) == (None, None)  # not rated: missing, never a score
    assert parse_rating(True, resort["empathy"])[1] is not None
    assert rating_problems(7.5, resort["alignment_with_standards"]) is None  # interval: between points is fine
    assert rating_problems(11, resort["alignment_with_standards"]) == (
        "11 is outside the alignment_with_standards scale (1 to 10)"
    )
    assert rating_problems(0.25, resort["factuality"]) == (
        "0.25 is not a point of the factuality scale (0 (No), 0.5 (Minor error), 1 (Yes))"
    )
    rubric = parse_rubric(json.loads(json.dumps(resort["empathy"].model_dump())), "x")
    assert rating_problems(3, rubric) is None


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param("t.xlsx", b"not a zip at all", id="xlsx-garbage"),
        pytest.param("t.xlsx", b"PK\x03\x04" + b"\x00" * 40, id="xlsx-broken-zip"),
        pytest.param("t.jsonl", b'[1, 2]\n{"item_id": "r1"\n', id="jsonl-bad-lines"),
        pytest.param("t.csv", b"", id="csv-empty"),
        pytest.param("t.csv", b'item_id,warmth\n"r1,4\n', id="csv-unclosed-quote"),
        pytest.param("t.csv", b"item_id,post_id,post,response,warmth\nr1,,p,r,4\n", id="empty-post-id"),
        pytest.param("t.tsv", b"\xef\xbb\xbf\t\t\n", id="tsv-empty-header"),
    ],
)
def test_malformed_tables_never_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes
) -> None:
    f = tmp_path / name
    f.write_bytes(data)
    rc, _, err = judge(["import", "table", str(f), "--rubrics", str(RUBRICS), "--out", str(tmp_path / "b")], capsys)
    assert rc == 2 and name in err, err
    assert not (tmp_path / "b").exists()


def test_more_mistakes_each_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--rubrics", str(RUBRICS), "--out", str(tmp_path / "b")]
    ratings = write_csv(tmp_path / "ana.csv", [["item_id", "warmth"], ["c1", 4]])
    _expect_error(tmp_path, capsys, ["import", "table", str(ratings), *out], "no items were read", "--items FILE")
    _expect_error(tmp_path, capsys, ["import", "table", str(ratings), "--scores", "{rater}", *out], "--raters a,b,c")
    _expect_error(tmp_path, capsys, ["import", "table", str(ratings), "--scores", "{who}", *out], "{criterion}")
    long = write_csv(tmp_path / "long.csv", [["item_id", "post", "response", "rating"], ["c1", "p", "r", 3]])
    _expect_error(tmp_path, capsys, ["import", "table", str(long), *out], "needs a criterion column")
    turns = write_csv(
        tmp_path / "turns.csv",
        [
            ["item_id", "turn", "role", "text"],
            ["c1", 1, "seeker", "hi"],
            ["c1", "two", "supporter", "hello"],
            ["c2", 1, "<|im_start|>", "x"],
            ["c3", 1, "seeker", "alone"],
        ],
    )
    argv = ["import", "table", str(ratings), "--items", str(turns), "--judged-role", "supporter", *out]
    _expect_error(
        tmp_path,
        capsys,
        argv,
        "turns.csv row 3, column 'turn': turn 'two': expected a whole number",
        "turns.csv row 4, column 'role': role '<|im_start|>': expected a word such as seeker or supporter",
        "turns.csv row 2: conversation 'c1' has no 'supporter' turn to judge (its roles: ['seeker'])",
    )
    items = write_csv(tmp_path / "items.csv", POSTS)
    assert (
        judge(
            [
                "import",
                "table",
                str(write_csv(tmp_path / "x.csv", [["item_id", "warmth"], ["r1", 4]])),
                "--items",
                str(items),
                "--rubrics",
                str(RUBRICS),
                "--out",
                str(tmp_path / "old"),
            ],
            capsys,
        )[0]
        == 0
    )
    argv = ["import", "table", str(ratings), "--benchmark", str(tmp_path / "old"), "--rubrics", str(RUBRICS)]
    _expect_error(tmp_path, capsys, argv, "expert ratings by ['ana'] were read, but --benchmark adds judge scores")

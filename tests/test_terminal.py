"""The terminal as a terminal (issue 29, point 2): every verb's output fits an 80-column terminal and holds no
markup, and the live progress line of a real ``judge run`` on a real 80-column pseudo-terminal is one line,
redrawn in place.

The verbs run in a scratch directory with short relative paths (a path or a URL is never split, so a long one
would be a long line on any terminal), with ``COLUMNS=80``.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from judge.cli import VERBS, main
from judge.engine.judgment import Judgment
from judge.engine.progress import Progress
from judge.report.model import Cell, Column, Table
from judge.report.text import render_table_text, wrap_lines
from judge.terminal import text_width
from tests.support.stub import StubServer
from tests.support.tty import run_in_pty

ROOT = Path(__file__).resolve().parents[1]
CHATS = ROOT / "datasets" / "support-chats"
WIDTH = 80
MARKUP = re.compile(r"</?(details|summary|b|i|br|table|tr|td|th|div|span)\b|\\\||\*\*|^#{1,3} |^\| ", re.M)


def _check(text: str, what: str) -> None:
    for line in text.split("\n"):
        if len(line.split()) == 1 and line.strip().startswith(("file://", "/")):
            continue  # a path or link wider than the width stands whole on a line of its own (split, it cannot open)
        assert text_width(line) <= WIDTH, f"{what}: a line of {text_width(line)} columns:\n{line}"
    m = MARKUP.search(text)
    assert m is None, f"{what}: markup {m.group()!r} in terminal output:\n{text}"


# -- the renderer ----------------------------------------------------------------------------------------------


def _table(ncols: int, label: str = "system") -> Table:
    cols = [Column(key="name", label=label)] + [
        Column(key=f"c{k}", label=f"criterion {k} mean [95% CI]", numeric=True, group="g" if k % 2 else "")
        for k in range(ncols)
    ]
    rows = [
        [Cell(text=f"system-{r}")] + [Cell(text=f"{r}.{k}5 [{r}.0{k}, {r}.9{k}]") for k in range(ncols)]
        for r in range(4)
    ]
    return Table(key="t", title="t", columns=cols, rows=rows)


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_tables_fit_the_width_and_say_what_they_leave_out(width: int) -> None:
    text = render_table_text(_table(9), width, more="see report.html")
    assert all(text_width(line) <= width for line in text.split("\n")), text
    assert "system-3" in text  # the row names always stay
    shown = sum(1 for k in range(9) if f"3.{k}5 [3.0{k}, 3.9{k}]" in text)
    if shown < 9:
        flat = " ".join(text.split())  # (the note itself is wrapped to the width)
        assert f"({9 - shown} more column(s) not shown at this width" in flat and "see report.html" in flat
    else:
        assert "not shown" not in text


def test_wide_enough_tables_show_everything_and_align_numbers() -> None:
    text = render_table_text(_table(2), 200)
    lines = text.split("\n")
    # the group line, the labels (on one line: there is room), the rule, 4 rows
    assert "not shown" not in text and len(lines) == 3 + 4
    assert lines[0].strip() == "g" and lines[0].index("g") == lines[1].index("criterion 1")  # the group over its column
    assert len({len(line) for line in lines[3:]}) == 1  # numbers right-aligned: every row ends at the same column


def test_empty_columns_and_control_characters() -> None:
    t = Table(
        key="t",
        title="t",
        columns=[Column(key="a", label="name"), Column(key="m", label="method"), Column(key="v", label="v")],
        rows=[[Cell(text="evil\x1b[2J"), Cell(text=""), Cell(text="1")]],
    )
    text = render_table_text(t, 80)
    assert "method" not in text and "evil\\x1b[2J" in text and "\x1b" not in text


def test_wrap_lines_keeps_paths_whole() -> None:
    path = "/a/very/long/path/" + "x" * 90 + "/viewer.html"
    text = wrap_lines(f"  open {path} in a browser, then sort by the gap between the judge and the experts", 40)
    assert path in text.split("\n")[1]  # on a line of its own, whole (split, it would not open)
    assert all(text_width(line) <= 40 for line in text.split("\n") if path not in line)


def test_progress_line_fits_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    p = Progress(10_000, False, eta_after=1)
    p.t_calls = p.t0 - 100
    for n in range(40):
        j = Judgment(item_id=f"i{n}", criterion="empathy", judge="j", score=None if n % 3 else 3.0,
                     unscored_reason=["parse_failure", "refusal", "api_error"][n % 3] if n % 3 else None,
                     attempts=2, cost_usd=0.001)  # fmt: skip
        p.update(j)
    full = p.line()
    assert "retries" in full and "cost" in full and len(full) > 100
    for width in (40, 60, 77, 120):
        line = p.line(width=width)
        assert text_width(line) <= width, (width, line)
        assert line.startswith("40/10000 judgments")
    assert "ETA" in p.line(width=77) and "cost" not in p.line(width=77)  # what matters most stays


# -- every verb at 80 columns ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("t80")
    (d / "data").symlink_to(ROOT / "datasets")
    return d


def test_every_verb_fits_80_columns(
    scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(scratch)
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setenv("JUDGE_CACHE_DIR", str(scratch / "cache"))
    monkeypatch.setenv("JUDGE_MODEL_DIR", "models")  # judge models prints its paths: short ones here
    rub = "data/support-chats/rubrics"
    ratings = sorted(f"data/support-chats/ratings/{p.name}" for p in (CHATS / "ratings").glob("*.csv"))
    items = "data/support-chats/conversations.csv"
    seen: set[str] = set()

    def verb(*argv: str, rc: int = 0) -> str:
        got = main(list(argv))
        out, err = capsys.readouterr()
        assert got == rc, f"{argv}: exit {got}\n{out}\n{err}"
        _check(out, " ".join(argv) + " (stdout)")
        _check(err, " ".join(argv) + " (stderr)")
        seen.add(argv[0])
        return out

    with StubServer() as url:
        verb("import", "table", *ratings, "--items", items, "--judged-role", "supporter", "--rubrics", rub,
             "--out", "bench")  # fmt: skip
        verb("import", "table", "data/support-chats/judge-scores.csv", "--scores", "{rater}_{criterion}",
             *[a for j in "abcd" for a in ("--as-judge", f"judge-{j}")], "--items", items, "--judged-role",
             "supporter", "--rubrics", rub, "--out", "sheet", "--run-out", "runs/sheet")  # fmt: skip
        outputs = "outputs.jsonl"
        Path(outputs).write_text(
            json.dumps({"item_id": "chat-01", "criterion": "warmth", "judge": "gpt", "raw_output": "4"}) + "\n"
        )
        verb("import", "judgments", outputs, "--benchmark", "bench", "--rubrics", rub, "--out", "runs/imp")
        verb("rubrics", "list", rub)
        verb("rubrics", "validate", rub)
        verb("rubrics", "new", "kindness", "--scale", "1-5", "--out", "myrub")
        verb("rubrics", "schema", "--out", "schema.json")
        verb("prompt", "show", "--benchmark", "bench", "--rubrics", rub, "--item", "chat-01", "--judge",
             "openai/gpt-4o")  # fmt: skip
        out = verb("run", "--benchmark", "bench", "--rubrics", rub, "--judge", "openai/stub-judge", "--api-base",
                   url, "--out", "runs/stub")  # fmt: skip
        assert "look at it: judge show runs/stub" in out
        verb("agree", "--benchmark", "bench", "--rubrics", rub, "--run", "runs/stub", "--run", "runs/sheet",
             "--n-boot", "50")  # fmt: skip
        verb("agree", "--benchmark", "bench", "--rubrics", rub, "--run", "runs/sheet", "--n-boot", "50", "--out",
             "reports/agree")  # fmt: skip
        verb("calibrate", "--benchmark", "bench", "--rubrics", rub, "--run", "runs/sheet", "--judge", "judge-a",
             "--out", "cal.json", "--n-boot", "100", "--report", "reports/cal")  # fmt: skip
        verb("exemplars", "--benchmark", "bench", "--criteria", "warmth", "--count", "3", "--out", "shots.json")
        verb("align", "--benchmark", "bench", "--rubrics", rub, "--run", "runs/sheet", "--judge", "judge-a",
             "--n-boot", "50", "--folds", "4", "--inner-folds", "3", "--out", "aligned.json")  # fmt: skip
        verb("estimate", "--benchmark", "bench", "--rubrics", rub, "--run", "runs/stub", "--criterion", "warmth")
        verb("leaderboard", "--benchmark", "bench", "--rubrics", rub, "--run", "runs/stub", "--n-boot", "50",
             "--out", "reports/lb")  # fmt: skip
        verb("leaderboard", "--judges", "--benchmark", "bench", "--rubrics", rub, "--run", "runs/sheet", "--run",
             "runs/stub", "--n-boot", "50", "--out", "reports/jb")  # fmt: skip
        verb("probe", "--benchmark", "data/demo", "--judge", "openai/stub-judge", "--api-base", url, "--limit", "3",
             "--criteria", "empathy", "--n-boot", "100", "--out", "reports/pr")  # fmt: skip
        verb("view", "--run", "runs/stub", "--rubrics", rub, "--out", "v.html")
        verb("show", "runs/stub", "--rubrics", rub)
        verb("show", "runs/sheet", "--rubrics", rub)
        Path("sys.yaml").write_text(
            "name: s\nmodel: openai/stub-judge\napi_base: " + url + "\nstrategy: single\ntemplate: 'Reply: {post}'\n"
        )
        verb("generate", "--posts", "data/demo", "--system", "sys.yaml", "--limit", "2", "--out", "gen")
        verb("gate", "--write-baseline", "base.json", "--candidate", "runs/stub", "--rubrics", rub)
        verb("gate", "--baseline", "base.json", "--candidate", "runs/stub", "--rubrics", rub)
        verb("models")
        verb("demo", "--judge", "openai/stub-judge", "--api-base", url, "--out", "reports/demo", "--criteria",
             "empathy")  # fmt: skip
    # every verb was seen: a verb added later must be added here
    assert seen == set(VERBS), sorted(set(VERBS) - seen)


# -- a real terminal ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_live_progress_on_an_80_column_terminal_is_one_line(tmp_path: Path) -> None:
    """``judge run`` on a real 80x24 pseudo-terminal: the live line is redrawn in place (``\\r``, then the line,
    then erase-to-end), never longer than the terminal, and every printed line fits."""
    with StubServer(latency_s=0.05) as url:
        cmd = [sys.executable, "-m", "judge", "run", "--benchmark", str(ROOT / "datasets" / "demo"), "--judge",
               "openai/stub-judge", "--api-base", url, "--out", "r", "--concurrency", "2",
               "--cache-dir", "c"]  # fmt: skip
        done = run_in_pty(cmd, cols=80, rows=24, cwd=str(tmp_path))
    assert done.rc == 0, done.output
    live = [seg for line in done.lines for seg in line.split("\r") if "judgments" in seg and "/60" in seg]
    assert len(live) >= 3, done.output  # redrawn several times...
    for seg in live:
        shown = seg.replace("\x1b[K", "")
        assert text_width(shown) <= 79, shown  # ...each time on one line
    rows = [line.split("\r")[-1].replace("\x1b[K", "") for line in done.lines]
    assert all(text_width(r) <= 80 for r in rows), done.output
    assert sum("/60 judgments" in r for r in rows) == 1  # one progress row left on the screen, not a stack


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: the tmux capture is skipped")
def test_tmux_capture_of_a_run_shows_one_progress_line(tmp_path: Path) -> None:
    """What ``python -m benchmarks.terminal`` commits in reports/terminal/run-80cols.txt, with the stub judge."""
    from benchmarks.terminal import main as capture

    out = tmp_path / "run-80cols.txt"
    assert capture(["--stub", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    running, final = text.split("When it has finished:")
    for frame in (running, final):
        screen = [line[1:-1] for line in frame.split("\n") if line.startswith("|")]
        assert screen and all(len(line) == 80 for line in screen)
        assert sum(bool(re.match(r"^  \d+/60 judgments", line)) for line in screen) == 1, frame
    assert re.search(r"\|  \d+/60 judgments, .*ETA", running)  # part-way, redrawn in place
    assert "look at it: judge show runs/demo" in final

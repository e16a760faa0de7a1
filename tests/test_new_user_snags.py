"""The smaller things that tripped a new user (issue 27, point 9), each checked where it happens.

- the 'no score columns' error names the rating column ('rating'), not None;
- `judge rubrics new` points its ``$schema`` comment at the installed schema, wherever the set is written;
- a wide markdown table (the judge board) is split into one table per column group;
- the ETA follows the recent throughput, not the average since a slow start.
(Raters named from file names: tests/test_table_layouts.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from judge.cli import main
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine import progress as progress_module
from judge.engine.judgment import Judgment
from judge.engine.progress import Progress
from judge.report.markdown import MAX_COLUMNS, render_markdown, split_table
from judge.report.model import Cell, Column, Report, Table

ROOT = Path(__file__).resolve().parents[1]
RUBRICS = ROOT / "datasets" / "support-chats" / "rubrics"


def test_no_score_columns_names_the_rating_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "ana.csv"
    table.write_text("item_id,post,response,kindness\nc1,p,r,4\n", encoding="utf-8")
    rc = main(["import", "table", str(table), "--rubrics", str(RUBRICS), "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert rc == 2 and "(or a 'rating' column for one rating per row)" in err and "None" not in err


def _schema_of(path: Path) -> Path:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    ref = re.fullmatch(r"# yaml-language-server: \$schema=(.+)", first)
    assert ref is not None, first
    target = Path(ref[1])
    return target if target.is_absolute() else (path.parent / target).resolve()


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_rubrics_new_points_at_a_schema_that_exists(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    installed = default_rubrics_dir().parent
    out = tmp_path / "my-rubrics" if where == "outside" else installed.parent / "build" / f"t-{tmp_path.name}"
    try:
        assert main(["rubrics", "new", "warmth", "--scale", "1-5", "--out", str(out)]) == 0
        capsys.readouterr()
        rubric, framing = _schema_of(out / "warmth.yaml"), _schema_of(out / "framing.yaml")
        assert rubric == (installed / "rubric.schema.json").resolve() and rubric.is_file()
        assert framing == (installed / "framing.schema.json").resolve() and framing.is_file()
        assert json.loads(rubric.read_text())["title"]  # a JSON Schema an editor can load
        first = (out / "warmth.yaml").read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=" + ("/" if where == "outside" else "../"))
        assert set(load_rubric_set(out)) == {"warmth"}  # the comment changes nothing a loader reads
    finally:
        if where == "inside":
            import shutil

            shutil.rmtree(out, ignore_errors=True)


def _board(criteria: int) -> Table:
    cols = [Column(key="judge", label="judge")]
    for c in range(criteria):
        cols += [Column(key=f"c{c}_{k}", label=k, group=f"crit{c}") for k in ("kappa", "bias", "Spearman", "alt")]
    cols += [Column(key="cost", label="$ / 100"), Column(key="time", label="s / 100")]
    rows = [[Cell(text=f"judge-{r}")] + [Cell(text=f"{r}.{i}") for i in range(len(cols) - 1)] for r in range(3)]
    return Table(key="judges", title="Judges", columns=cols, rows=rows, caption="what the columns mean")


def test_a_wide_markdown_table_is_split_by_column_group() -> None:
    wide = _board(7)  # 1 + 7 x 4 + 2 = 31 columns
    parts = split_table(wide)
    assert [p.title for p in parts] == [f"Judges: crit{c}" for c in range(7)] + ["Judges: other columns"]
    assert all(len(p.columns) <= MAX_COLUMNS for p in parts)
    assert all(p.columns[0].label == "judge" and [r[0].text for r in p.rows] == ["judge-0", "judge-1", "judge-2"]
               for p in parts)  # fmt: skip
    # every cell is in exactly one part (besides the repeated row names)
    assert sum(len(p.columns) - 1 for p in parts) == len(wide.columns) - 1
    assert parts[1].rows[2][1].text == wide.rows[2][5].text  # crit1's kappa of judge-2
    assert parts[-1].caption == wide.caption and not parts[0].caption
    text = render_markdown(Report(title="Judge leaderboard", tables=[wide]))
    widths = {line.count(" | ") + 1 for line in text.splitlines() if line.startswith("| ")}
    assert max(widths) <= MAX_COLUMNS and "## Judges: crit6" in text
    narrow = _board(2)  # 11 columns: as it is
    assert split_table(narrow) == [narrow]


def test_the_eta_follows_recent_throughput(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock[0])
    p = Progress(1000, False, eta_after=10)
    p.t_calls = clock[0]

    def calls(n: int, seconds_each: float) -> None:
        for k in range(n):
            clock[0] += seconds_each
            p.update(Judgment(item_id=f"i{p.done}-{k}", criterion="warmth", judge="j", score=3.0))

    calls(10, 30.0)  # a slow start: warm-up, 30 s a call
    calls(90, 1.0)  # then 1 call a second
    # 900 judgments left at 1 call/s: about 15 minutes (the average since the start, 100 calls in 390 s, would
    # say nearly an hour)
    assert "ETA 15m00s" in p.line(clock[0])
    clock[0] += 60  # a stall shows at once: the last 50 calls took 50 s + 60 s of waiting, 900 x 110 / 50 s left
    assert "ETA 33m00s" in p.line(clock[0])
    # with fewer than two recent calls there is only the overall rate
    q = Progress(10, False, eta_after=1)
    q.t_calls = clock[0]
    clock[0] += 5.0
    q.update(Judgment(item_id="x", criterion="warmth", judge="j", score=3.0))
    assert "ETA 45s" in q.line(clock[0])

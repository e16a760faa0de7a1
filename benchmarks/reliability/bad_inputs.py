"""Bad input: malformed rubric files, benchmark JSONL, judgment imports and judge configs through the real CLI.

Every case here is malformed by construction. The CLI (in-process, ``judge.cli.main``) must exit 2 with a message
that names the place (the file, and the line or field where one applies), never raise (a traceback), and never
leave a partial output. ``check_cli`` is shared with the hypothesis tests in ``tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from benchmarks.reliability._common import DEMO, ROOT

RUBRIC = ROOT / "rubrics" / "resort" / "empathy.yaml"
TOML_OK = '[judges.stub]\nmodel = "openai/stub-judge"\napi_base = "http://127.0.0.1:9/v1"\nmax_retries = 0\n'
BAD_UTF8 = b"\xff\xfe\xc3\x28 not utf-8 \x80\n"


@dataclass
class Outcome:
    """What the CLI did with one input."""

    rc: int | None
    stderr: str
    traceback: str | None = None
    partial_output: bool = False

    def clear_error(self, expect: list[str]) -> bool:
        """Exit 2, every expected place named, no traceback, no partial output."""
        return (
            self.rc == 2
            and self.traceback is None
            and not self.partial_output
            and "Traceback" not in self.stderr
            and all(e in self.stderr for e in expect)
        )


def run_cli(argv: list[str]) -> Outcome:
    """``judge.cli.main(argv)`` in-process, capturing stderr; an escaping exception is recorded, not raised."""
    from judge.cli import main

    err, out = io.StringIO(), io.StringIO()
    tb = None
    rc: int | None = None
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse usage errors
            rc = int(exc.code) if isinstance(exc.code, int) else 2
        except BaseException:
            tb = traceback.format_exc()
    return Outcome(rc, err.getvalue(), tb)


# -- the four input kinds: where the file goes and which command reads it ----------------------------------------


def check_cli(kind: str, data: bytes, tmp: Path) -> Outcome:
    """Write ``data`` as an input of ``kind`` under ``tmp`` and run the command that reads it.

    Kinds: ``rubric`` (``judge rubrics validate``), ``benchmark`` (items.jsonl, ``judge run --limit 0``),
    ``import`` (``judge import judgments``), ``judges`` (judges.toml, ``judge run --limit 0``).
    """
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    out = tmp / "out"
    if kind == "rubric":
        path = tmp / "rubrics" / "empathy.yaml"
        path.parent.mkdir()
        path.write_bytes(data)
        argv = ["rubrics", "validate", str(path)]
    elif kind == "benchmark":
        bench = tmp / "bench"
        bench.mkdir()
        (bench / "items.jsonl").write_bytes(data)
        argv = ["run", "--no-progress", "--benchmark", str(bench), "--judge", "openai/stub-judge", "--api-base",
                "http://127.0.0.1:9/v1", "--criteria", "empathy", "--limit", "0", "--out", str(out)]  # fmt: skip
    elif kind == "import":
        path = tmp / "outputs.jsonl"
        path.write_bytes(data)
        argv = ["import", "judgments", str(path), "--benchmark", str(DEMO), "--out", str(out)]
    elif kind == "judges":
        path = tmp / "judges.toml"
        path.write_bytes(data)
        argv = ["run", "--no-progress", "--benchmark", str(DEMO), "--judge", str(path), "--criteria", "empathy",
                "--limit", "0", "--out", str(out)]  # fmt: skip
    else:
        raise ValueError(f"unknown input kind {kind!r}")
    outcome = run_cli(argv)
    if outcome.rc != 0 and out.exists() and any(out.iterdir()):
        outcome.partial_output = True
    return outcome


# -- valid bases ---------------------------------------------------------------------------------------------------


def rubric_base() -> dict[str, Any]:
    data = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def items_base() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DEMO / "items.jsonl").read_text(encoding="utf-8").splitlines() if line]


def outputs_base() -> list[dict[str, Any]]:
    return [
        {"item_id": it["item_id"], "criterion": "empathy", "judge": "gpt-x", "raw_output": str(1 + i % 5)}
        for i, it in enumerate(items_base())
    ]


def jsonl(rows: list[Any]) -> bytes:
    return ("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n").encode()


def _yaml(d: Any) -> bytes:
    return yaml.safe_dump(d, sort_keys=False, allow_unicode=True).encode()


# -- malformed cases -----------------------------------------------------------------------------------------------


@dataclass
class Case:
    kind: str
    name: str
    data: bytes
    expect: list[str] = field(default_factory=list)  # substrings the message must contain (file, line, field)


def _rubric_with(edit: Callable[[dict[str, Any]], None]) -> bytes:
    d = copy.deepcopy(rubric_base())
    edit(d)
    return _yaml(d)


def _rows_with(rows: list[dict[str, Any]], line: int, edit: Callable[[dict[str, Any]], Any]) -> list[Any]:
    """Copy ``rows`` and edit row ``line`` (1-based) in place (the edit's return value is ignored)."""
    rows = copy.deepcopy(rows)
    edit(rows[line - 1])
    return rows


def _rows_replace(rows: list[dict[str, Any]], line: int, new: Any) -> list[Any]:
    """Copy ``rows`` with row ``line`` (1-based) replaced by ``new`` (a raw string line or any JSON value)."""
    return [new if i == line - 1 else r for i, r in enumerate(copy.deepcopy(rows))]


def _dropper(key: str) -> Callable[[dict[str, Any]], None]:
    def drop(d: dict[str, Any]) -> None:
        d.pop(key)

    return drop


def rubric_cases() -> list[Case]:
    f = "empathy.yaml"
    cases = [Case("rubric", f"missing {k}", _rubric_with(_dropper(k)), [f, k])
             for k in ("name", "version", "title", "question", "level", "scale")]  # fmt: skip
    edits: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
        ("version is a number", lambda d: d.update(version=1.0), "version"),
        ("unknown level", lambda d: d.update(level="ratio"), "level"),
        ("scale is a string", lambda d: d.update(scale="five"), "scale"),
        ("scale has one point", lambda d: d.update(scale=d["scale"][:1]), "scale"),
        ("scale value not a number", lambda d: d["scale"][0].update(value="high"), "scale[0].value"),
        ("scale decreasing", lambda d: d.update(scale=list(reversed(d["scale"]))), "scale values"),
        ("duplicate labels", lambda d: d["scale"][1].update(label=d["scale"][0]["label"]), "labels"),
        ("misspelt field", lambda d: d.update(qestion="?"), "qestion"),
        ("answer kind unknown", lambda d: d.update(answer={"kind": "number"}), "answer.kind"),
        ("name differs from file", lambda d: d.update(name="empathy_v2"), "name"),
        ("anchor empty", lambda d: d["scale"][2].update(anchor=""), "scale[2].anchor"),
    ]
    cases += [Case("rubric", n, _rubric_with(e), [f, x]) for n, e, x in edits]
    text = RUBRIC.read_bytes()
    cases += [
        Case("rubric", "unclosed bracket", text + b"\nextra: [1, 2\n", [f]),
        Case("rubric", "bad indentation", b"name: empathy\n  version: '1.0'\n title: x\n", [f]),
        Case("rubric", "tab indentation", b"name: empathy\nscale:\n\t- value: 1\n", [f]),
        Case("rubric", "not UTF-8", BAD_UTF8 + text, [f]),
        Case("rubric", "empty file", b"", [f]),
        Case("rubric", "top level is a list", b"- a\n- b\n", [f]),
        Case("rubric", "top level is a string", b"just text\n", [f]),
        Case("rubric", "cut mid-way", text[: len(text) // 3] + b'"unterminated\n', [f]),
    ]
    return cases


def benchmark_cases() -> list[Case]:
    f, base = "items.jsonl", items_base()
    rows = [
        ("line not JSON", _rows_replace(base, 3, json.dumps(base[2])[:40]), ":3"),
        ("line is a list", _rows_replace(base, 2, "[1, 2]"), ":2"),
        ("missing post", _rows_with(base, 5, lambda r: r.pop("post")), ":5: post"),
        ("post is a number", _rows_with(base, 4, lambda r: r.update(post=42)), ":4: post"),
        ("misspelt field", _rows_with(base, 6, lambda r: r.update(respnse="x")), ":6: respnse"),
        ("empty item_id", _rows_with(base, 7, lambda r: r.update(item_id="")), ":7: item_id"),
        ("dimension id a word", _rows_with(base, 8, lambda r: r.update(dimension_id="four")), ":8: dimension_id"),
        ("system not a mapping", _rows_with(base, 9, lambda r: r.update(system="x")), ":9: system"),
        ("duplicate item_id", _rows_with(base, 10, lambda r: r.update(item_id=base[0]["item_id"])), "duplicate"),
    ]
    cases = [Case("benchmark", n, jsonl(r), [f, x]) for n, r, x in rows]
    good = jsonl(base)
    cases += [
        Case("benchmark", "not UTF-8", good + BAD_UTF8, [f]),
        Case("benchmark", "cut mid-line", good[: len(good) // 2], [f]),
        Case("benchmark", "a bare number line", good + b"17\n", [f, f":{len(base) + 1}"]),
    ]
    return cases


def import_cases() -> list[Case]:
    f, base = "outputs.jsonl", outputs_base()
    rows = [
        ("line not JSON", _rows_replace(base, 2, "{item_id: x}"), ":2"),
        ("missing raw_output", _rows_with(base, 3, lambda r: r.pop("raw_output")), ":3: raw_output"),
        ("unknown criterion", _rows_with(base, 4, lambda r: r.update(criterion="kindness")), ":4: criterion"),
        ("unknown item", _rows_with(base, 5, lambda r: r.update(item_id="demo:nope")), ":5: item_id"),
        ("negative sample", _rows_with(base, 6, lambda r: r.update(sample=-1)), ":6: sample"),
        ("sample a word", _rows_with(base, 7, lambda r: r.update(sample="first")), ":7: sample"),
        ("empty judge", _rows_with(base, 8, lambda r: r.update(judge="")), ":8: judge"),
        ("raw_output a list", _rows_with(base, 9, lambda r: r.update(raw_output=[4])), ":9: raw_output"),
        ("repeated output", [*base, base[0]], f":{len(base) + 1}"),
        ("line is a string", _rows_replace(base, 11, '"4"'), ":11"),
    ]
    cases = [Case("import", n, jsonl(r), [f, x]) for n, r, x in rows]
    good = jsonl(base)
    cases += [
        Case("import", "not UTF-8", BAD_UTF8 + good, [f]),
        Case("import", "empty file", b"", [f]),
        Case("import", "cut mid-line", good[: len(good) // 2 + 7], [f]),
    ]
    return cases


def judges_cases() -> list[Case]:
    f = "judges.toml"
    t = TOML_OK
    cases = [
        ("invalid TOML", t + "timeout = \n", []),
        ("unclosed string", t.replace('"openai/stub-judge"', '"openai/stub-judge'), []),
        ("missing model", t.replace('model = "openai/stub-judge"\n', ""), ["model"]),
        ("negative timeout", t + "timeout = -1\n", ["timeout"]),
        ("max_retries a word", t.replace("max_retries = 0", 'max_retries = "many"'), ["max_retries"]),
        ("misspelt key", t + "temprature = 0.2\n", ["temprature"]),
        ("no judges table", '[judge.stub]\nmodel = "x"\n', ["judges"]),
        ("judges not a table", "judges = 3\n", ["judges"]),
        ("judge not a table", "[judges]\nstub = 5\n", ["judges.stub"]),
        ("unknown response_format", t + 'response_format = "xml"\n', ["response_format"]),
        ("params not a table", t + 'params = "hot"\n', ["params"]),
        ("empty model", t.replace('"openai/stub-judge"', '""'), ["model"]),
        ("empty file", "", ["judges"]),
    ]
    out = [Case("judges", n, d.encode(), [f, *x]) for n, d, x in cases]
    out.append(Case("judges", "not UTF-8", BAD_UTF8 + t.encode(), [f]))
    return out


def all_cases() -> list[Case]:
    return rubric_cases() + benchmark_cases() + import_cases() + judges_cases()


class BadInputFailure(BaseModel):
    kind: str
    case: str
    rc: int | None
    reason: str


class BadInputResult(BaseModel):
    tried: int
    clear_error: int
    by_kind: dict[str, dict[str, int]] = Field(description="kind -> {tried, clear_error}.")
    failures: list[BadInputFailure]


def run_bad_inputs(work: Path) -> BadInputResult:
    """Run every malformed case through the CLI and count the clear errors."""
    by_kind: dict[str, dict[str, int]] = {}
    failures = []
    for i, case in enumerate(all_cases()):
        o = check_cli(case.kind, case.data, work / f"case-{i:03d}")
        ok = o.clear_error(case.expect)
        k = by_kind.setdefault(case.kind, {"tried": 0, "clear_error": 0})
        k["tried"] += 1
        k["clear_error"] += ok
        if not ok:
            why = (o.traceback or "").strip().splitlines()[-1:] or [o.stderr.strip()[:300]]
            reason = f"partial output; {why[0]}" if o.partial_output else why[0]
            failures.append(BadInputFailure(kind=case.kind, case=case.name, rc=o.rc, reason=reason))
    return BadInputResult(
        tried=sum(k["tried"] for k in by_kind.values()),
        clear_error=sum(k["clear_error"] for k in by_kind.values()),
        by_kind=by_kind,
        failures=failures,
    )

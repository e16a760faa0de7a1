"""A generated corpus of hostile inputs: every file kind the tool reads, mutated, through every verb that reads it.

The clean inputs (``corpus_inputs.build_base``) are mutated one file at a time: truncated, bytes flipped, encodings
changed (Latin-1, UTF-16, a byte-order mark, CRLF), nested deeply, control and combining characters inserted,
values put off their scale, keys and ids duplicated, names padded or written in another Unicode normal form, cells
made formulas with no saved value or put under no column name. Each mutated copy is read by every verb of its
kind (``judge.cli.main``, in-process, from a copy of the inputs), and the outcome is classified:

=====================  ==========================================================================================
clean error            exit 2 with a message, no output left behind
accepted-equal         exit 0 (or a documented result code), and the same result as on the clean file
accepted-with-warning  a different result, and a warning on stderr says why
accepted-changed       a different result from a mutation that changed what the file says (a flipped byte in a
                       text, a blanked cell): following the file is right
traceback              an exception reached the error boundary (or escaped it): a fault
partial output         a failed command left its output (or part of it) behind
silently different     a mutation that keeps the meaning (neutral) or breaks the file (breaking) changed the result
                       with no warning: wrong data accepted
unexpected exit        an exit code the verb does not document
=====================  ==========================================================================================

The last four are failures. ``python -m benchmarks.reliability.corpus`` runs a large corpus and writes
``reports/reliability/corpus.md`` and ``corpus.json``; ``tests/test_corpus.py`` runs a small one (hypothesis
chooses the cases) in CI.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import random
import shutil
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from benchmarks.reliability.corpus_inputs import TARGETS, Base, Target, Verb, build_base

Expect = Literal["neutral", "breaking", "content"]
Outcome = Literal[
    "clean error",
    "accepted-equal",
    "accepted-with-warning",
    "accepted-changed",
    "traceback",
    "partial output",
    "silently different",
    "unexpected exit",
]
OUTCOMES: tuple[Outcome, ...] = (
    "clean error",
    "accepted-equal",
    "accepted-with-warning",
    "accepted-changed",
    "traceback",
    "partial output",
    "silently different",
    "unexpected exit",
)
FAILURES: frozenset[str] = frozenset({"traceback", "partial output", "silently different", "unexpected exit"})
FAULT_MARK = "error: unexpected "  # what judge.cli.main prints for a fault


# -- mutations -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    op: str
    expect: Expect
    data: bytes
    note: str


TEXT_FORMATS = ("jsonl", "json", "yaml", "toml", "csv", "tsv")
CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\r", "\x0b", "\x1b]0;title\x07"]
COMBINING = ["\u0301", "\u0308", "\u200d", "\u200b", "\ufeff", "\u202e"]
OFF_SCALE: list[Any] = [40, -3, 6, 0, 1e300, 5.5]
WRONG: list[Any] = [[1], {"a": 1}, True, "x"]  # put in place of a value (not null) of another type
DEEP = 5000

# op -> (formats it applies to, what it should do to the result)
OPS: dict[str, tuple[tuple[str, ...], Expect]] = {
    "truncate": (("jsonl", "json", "csv", "tsv", "yaml", "toml", "xlsx"), "breaking"),
    "flip-byte": (("jsonl", "json", "csv", "tsv", "yaml", "toml", "xlsx"), "content"),
    "latin-1": (TEXT_FORMATS, "breaking"),
    "utf-16": (TEXT_FORMATS, "breaking"),
    "bom": (TEXT_FORMATS, "neutral"),
    "crlf": (TEXT_FORMATS, "neutral"),
    "control-char": (TEXT_FORMATS, "content"),
    "combining-char": (TEXT_FORMATS, "content"),
    "nest-deep": (("jsonl", "json", "yaml", "toml"), "breaking"),
    "duplicate-key": (("jsonl", "json", "yaml", "toml"), "breaking"),
    "duplicate-record": (("jsonl", "csv", "tsv", "xlsx"), "breaking"),
    "off-scale": (("jsonl", "json", "csv", "tsv", "xlsx", "yaml"), "breaking"),
    "wrong-type": (("jsonl", "json"), "breaking"),
    "nfd-names": ((*TEXT_FORMATS, "xlsx"), "neutral"),
    "padded-names": (("jsonl", "csv", "tsv", "xlsx"), "neutral"),
    "columns-reordered": (("csv", "tsv", "xlsx"), "neutral"),
    "extra-column": (("csv", "tsv", "xlsx"), "neutral"),
    "blank-cell": (("csv", "tsv", "xlsx"), "content"),
    "reformatted": (("json", "yaml", "jsonl"), "neutral"),
    "formula-no-value": (("xlsx",), "breaking"),
    "value-under-no-header": (("xlsx",), "breaking"),
    "number-as-text": (("xlsx",), "neutral"),
    "boolean-cell": (("xlsx",), "breaking"),
}

# Per kind, what an op means when the general rule does not hold (a documented behaviour).
EXPECT_OVERRIDES: dict[tuple[str, str], Expect] = {
    # A last line without its line end is the partial write of a killed run: skipped by design (docs/scale.md).
    ("run records", "truncate"): "content",
    # YAML and TOML cut at a line end are valid, shorter documents: nothing can tell them from intended ones.
    ("rubric", "truncate"): "content",
    ("framing", "truncate"): "content",
    ("column mapping", "truncate"): "content",
    ("judge config", "truncate"): "content",
    ("gate config", "truncate"): "content",
    # A judge's score off the scale is an answer that cannot be used: recorded unscored (off_scale) and counted in
    # the import's summary, like a live answer (docs/your-data.md).
    ("table: CSV wide, judges", "off-scale"): "content",
}


def ops_for(target: Target) -> list[str]:
    return [op for op, (fmts, _) in OPS.items() if target.fmt in fmts]


def expectation(target: Target, op: str) -> Expect:
    if op == "off-scale" and not target.numbers:  # a number that is no score (a count, a size) has no scale
        return EXPECT_OVERRIDES.get((target.kind, op), "content")
    return EXPECT_OVERRIDES.get((target.kind, op), OPS[op][1])


def _pos(rng: random.Random, text: str) -> int:
    return rng.randrange(1, max(2, len(text) - 1))


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _json_rows(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _mutate_value(
    obj: Any,
    rng: random.Random,
    keys: Sequence[str],
    make: Callable[[Any], Any],
    eligible: Callable[[Any], bool] = lambda v: True,
) -> str | None:
    """Replace one value of ``obj`` (nested dicts and lists) held under one of ``keys`` (any key if empty; the
    elements of a list under such a key count too) whose value is ``eligible``; the key, or None if none."""
    spots: list[tuple[Any, Any, str]] = []  # (container, key or index, the key it is under)
    stack: list[tuple[Any, str | None]] = [(obj, None)]
    while stack:
        cur, under = stack.pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                inside = under if under is not None else (k if not keys or k in keys else None)
                if inside is not None and eligible(v):
                    spots.append((cur, k, inside))
                stack.append((v, inside))
        elif isinstance(cur, list):
            for i, v in enumerate(cur):
                if under is not None and eligible(v):
                    spots.append((cur, i, under))
                stack.append((v, under))
    if not spots:
        return None
    holder, key, under = spots[rng.randrange(len(spots))]
    holder[key] = make(holder[key])
    return str(key) if key == under else f"{under}: {key}"


def _text_op(op: str, text: str, target: Target, rng: random.Random) -> tuple[str | bytes, str] | None:
    """A mutation of a text file: the new content (text, or bytes for encodings) and what was done."""
    if op == "truncate":
        p = _pos(rng, text)
        # A cut at a line end (either side of it) leaves whole lines: a shorter file, which nothing can tell from
        # an intended one. The corpus cuts inside a line.
        while p < len(text) - 1 and (text[p - 1] in "\r\n" or text[p] in "\r\n"):
            p += 1
        return text[:p], f"cut at character {p} of {len(text)}"
    if op == "latin-1":
        if any(ord(c) > 127 for c in text):
            return text.encode("latin-1", errors="replace"), "re-encoded as Latin-1"
        p = _pos(rng, text)
        return (text[:p].encode() + b"\xe9" + text[p:].encode()), f"a Latin-1 byte (0xE9) at {p}"
    if op == "utf-16":
        return text.encode("utf-16"), "re-encoded as UTF-16"
    if op == "bom":
        return "\ufeff" + text, "a UTF-8 byte-order mark"
    if op == "crlf":
        return text.replace("\r\n", "\n").replace("\n", "\r\n"), "CRLF line ends"
    if op in ("control-char", "combining-char"):
        ch = rng.choice(CONTROL if op == "control-char" else COMBINING)
        p = _pos(rng, text)
        return text[:p] + ch + text[p:], f"{ch!r} inserted at {p}"
    if op == "nfd-names":
        import unicodedata

        new = unicodedata.normalize("NFD", text)
        return (new, "every name in Unicode NFD") if new != text else None
    if target.fmt in ("csv", "tsv"):
        return _table_text_op(op, text, target, rng)
    if target.fmt == "jsonl":
        return _jsonl_op(op, text, target, rng)
    if target.fmt == "json":
        return _json_op(op, text, target, rng)
    if target.fmt == "yaml":
        return _yaml_op(op, text, target, rng)
    if target.fmt == "toml":
        return _toml_op(op, text, rng)
    return None


def _deep(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def _jsonl_op(op: str, text: str, target: Target, rng: random.Random) -> tuple[str, str] | None:
    rows = _json_rows(text)
    if not rows:
        return None
    k = rng.randrange(len(rows))
    if op == "duplicate-record":
        rows.insert(k + 1, copy.deepcopy(rows[k]))
        return "".join(json.dumps(r) + "\n" for r in rows), f"line {k + 1} repeated"
    if op == "nest-deep":
        key = rng.choice(sorted(rows[k]))
        lines = [json.dumps(r) for r in rows]
        lines[k] = json.dumps({**rows[k], key: "@DEEP@"}).replace('"@DEEP@"', _deep())
        return "\n".join(lines) + "\n", f"line {k + 1}: {key} nested {DEEP} deep"
    if op == "duplicate-key":
        key = rng.choice(sorted(rows[k]))
        other = "x" if not isinstance(rows[k][key], str) else 99
        lines = [json.dumps(r) for r in rows]
        lines[k] = lines[k][:-1] + f", {json.dumps(key)}: {json.dumps(other)}" + "}"
        return "\n".join(lines) + "\n", f"line {k + 1}: key {key!r} given twice"
    if op == "off-scale":
        value = rng.choice(OFF_SCALE)
        key = _mutate_value(rows[k], rng, target.numbers, lambda _: value) if target.numbers else None
        return ("".join(json.dumps(r) + "\n" for r in rows), f"line {k + 1}: {key} = {value}") if key else None
    if op == "wrong-type":
        value = rng.choice(WRONG)
        key = _mutate_value(rows[k], rng, (), lambda _: value, lambda v: v is not None and type(v) is not type(value))
        return ("".join(json.dumps(r) + "\n" for r in rows), f"line {k + 1}: {key} = {value!r}") if key else None
    if op == "padded-names":
        key = _mutate_value(rows[k], rng, target.names, lambda v: f"  {v} " if isinstance(v, str) else v)
        return ("".join(json.dumps(r) + "\n" for r in rows), f"line {k + 1}: {key} padded") if key else None
    if op == "reformatted":
        return "".join(json.dumps(r, indent=None, separators=(", ", ": "), sort_keys=True) + "\n" for r in rows), (
            "keys sorted, other spacing"
        )
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _json_op(op: str, text: str, target: Target, rng: random.Random) -> tuple[str, str] | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not doc:
        return None
    if op == "nest-deep":
        key = rng.choice(sorted(doc))
        return json.dumps({**doc, key: "@DEEP@"}).replace('"@DEEP@"', _deep()), f"{key} nested {DEEP} deep"
    if op == "duplicate-key":
        key = rng.choice(sorted(doc))
        other = "x" if not isinstance(doc[key], str) else 99
        return json.dumps(doc)[:-1] + f", {json.dumps(key)}: {json.dumps(other)}" + "}", f"key {key!r} given twice"
    if op == "off-scale":  # a score of the file's scores (target.numbers), else any number (a count, a size)
        value = rng.choice(OFF_SCALE)
        found = _mutate_value(doc, rng, target.numbers, lambda _: value, _is_number)
        return (json.dumps(doc), f"{found} = {value}") if found else None
    if op == "wrong-type":
        value = rng.choice(WRONG)
        key = _mutate_value(doc, rng, (), lambda _: value, lambda v: v is not None and type(v) is not type(value))
        return (json.dumps(doc), f"{key} = {value!r}") if key else None
    if op == "reformatted":
        return json.dumps(doc, sort_keys=True, indent=4), "keys sorted, indented by 4"
    return None


def _yaml_op(op: str, text: str, target: Target, rng: random.Random) -> tuple[str, str] | None:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict) or not doc:
        return None
    if op == "nest-deep":
        return text + f"\ndeep_extra: {_deep()}\n", f"a key nested {DEEP} deep"
    if op == "duplicate-key":
        key = rng.choice(sorted(doc))
        value = doc[key]
        other = "something else" if value != "something else" else "another thing"
        return text + f"\n{key}: {json.dumps(other)}\n", f"key {key!r} given twice"
    if op == "off-scale":
        if "scale" not in doc:
            return None
        pts = doc["scale"]
        k = rng.randrange(len(pts))
        pts[k]["value"] = rng.choice([".nan", ".inf", 1e400])
        return yaml.safe_dump(doc, sort_keys=False).replace("'.nan'", ".nan").replace("'.inf'", ".inf"), (
            f"scale[{k}].value not finite"
        )
    if op == "reformatted":
        return yaml.safe_dump(doc, default_flow_style=True, width=70), "the same content, in flow style"
    return None


def _toml_op(op: str, text: str, rng: random.Random) -> tuple[str, str] | None:
    if op == "nest-deep":
        return text + f"\ndeep_extra = {_deep(2000)}\n", "a key nested 2000 deep"
    if op == "duplicate-key":  # in the same table, right below the first
        lines = text.splitlines()
        spots = [k for k, ln in enumerate(lines) if "=" in ln and not ln.lstrip().startswith("#")]
        if not spots:
            return None
        k = rng.choice(spots)
        key = lines[k].split("=")[0].strip()
        return "\n".join([*lines[: k + 1], f"{key} = 1", *lines[k + 1 :]]) + "\n", f"{key} given twice"
    return None


def _table_text_op(op: str, text: str, target: Target, rng: random.Random) -> tuple[str, str] | None:
    import csv

    delim = "\t" if target.fmt == "tsv" else ","
    rows = list(csv.reader(text.splitlines(), delimiter=delim))
    head, body = rows[0], rows[1:]
    result = _rows_op(op, head, body, target, rng)
    if result is None:
        return None
    (head, body), note = result
    out = io.StringIO()
    csv.writer(out, delimiter=delim, lineterminator="\n").writerows([head, *body])
    return out.getvalue(), note


def _rows_op(
    op: str, head: list[Any], body: list[list[Any]], target: Target, rng: random.Random
) -> tuple[tuple[list[Any], list[list[Any]]], str] | None:
    """A mutation of a table's rows (CSV, TSV and XLSX alike)."""
    if not body:
        return None
    k = rng.randrange(len(body))
    head, body = list(head), [list(r) for r in body]
    numbers = [i for i, c in enumerate(head) if c in target.numbers]
    names = [i for i, c in enumerate(head) if c in target.names]
    if op == "duplicate-record":
        body.insert(k + 1, list(body[k]))
        return (head, body), f"row {k + 2} repeated"
    if op == "off-scale" and numbers:
        i = rng.choice(numbers)
        value = rng.choice(OFF_SCALE)
        body[k][i] = value
        return (head, body), f"row {k + 2}, {head[i]} = {value}"
    if op == "padded-names" and names:
        i = rng.choice(names)
        body[k][i] = f"  {body[k][i]} "
        return (head, body), f"row {k + 2}, {head[i]} padded"
    if op == "columns-reordered":
        order = list(range(len(head)))
        rng.shuffle(order)
        return ([head[i] for i in order], [[r[i] if i < len(r) else "" for i in order] for r in body]), (
            f"columns in the order {[head[i] for i in order]}"
        )
    if op == "extra-column":
        return ([*head, "notes"], [[*r, f"note {n}"] for n, r in enumerate(body)]), "a column 'notes' added"
    if op == "blank-cell" and numbers:
        i = rng.choice(numbers)
        body[k][i] = ""
        return (head, body), f"row {k + 2}, {head[i]} blanked"
    return None


def _xlsx_op(op: str, data: bytes, target: Target, rng: random.Random) -> tuple[bytes, str] | None:
    import unicodedata

    from openpyxl import Workbook, load_workbook

    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    head, body = rows[0], rows[1:]
    numbers = [i for i, c in enumerate(head) if c in target.numbers]
    note: str
    if op == "formula-no-value" and numbers:
        k, i = rng.randrange(len(body)), rng.choice(numbers)
        body[k][i] = "=1+2"
        note = f"row {k + 2}, {head[i]} = a formula with no saved value"
    elif op == "value-under-no-header":
        k = rng.randrange(len(body))
        body[k] += [None, 4]
        note = f"row {k + 2}: a value two columns right of the last named one"
    elif op == "number-as-text" and numbers:
        k, i = rng.randrange(len(body)), rng.choice(numbers)
        if body[k][i] is None:
            return None
        body[k][i] = str(body[k][i])
        note = f"row {k + 2}, {head[i]} written as text"
    elif op == "boolean-cell" and numbers:
        k, i = rng.randrange(len(body)), rng.choice(numbers)
        body[k][i] = True
        note = f"row {k + 2}, {head[i]} = TRUE"
    elif op == "nfd-names":
        new = [[unicodedata.normalize("NFD", c) if isinstance(c, str) else c for c in r] for r in rows]
        if new == rows:
            return None
        head, body = new[0], new[1:]
        note = "every name in Unicode NFD"
    else:
        got = _rows_op(op, head, body, target, rng)
        if got is None:
            return None
        (head, body), note = got
    out = Workbook()
    ws2 = out.active
    assert ws2 is not None
    ws2.title = ws.title
    for r in [head, *body]:
        ws2.append(r)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue(), note


def mutate(target: Target, clean: bytes, op: str, seed: int) -> Mutation | None:
    """The mutation ``op`` of ``clean`` (drawn with ``seed``), or None when it does not apply to this file."""
    rng = random.Random(seed)
    expect = expectation(target, op)
    if op == "truncate" and target.fmt == "xlsx":  # a workbook is a zip: cut its bytes
        p = rng.randrange(1, len(clean) - 1)
        return Mutation(op, expect, clean[:p], f"cut at byte {p} of {len(clean)}")
    if op == "flip-byte":
        p = rng.randrange(len(clean))
        mask = rng.randrange(1, 256)
        data = clean[:p] + bytes([clean[p] ^ mask]) + clean[p + 1 :]
        return Mutation(op, expect, data, f"byte {p} xor {mask:#04x}")
    if target.fmt == "xlsx":
        got_x = _xlsx_op(op, clean, target, rng)
        return None if got_x is None else Mutation(op, expect, got_x[0], got_x[1])
    got = _text_op(op, clean.decode("utf-8"), target, rng)
    if got is None:
        return None
    content, note = got
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    return None if data == clean else Mutation(op, expect, data, note)


# -- running a case --------------------------------------------------------------------------------------------------

VOLATILE = frozenset({"created_at", "wall_s", "latency_s_total", "latency_s", "tool_version", "bytes", "abs_path"})


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _result(verb: Verb, out: str, root: Path) -> Any:
    """What a verb produced, comparable between copies of the inputs: its JSON (volatile fields out) and the
    content of the files it wrote."""
    text = out.replace(str(root), "<root>")
    printed: Any = None
    if verb.printed:
        try:
            printed = _normal(json.loads(text)) if text.strip() else None
        except ValueError:
            printed = text
    files: dict[str, Any] = {}
    for f in verb.result_files:
        p = root / f
        if not p.exists():
            files[f] = None
        elif p.suffix == ".jsonl":
            files[f] = sorted(
                json.dumps(_normal(json.loads(x)), sort_keys=True) for x in p.read_text().splitlines() if x
            )
        else:
            files[f] = _normal(json.loads(p.read_text(encoding="utf-8").replace(str(root), "<root>")))
    return {"printed": printed, "files": files}


def run_in(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``judge ARGV`` in-process from ``cwd`` (relative paths), with the traceback of a fault on stderr."""
    from judge.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd = Path.cwd()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(list(argv))
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 2
            except BaseException:  # escaped the boundary: the finding itself
                traceback.print_exc()
                rc = -1
    finally:
        os.chdir(old_cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return rc, out.getvalue(), err.getvalue()


def _warned(err: str) -> bool:
    return any(w in err for w in ("WARNING", "warning:", "note:"))


@dataclass
class CaseResult:
    kind: str
    verb: str
    op: str
    expect: Expect
    outcome: Outcome
    note: str
    detail: str = ""


class Corpus:
    """The clean inputs, the clean results of every verb, and a work directory for mutated copies.

    Example::

        corpus = Corpus(Path("/tmp/corpus"))
        for r in corpus.check(TARGETS[0], "truncate", seed=1):
            print(r.outcome)
    """

    def __init__(self, work: Path, env: dict[str, str] | None = None) -> None:
        self.work = work
        # The model registry is read from the copy being checked (run_in runs from it: the path is relative).
        self.env = {
            "JUDGE_CACHE_DIR": str(work / "cache"),
            "JUDGE_MODEL_DIR": "models",
            "JUDGE_DEBUG": "1",
            **(env or {}),
        }
        self.base: Base = build_base(work / "base", lambda argv, cwd: run_in(argv, cwd, self.env))
        self.clean: dict[tuple[str, ...], Any] = {}  # verb's argv -> its result on the clean inputs
        self.cases = 0
        for t in TARGETS:
            for v in t.verbs:
                if v.argv not in self.clean:
                    (rc, _, err), self.clean[v.argv], _ = self._run_verb(v, None, t)
                    if rc not in v.ok_rcs:  # else every mutation would look like a clean error
                        raise RuntimeError(f"the clean inputs fail `judge {' '.join(v.argv)}` (exit {rc}): {err}")

    def _copy(self) -> Path:
        self.cases += 1
        case = self.work / "case"
        if case.exists():
            shutil.rmtree(case)
        shutil.copytree(self.base.root, case)
        return case

    def _run_verb(self, verb: Verb, data: bytes | None, target: Target) -> tuple[tuple[int, str, str], Any, Path]:
        case = self._copy()
        if data is not None:
            (case / target.path).write_bytes(data)
        got = run_in(verb.argv, case, self.env)
        return got, _result(verb, got[1], case), case

    def check(self, target: Target, op: str, seed: int) -> list[CaseResult]:
        """Mutate ``target`` with ``op`` (drawn by ``seed``) and run every verb that reads it; [] if ``op`` does
        not apply to the file."""
        clean_bytes = (self.base.root / target.path).read_bytes()
        m = mutate(target, clean_bytes, op, seed)
        if m is None:
            return []
        return [self._classify(target, verb, m) for verb in target.verbs]

    def _classify(self, target: Target, verb: Verb, m: Mutation) -> CaseResult:
        (rc, _out, err), result, case = self._run_verb(verb, m.data, target)
        outcome: Outcome
        detail = ""
        if rc == -1 or FAULT_MARK in err or "Traceback (most recent call last)" in err:
            outcome, detail = "traceback", err.strip().splitlines()[-1][:300] if err.strip() else ""
        elif rc in verb.ok_rcs:
            if result == self.clean[verb.argv]:
                outcome = "accepted-equal"
            elif _warned(err):
                outcome = "accepted-with-warning"
                detail = next(line for line in err.splitlines() if _warned(line))[:300]
            elif m.expect == "content":
                outcome = "accepted-changed"
            else:
                outcome = "silently different"
                detail = _diff(self.clean[verb.argv], result)
        elif rc == 2:
            left = verb.writes is not None and (case / verb.writes).exists()
            outcome = "partial output" if left else "clean error"
            detail = " ".join(err.split())[:300]
        else:
            outcome, detail = "unexpected exit", f"exit {rc}: {' '.join(err.split())[:300]}"
        return CaseResult(target.kind, verb.name, m.op, m.expect, outcome, m.note, detail)


def _diff(a: Any, b: Any) -> str:
    """Where two results first differ (for the report)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                return f"{k}: {_diff(a.get(k), b.get(k))}"
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{len(a)} vs {len(b)} entries"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return f"[{i}] {_diff(x, y)}"
    return f"{str(a)[:80]!r} -> {str(b)[:80]!r}"


# -- a corpus of many cases, and its report --------------------------------------------------------------------------


def plan_cases(n: int, seed: int = 0) -> Iterator[tuple[Target, str, int]]:
    """``n`` cases spread over every (kind, op) pair, in a fixed order: round-robin, then random seeds."""
    pairs = [(t, op) for t in TARGETS for op in ops_for(t)]
    rng = random.Random(seed)
    for k in range(n):
        t, op = pairs[k % len(pairs)]
        yield t, op, rng.randrange(2**31)


class Failure(BaseModel):
    kind: str
    verb: str
    op: str
    outcome: str
    note: str
    detail: str
    seed: int


class CorpusReport(BaseModel):
    """``reports/reliability/corpus.json``: how the tool met a generated corpus of hostile inputs."""

    cases: int = Field(description="Mutated files tried (a file may be read by several verbs).")
    runs: int = Field(description="Verb runs on those files.")
    seed: int
    kinds: int
    ops: list[str]
    outcomes: dict[str, int]
    by_kind: dict[str, dict[str, dict[str, int]]] = Field(description="file kind -> verb -> outcome -> count.")
    by_op: dict[str, dict[str, int]] = Field(description="mutation -> outcome -> count.")
    failures: list[Failure] = Field(description="Every run that ended in a failure outcome (first 200).")
    seconds: float


def run_corpus(
    work: Path, n: int, seed: int = 0, log: Callable[[str], None] = lambda m: None, corpus: Corpus | None = None
) -> CorpusReport:
    """Try ``n`` mutated files (``plan_cases``) and count the outcomes (``corpus``: clean inputs already built)."""
    import time

    t0 = time.monotonic()
    corpus = corpus or Corpus(work)
    by_kind: dict[str, dict[str, Counter[str]]] = {}
    by_op: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    failures: list[Failure] = []
    tried = runs = 0
    for k, (target, op, s) in enumerate(plan_cases(n, seed)):
        results = corpus.check(target, op, s)
        tried += bool(results)
        for r in results:
            runs += 1
            totals[r.outcome] += 1
            by_kind.setdefault(r.kind, {}).setdefault(r.verb, Counter())[r.outcome] += 1
            by_op.setdefault(r.op, Counter())[r.outcome] += 1
            if r.outcome in FAILURES and len(failures) < 200:
                failures.append(Failure(**{**r.__dict__, "seed": s}))
        if k % 50 == 0:
            log(f"{k}/{n} cases, {runs} runs, failures {sum(totals[o] for o in FAILURES)}")
    return CorpusReport(
        cases=tried,
        runs=runs,
        seed=seed,
        kinds=len(TARGETS),
        ops=list(OPS),
        outcomes={o: totals[o] for o in OUTCOMES},
        by_kind={k: {v: dict(c) for v, c in vs.items()} for k, vs in by_kind.items()},
        by_op={o: dict(c) for o, c in by_op.items()},
        failures=failures,
        seconds=round(time.monotonic() - t0, 1),
    )


def render_corpus(rep: CorpusReport, command: str) -> str:
    """``corpus.md``: the counts per outcome, per file kind and verb, per mutation, and every failure."""
    head = "| file kind | verb | " + " | ".join(OUTCOMES) + " |"
    lines = [
        "# Generated corpus of hostile inputs",
        "",
        f"Written by `{command}` (benchmarks/reliability/corpus.py; never edited by hand).",
        "",
        f"{rep.cases:,} mutated files of {rep.kinds} kinds, {rep.runs:,} verb runs, {rep.seconds:,.0f} s; seed "
        f"{rep.seed}. Mutations: {', '.join(rep.ops)}.",
        "",
        "| outcome | runs |",
        "|---|---:|",
        *[f"| {o}{' (failure)' if o in FAILURES else ''} | {rep.outcomes.get(o, 0):,} |" for o in OUTCOMES],
        "",
        "## By file kind and verb",
        "",
        head,
        "|---|---|" + "---:|" * len(OUTCOMES),
    ]
    for kind, verbs in rep.by_kind.items():
        for verb, counts in verbs.items():
            lines.append(f"| {kind} | `{verb}` | " + " | ".join(str(counts.get(o, 0)) for o in OUTCOMES) + " |")
    lines += [
        "",
        "## By mutation",
        "",
        "| mutation | " + " | ".join(OUTCOMES) + " |",
        "|---|" + "---:|" * len(OUTCOMES),
    ]
    for op, counts in rep.by_op.items():
        lines.append(f"| {op} | " + " | ".join(str(counts.get(o, 0)) for o in OUTCOMES) + " |")
    lines += ["", "## Failures", ""]
    if not rep.failures:
        lines.append("None.")
    for f in rep.failures:
        lines.append(f"- {f.kind}, `{f.verb}`, {f.op} (seed {f.seed}: {f.note}): **{f.outcome}**; {f.detail}")
    lines += [
        "",
        "Outcomes: *clean error* exit 2 with a message and no output left; *accepted-equal* the clean file's result; "
        "*accepted-with-warning* a different result with a warning; *accepted-changed* a different result from a "
        "mutation that changed what the file says (following it is right). Failures: a *traceback*, *partial "
        "output* left by a failed command, a *silently different* result from a mutation that keeps the meaning or "
        "breaks the file, an *unexpected exit* code.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.reliability.corpus [--cases N] [--seed S] [--out DIR]``."""
    import argparse
    import sys
    import tempfile

    from benchmarks.reliability._common import ROOT
    from judge.fileio import write_json, write_text

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    ap = argparse.ArgumentParser(prog="python -m benchmarks.reliability.corpus", description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=2000, help="mutated files to try (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "reports" / "reliability"), help="report directory")
    ap.add_argument("--work", help="work directory (default: a new temporary directory)")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="corpus-"))
    rep = run_corpus(work, args.cases, args.seed, log=lambda m: print(m, file=sys.stderr, flush=True))
    command = f"python -m benchmarks.reliability.corpus --cases {args.cases} --seed {args.seed}"
    out = Path(args.out)
    write_json(out / "corpus.json", rep.model_dump(mode="json"))
    write_text(out / "corpus.md", render_corpus(rep, command))
    failed = sum(rep.outcomes.get(o, 0) for o in FAILURES)
    print(f"wrote {out}/corpus.md and corpus.json: {rep.runs} runs, {failed} failures (work dir {work})")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

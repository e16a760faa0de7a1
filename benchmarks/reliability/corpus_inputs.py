"""The clean inputs the generated corpus mutates: one of every file kind the tool reads, made by the tool itself.

``build_base(root)`` writes, from the bundled support-chats example (12 conversations, 3 raters, 2 criteria):

::

    rubrics/            warmth.yaml, helpfulness.yaml, framing.yaml     (rubric and framing files)
    tables/             ana.csv ben.csv chloé.csv                        (per-rater wide CSV)
                        long.csv long.tsv long.jsonl wide.xlsx            (one table: long CSV, TSV, JSONL; wide XLSX)
                        conversations.csv                                 (items: one row per turn)
                        judge-scores.csv                                  (wide, '{rater}_{criterion}', a judge)
                        mapping.yaml                                      (a column mapping)
    bench/              benchmark.json items.jsonl ratings.jsonl         (judge import table)
    run/                run.json judgments.jsonl summary.json             (judge import table --as-judge)
    outputs.jsonl                                                         (raw judge outputs: judge import judgments)
    cal.json                                                              (judge calibrate)
    base.json                                                             (judge gate --write-baseline)
    judges.toml judge.toml                                                (a judge config; a gate config)

Every path inside is relative, and the verbs are run from ``root`` (or a copy of it), so results of a mutated copy
compare with the clean ones as they are.
"""

from __future__ import annotations

import csv
import json
import shlex
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.reliability._common import ROOT

CHATS = ROOT / "datasets" / "support-chats"
DEAD = "http://127.0.0.1:9/v1"  # a judge server that is never reached: the verbs below make no call
RUBRICS = "rubrics"


@dataclass(frozen=True)
class Verb:
    """A command that reads an input, how its result is compared, and where it writes (for partial output)."""

    name: str
    argv: tuple[str, ...]
    writes: str | None = None  # a path the command creates (must not exist after a failure)
    ok_rcs: tuple[int, ...] = (0,)  # exit codes that are a result (gate: 1 is a regression)
    result_files: tuple[str, ...] = ()  # files whose content is the result (besides stdout)
    printed: bool = True  # whether stdout is part of the result (an import's summary names the files it read)


@dataclass(frozen=True)
class Target:
    """A file kind: the file, its format, and the verbs that read it."""

    kind: str
    path: str
    fmt: str  # jsonl, json, yaml, toml, csv, tsv, xlsx
    verbs: tuple[Verb, ...]
    names: tuple[str, ...] = ()  # keys (JSON) or columns (tables) holding names and ids
    numbers: tuple[str, ...] = ()  # keys or columns holding scores or ratings (on a 1-5 scale)


# -- the verbs ------------------------------------------------------------------------------------------------------
# (argv as one string, split like a shell would; {R} is the rubric set, {DEAD} an unreachable server)


def _argv(cmd: str) -> tuple[str, ...]:
    return tuple(shlex.split(cmd.format(R=RUBRICS, DEAD=DEAD)))


# The third rater's name is not ASCII (and written NFC), so that Unicode normal forms are put to the test.
THIRD = "chlo\u00e9"
_AGREE = Verb("agree", _argv("agree --benchmark bench --rubrics {R} --run run --n-boot 0 --json"))
_AGREE_CAL = Verb("agree --calibrator", (*_AGREE.argv, "--calibrator", "cal.json"))
_PROMPT = Verb(
    "prompt show", _argv("prompt show --benchmark bench --rubrics {R} --judge openai/x --api-base {DEAD} --json")
)
_PROMPT_TOML = Verb(
    "prompt show --judge FILE", _argv("prompt show --benchmark bench --rubrics {R} --judge judges.toml --json")
)
_VALIDATE = Verb("rubrics validate", _argv("rubrics validate {R} --json"))
_SHOW = Verb("show", _argv("show run --benchmark bench --rubrics {R} --json"))
_GATE = Verb(
    "gate",
    _argv("gate --baseline base.json --candidate run --benchmark bench --rubrics {R} --config judge.toml --json"),
    ok_rcs=(0, 1),
)
_CALIBRATE = Verb(
    "calibrate",
    _argv("calibrate --benchmark bench --rubrics {R} --run run --folds 2 --n-boot 20 --out new-cal.json --json"),
    writes="new-cal.json",
    result_files=("new-cal.json",),
)
_BOARD = Verb(
    "leaderboard",
    _argv("leaderboard --benchmark bench --rubrics {R} --run run --n-boot 20 --out new-board --format json"),
    writes="new-board",
    result_files=("new-board/leaderboard.json",),
    printed=False,
)
_JUDGES = Verb(
    "leaderboard --judges",
    _argv("leaderboard --judges --benchmark bench --rubrics {R} --run run --n-boot 20 --out new-board --format json"),
    writes="new-board",
    result_files=("new-board/judges.json",),
    printed=False,
)
_JUDGES_CAL = Verb(
    "leaderboard --judges --calibrator",
    (*_JUDGES.argv, "--calibrator", "cal.json"),
    writes="new-board",
    result_files=("new-board/judges.json",),
    printed=False,
)
_ESTIMATE = Verb(
    "estimate", _argv("estimate --benchmark bench --rubrics {R} --run run --criterion warmth --min-labeled 2 --json")
)
_VIEW = Verb(
    "view", _argv("view --benchmark bench --rubrics {R} --run run --out new-view.html --json"), "new-view.html"
)
_MODELS = Verb("models list", _argv("models list --json"))
_RUN0 = Verb(
    "run --limit 0",
    _argv("run --benchmark bench --rubrics {R} --judge judges.toml --limit 0 --no-progress --out new-run --json"),
    writes="new-run",
)


def _import_table(*tables: str, extra: str = "", items: str = "tables/conversations.csv") -> Verb:
    cmd = f"import table {' '.join(tables)} --items {items} --judged-role supporter --rubrics {{R}}"
    files = ("new-bench/items.jsonl", "new-bench/ratings.jsonl")
    return Verb("import table", _argv(f"{cmd} --out new-bench {extra}"), "new-bench", result_files=files, printed=False)


_PER_RATER = _import_table("tables/ana.csv", "tables/ben.csv", f"tables/{THIRD}.csv")
_JUDGE_SCORES = Verb(
    "import table --as-judge",
    _argv(
        "import table tables/judge-scores.csv --benchmark bench --scores {{rater}}_{{criterion}} --raters judge-a "
        "--as-judge judge-a --rubrics {R} --run-out new-run"
    ),
    writes="new-run",
    result_files=("new-run/judgments.jsonl",),
    printed=False,
)
_IMPORT_JUDGMENTS = Verb(
    "import judgments",
    _argv("import judgments outputs.jsonl --benchmark bench --rubrics {R} --out new-run"),
    writes="new-run",
    result_files=("new-run/judgments.jsonl",),
    printed=False,
)

RATERS = {"ana": "ana", "ben": "ben", "chloe": THIRD}  # file in the example -> rater name here
NAME_COLS = ("item_id", "rater", "judge", "criterion", "post_id")
SCORE_COLS = ("warmth", "helpfulness", "rating", "value", "score")

TARGETS: tuple[Target, ...] = (
    Target("rubric", f"{RUBRICS}/warmth.yaml", "yaml", (_VALIDATE, _PROMPT, _AGREE)),
    Target("framing", f"{RUBRICS}/framing.yaml", "yaml", (_VALIDATE, _PROMPT)),
    Target("benchmark manifest", "bench/benchmark.json", "json", (_AGREE, _PROMPT)),
    Target("benchmark items", "bench/items.jsonl", "jsonl", (_AGREE, _PROMPT, _RUN0, _BOARD, _VIEW), names=NAME_COLS),
    Target(
        "benchmark ratings",
        "bench/ratings.jsonl",
        "jsonl",
        (_AGREE, _CALIBRATE, _JUDGES, _ESTIMATE, _VIEW),
        NAME_COLS,
        ("value",),
    ),
    Target("table: CSV per rater", "tables/ana.csv", "csv", (_PER_RATER,), NAME_COLS, SCORE_COLS),
    Target("table: CSV long", "tables/long.csv", "csv", (_import_table("tables/long.csv"),), NAME_COLS, SCORE_COLS),
    Target("table: TSV long", "tables/long.tsv", "tsv", (_import_table("tables/long.tsv"),), NAME_COLS, SCORE_COLS),
    Target(
        "table: JSONL long", "tables/long.jsonl", "jsonl", (_import_table("tables/long.jsonl"),), NAME_COLS, SCORE_COLS
    ),
    Target("table: XLSX wide", "tables/wide.xlsx", "xlsx", (_import_table("tables/wide.xlsx"),), NAME_COLS, SCORE_COLS),
    Target(
        "table: CSV wide, judges",
        "tables/judge-scores.csv",
        "csv",
        (_JUDGE_SCORES,),
        NAME_COLS,
        ("judge-a_warmth", "judge-a_helpfulness", "human_warmth"),
    ),
    Target("table: conversation turns", "tables/conversations.csv", "csv", (_PER_RATER,), (*NAME_COLS, "turn")),
    Target(
        "column mapping",
        "tables/mapping.yaml",
        "yaml",
        (_import_table("tables/mapped.csv", extra="--mapping tables/mapping.yaml", items="tables/mapped-turns.csv"),),
    ),
    Target("raw judge outputs", "outputs.jsonl", "jsonl", (_IMPORT_JUDGMENTS,), NAME_COLS),
    Target("run manifest", "run/run.json", "json", (_AGREE, _SHOW, _GATE, _BOARD, _ESTIMATE)),
    Target(
        "run records",
        "run/judgments.jsonl",
        "jsonl",
        (_AGREE, _SHOW, _GATE, _CALIBRATE, _BOARD, _JUDGES, _ESTIMATE, _VIEW),
        NAME_COLS,
        ("score",),
    ),
    Target("run summary", "run/summary.json", "json", (_AGREE, _SHOW, _JUDGES)),
    Target("calibrator", "cal.json", "json", (_AGREE_CAL, _JUDGES_CAL)),
    Target("gate baseline", "base.json", "json", (_GATE,), numbers=("scores",)),
    Target("judge config", "judges.toml", "toml", (_PROMPT_TOML, _RUN0)),
    Target("gate config", "judge.toml", "toml", (_GATE,)),
    Target("model registry", "models/models.json", "json", (_MODELS,)),
)


# -- building the clean inputs ---------------------------------------------------------------------------------------


@dataclass
class Base:
    """The clean inputs under ``root``, and how to run a verb there (``run``: argv, cwd -> (rc, stdout, stderr))."""

    root: Path
    run: Callable[[Sequence[str], Path], tuple[int, str, str]]


def _csv(path: Path, rows: list[list[Any]], delimiter: str = ",") -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(rows)


def _read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8").splitlines()))


def build_base(root: Path, run: Callable[[Sequence[str], Path], tuple[int, str, str]]) -> Base:
    """Write every clean input under ``root`` through the real CLI (``run(argv, cwd)``)."""
    from openpyxl import Workbook

    if root.exists():
        shutil.rmtree(root)
    (root / "tables").mkdir(parents=True)
    shutil.copytree(CHATS / "rubrics", root / RUBRICS)
    for f, name in RATERS.items():
        shutil.copy(CHATS / "ratings" / f"{f}.csv", root / "tables" / f"{name}.csv")
    for f in ("conversations.csv", "judge-scores.csv"):
        shutil.copy(CHATS / f, root / "tables" / f)
    long = [["item_id", "rater", "criterion", "rating"]]
    for f, name in RATERS.items():
        head, *rows = _read_csv(CHATS / "ratings" / f"{f}.csv")
        long += [[r[0], name, c, v] for r in rows for c, v in zip(head[1:], r[1:], strict=True) if v.strip()]
    _csv(root / "tables" / "long.csv", long)
    _csv(root / "tables" / "long.tsv", long, "\t")
    keys = long[0]
    (root / "tables" / "long.jsonl").write_text(
        "".join(json.dumps(dict(zip(keys, [*r[:3], float(r[3])], strict=True))) + "\n" for r in long[1:]),
        encoding="utf-8",
    )
    wide: list[list[Any]] = [["item_id", "rater", "warmth", "helpfulness"]]
    for f, name in RATERS.items():
        _, *rows = _read_csv(CHATS / "ratings" / f"{f}.csv")
        wide += [[r[0], name, *(int(v) if v.strip() else None for v in r[1:])] for r in rows]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "ratings"
    for row in wide:
        ws.append(row)
    wb.save(root / "tables" / "wide.xlsx")
    mapped = [["Chat", "Rater", "Warmth (1-5)", "Helpfulness (1-5)"], *([str(c) for c in r] for r in wide[1:])]
    _csv(root / "tables" / "mapped.csv", [[("" if c == "None" else c) for c in r] for r in mapped])
    turns = _read_csv(CHATS / "conversations.csv")  # the mapping names the item column of both tables
    _csv(root / "tables" / "mapped-turns.csv", [["Chat", *turns[0][1:]], *turns[1:]])
    (root / "tables" / "mapping.yaml").write_text(
        "item: Chat\nrater: Rater\ncriteria:\n  warmth (1-5): warmth\n  helpfulness (1-5): helpfulness\n"
        "scores: '{criterion}'\n",
        encoding="utf-8",
    )
    (root / "judges.toml").write_text(
        f'[judges.stub]\nmodel = "openai/stub-judge"\napi_base = "{DEAD}"\nmax_retries = 0\ntimeout = 2.0\n',
        encoding="utf-8",
    )
    (root / "judge.toml").write_text(
        "[gate]\nmin_overlap = 0.9\nn_boot = 200\nseed = 0\nalpha = 0.05\n\n[gate.thresholds]\nwarmth = 0.5\n",
        encoding="utf-8",
    )
    (root / "models").mkdir()
    (root / "models" / "mine.gguf").write_bytes(b"GGUF" + bytes(60))
    (root / "models" / "models.json").write_text(
        json.dumps(
            {
                "models": [
                    {
                        "name": "mine",
                        "path": str((root / "models" / "mine.gguf").resolve()),
                        "size": 64,
                        "sha256": "0" * 64,
                        "n_ctx": 4096,
                        "description": "a file for the corpus",
                        "added_at": "2026-01-01T00:00:00Z",
                    }
                ]
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    steps: list[list[str]] = [
        [
            "import",
            "table",
            "tables/ana.csv",
            "tables/ben.csv",
            f"tables/{THIRD}.csv",
            "--items",
            "tables/conversations.csv",
            "--judged-role",
            "supporter",
            "--rubrics",
            RUBRICS,
            "--out",
            "bench",
        ],
        [
            "import",
            "table",
            "tables/judge-scores.csv",
            "--benchmark",
            "bench",
            "--scores",
            "{rater}_{criterion}",
            "--raters",
            "judge-a",
            "--as-judge",
            "judge-a",
            "--rubrics",
            RUBRICS,
            "--run-out",
            "run",
        ],
        [
            "calibrate",
            "--benchmark",
            "bench",
            "--rubrics",
            RUBRICS,
            "--run",
            "run",
            "--folds",
            "2",
            "--n-boot",
            "20",
            "--out",
            "cal.json",
        ],
        ["gate", "--candidate", "run", "--benchmark", "bench", "--rubrics", RUBRICS, "--write-baseline", "base.json"],
    ]
    for argv in steps:
        rc, _, err = run(argv, root)
        if rc != 0:
            raise RuntimeError(f"building the corpus base failed: judge {' '.join(argv)}: {err}")
    outputs = []
    for rec in (json.loads(line) for line in (root / "run" / "judgments.jsonl").read_text().splitlines() if line):
        outputs.append(
            {
                "item_id": rec["item_id"],
                "criterion": rec["criterion"],
                "judge": "judge-b",
                "raw_output": str(int(rec["score"])),
            }
        )
    (root / "outputs.jsonl").write_text("".join(json.dumps(o) + "\n" for o in outputs), encoding="utf-8")
    return Base(root=root, run=run)

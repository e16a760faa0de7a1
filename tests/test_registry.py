"""Registries (judge/registry.py) and the extension points built on them: verbs, importers, report formats, report
builders and layouts, probes. Each test registers a toy thing the way a new one would be, and drives it through the
real command or writer; the faults the registries replaced (a verb silently dropped, a format rendered as HTML)
are shown to fail loudly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from judge.cli import VERBS, build_parser, main
from judge.cli._parser import LazySubParsers
from judge.data.importers.base import IMPORTERS, Imported, get_importer, register_importer
from judge.data.probes import PROBES, Probe, probe_names, register_probe
from judge.errors import UsageError
from judge.registry import Registry, RegistryError, nearest
from judge.report.model import Cell, Column, Report, Table
from judge.report.renderers import FORMATS
from judge.report.write import (
    BUILDERS,
    build_report,
    formats_of,
    parse_formats,
    register_builder,
    render,
    type_key,
    write_report,
)
from tests.support.gate_sample import GOLDEN, sample_gate_report

ROOT = Path(__file__).resolve().parents[1]

# -- the registry itself -----------------------------------------------------------------------------------------


def test_a_registry_names_its_things_and_suggests_the_nearest_name() -> None:
    reg: Registry[Any] = Registry("colour")
    reg.add("red", str.upper)
    reg.register("green")(str.lower)
    assert reg.names() == ["red", "green"] and "red" in reg and len(reg) == 2
    assert reg.get("green") is str.lower and reg["red"] is str.upper
    with pytest.raises(UsageError, match=r"--colour: unknown colour 'gren' \(did you mean 'green'\?\); the colours"):
        reg.get("gren", flag="--colour")
    with pytest.raises(UsageError, match=r"unknown colours 'rd' \(did you mean 'red'\?\), 'blue';"):
        reg.check(["red", "rd", "blue"])
    assert nearest("rated_only", ["--x", "rated-only"]) == "rated-only" and nearest("red", ["red"]) is None


def test_a_name_cannot_register_twice_nor_without_its_thing() -> None:
    reg: Registry[Any] = Registry("colour")
    reg.add("red", json.dumps)
    reg.add("red", json.dumps)  # the same definition again (a reloaded module) is no clash
    with pytest.raises(RegistryError, match=r"'red' is registered twice: by json\.dumps and json\.loads"):
        reg.add("red", json.loads)
    with pytest.raises(RegistryError, match="cannot register without a callable"):
        reg.add("blue", None)
    with pytest.raises(RegistryError, match="needs a name"):
        reg.add("", json.dumps)


def test_a_lazy_name_loads_only_its_module_and_a_missing_module_is_a_fault(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "toy_colours.py").write_text(
        "from test_registry_shared import REG\nREG.add('red', str.upper)\n", encoding="utf-8"
    )
    (tmp_path / "toy_silent.py").write_text("", encoding="utf-8")
    reg: Registry[Any] = Registry(
        "colour", where={"red": "toy_colours", "blue": "toy_silent", "green": "toy_nowhere_at_all"}
    )
    shared = type(sys)("test_registry_shared")
    shared.REG = reg  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "test_registry_shared", shared)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert reg.names() == ["red", "blue", "green"] and "toy_colours" not in sys.modules  # names cost no import
    assert reg.get("red") is str.upper and "toy_silent" not in sys.modules
    with pytest.raises(RegistryError, match="'blue' is said to be defined in toy_silent, which does not register it"):
        reg.get("blue")
    with pytest.raises(RegistryError, match="module toy_nowhere_at_all does not exist"):
        reg.get("green")


def test_a_package_registry_imports_every_module_once_and_never_skips_a_broken_one(
    tmp_path: Path, monkeypatch: Any
) -> None:
    pkg = tmp_path / "toy_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from judge.registry import Registry\nREG = Registry('shape', package='toy_pkg')\n"
    )
    (pkg / "circle.py").write_text("from toy_pkg import REG\nREG.add('circle', len)\n")
    (pkg / "helpers.py").write_text("X = 1\n")  # registers nothing: fine
    monkeypatch.syspath_prepend(str(tmp_path))
    import toy_pkg  # type: ignore[import-not-found]

    try:
        assert "circle" in toy_pkg.REG and toy_pkg.REG.names() == ["circle"]
        (pkg / "square.py").write_text("import toy_dependency_not_installed\n")
        broken = Registry("shape", package="toy_pkg")
        for _ in range(2):  # the missing dependency is named, on every lookup
            with pytest.raises(ModuleNotFoundError, match="toy_dependency_not_installed"):
                broken.names()
    finally:
        for name in [m for m in sys.modules if m == "toy_pkg" or m.startswith("toy_pkg.")]:
            del sys.modules[name]


# -- verbs ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def toy_verbs(tmp_path: Path, monkeypatch: Any) -> Iterator[Path]:
    """A directory on sys.path for toy verb modules; the verbs registered during the test are forgotten after it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = dict(VERBS.where)
    yield tmp_path
    for name in set(VERBS.names()) - set(before):
        VERBS.remove(name)
    VERBS.where.clear()
    VERBS.where.update(before)


def test_a_misspelt_verb_module_fails_loudly_instead_of_dropping_the_verb(toy_verbs: Path, capsys: Any) -> None:
    VERBS.remove("align")  # an earlier test in this process may have loaded the real module already
    VERBS.where["align"] = "judge.cli.alighn"  # the module is judge.cli.align; this path names none
    with pytest.raises(RegistryError, match=r"verb 'align': module judge\.cli\.alighn does not exist"):
        build_parser()
    assert main(["--help"]) == 1  # not a help without the verb
    err = capsys.readouterr().err
    assert "unexpected RegistryError: verb 'align': module judge.cli.alighn does not exist" in err
    assert "fault of reappraisal-judge" in err and "Traceback" not in err


def test_a_verb_module_must_add_the_verb_it_is_registered_as(toy_verbs: Path) -> None:
    (toy_verbs / "toy_misnamed.py").write_text("def register(sub):\n    sub.add_parser('other')\n", encoding="utf-8")
    VERBS.where["toy"] = "toy_misnamed"
    with pytest.raises(RegistryError, match=r"toy_misnamed\.register added no parser named 'toy'"):
        build_parser()


def test_a_new_verb_is_one_registry_line_and_its_module(toy_verbs: Path, capsys: Any) -> None:
    (toy_verbs / "toy_hello.py").write_text(
        "def register(sub):\n"
        "    p = sub.add_parser('hello', help='say hello')\n"
        "    p.add_argument('--name', default='world')\n"
        "    p.set_defaults(func=run)\n"
        "def run(args):\n"
        "    print(f'hello {args.name}')\n"
        "    return 0\n",
        encoding="utf-8",
    )
    VERBS.where["hello"] = "toy_hello"
    assert main(["hello", "--name", "you"]) == 0 and capsys.readouterr().out == "hello you\n"
    with pytest.raises(SystemExit) as exit_:
        main(["helo"])
    assert exit_.value.code == 2 and "did you mean hello?" in capsys.readouterr().err


def test_every_verb_module_is_registered_and_help_lists_the_registry() -> None:
    import pkgutil

    import judge.cli

    modules = {f"judge.cli.{m.name}" for m in pkgutil.iter_modules(judge.cli.__path__) if not m.name.startswith("_")}
    assert modules == set(VERBS.where.values()), "a verb module is missing from judge.cli.VERBS (or a stale entry)"
    sub = next(a for a in build_parser()._actions if a.dest == "verb")
    assert list(sub.choices) == VERBS.names()  # --help shows the registry's order


def test_judge_help_imports_no_importer_and_no_renderer() -> None:
    code = (
        "import json, sys\nfrom judge.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('judge.data.importers.', 'judge.report.')))))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == ["judge.report.renderers"]


# -- importers -----------------------------------------------------------------------------------------------------


class ToyScoresImporter:
    """Scores of one judge from a JSON list of {"item_id": ..., "score": ...} (empathy only)."""

    kind = "toy-scores"
    reads = "a JSON list of empathy scores -> run"

    def read(self, sources: Sequence[Path], rubrics: Mapping[str, Any], options: Mapping[str, Any]) -> Imported:
        rows = json.loads(Path(sources[0]).read_text(encoding="utf-8"))
        got = Imported()
        for i, row in enumerate(rows):
            where = f"{sources[0]}: entry {i + 1}"
            raw = {"item_id": row["item_id"], "criterion": "empathy", "judge": "toy", "raw_output": str(row["score"])}
            got.judge_rows.append((where, raw))
        return got


@pytest.fixture
def toy_importer() -> Iterator[None]:
    register_importer(ToyScoresImporter)  # type: ignore[arg-type]
    yield
    IMPORTERS.remove("toy-scores")


def test_a_new_importer_registers_where_it_is_defined_and_gets_a_command(
    toy_importer: None, tmp_path: Path, capsys: Any
) -> None:
    items = [json.loads(line)["item_id"] for line in (ROOT / "datasets/demo/items.jsonl").read_text().splitlines()]
    src = tmp_path / "scores.json"
    src.write_text(json.dumps([{"item_id": items[0], "score": 4}, {"item_id": items[1], "score": 2}]))
    assert "toy-scores" in IMPORTERS and get_importer("toy-scores").reads.startswith("a JSON list")
    run = tmp_path / "run"
    argv = ["import", "toy-scores", str(src), "--benchmark", str(ROOT / "datasets/demo"), "--run-out", str(run)]
    assert main(argv) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in (run / "judgments.jsonl").read_text().splitlines()]
    assert sorted((r["item_id"], r["score"]) for r in rows) == sorted([(items[0], 4), (items[1], 2)])
    kinds = _import_kinds()
    assert "toy-scores" in kinds.choices


def _import_kinds() -> LazySubParsers:
    verb = next(a for a in build_parser()._actions if a.dest == "verb")
    kinds = next(a for a in verb.choices["import"]._actions if isinstance(a, LazySubParsers))
    kinds.fill_now()
    return kinds


def test_the_import_kinds_are_the_registered_importers(capsys: Any) -> None:
    assert set(_import_kinds().choices) == set(IMPORTERS.names()) == {"resort", "table", "judgments", "versus"}
    with pytest.raises(SystemExit) as exit_:
        main(["import", "resrt", "x", "--out", "y"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "invalid kind: 'resrt'" in err and "did you mean resort?" in err
    with pytest.raises(UsageError, match=r"unknown importer 'tabel' \(did you mean 'table'\?\)"):
        get_importer("tabel")


def test_a_kind_no_importer_registers_is_a_fault(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.delitem(IMPORTERS._things, "judgments")
    assert main(["import", "judgments", "x.jsonl", "--benchmark", "b", "--out", "r"]) == 1
    assert "judge import judgments: no importer registers this kind" in capsys.readouterr().err


# -- report formats, builders and layouts --------------------------------------------------------------------------


class ToyResult(BaseModel):
    name: str
    value: float


@pytest.fixture
def toy_builder() -> Iterator[None]:
    @register_builder(ToyResult)
    def toy_report(result: ToyResult) -> Report:
        cols = [Column(key="name", label="name"), Column(key="value", label="value", numeric=True)]
        table = Table(
            key="toy", title="Toy", columns=cols, rows=[[Cell(text=result.name), Cell(text="0.50", value=result.value)]]
        )
        return Report(title="Toy", tables=[table])

    yield
    BUILDERS.remove(type_key(ToyResult))


def test_a_result_with_a_builder_is_written_in_every_format(toy_builder: None, tmp_path: Path) -> None:
    paths = write_report(ToyResult(name="a", value=0.5), tmp_path, stem="toy")
    assert list(paths) == FORMATS.names() == ["md", "json", "csv", "html"]
    assert paths["csv"].read_text() == "name,value\na,0.5\n"
    assert json.loads(paths["json"].read_text()) == {"name": "a", "value": 0.5}
    assert paths["md"].read_text().startswith("# Toy\n") and paths["html"].read_text().startswith("<!DOCTYPE html>")


def test_a_new_format_is_rendered_by_its_own_renderer_not_as_html(toy_builder: None, tmp_path: Path) -> None:
    @FORMATS.register("txt")
    def text_file(board: BaseModel, report: Report) -> str:
        return f"{report.title}: {len(report.tables)} table(s)\n"

    try:
        paths = write_report(ToyResult(name="a", value=0.5), tmp_path, ("txt",), stem="toy")
        assert paths["txt"].read_text() == "Toy: 1 table(s)\n"  # before the registry: the HTML page
        assert parse_formats("md,txt") == ("md", "txt")
    finally:
        FORMATS.remove("txt")


def test_a_format_without_a_renderer_cannot_register(toy_builder: None, tmp_path: Path, monkeypatch: Any) -> None:
    with pytest.raises(RegistryError, match="report format 'pdf' cannot register without a renderer"):
        FORMATS.add("pdf", None)  # type: ignore[arg-type]
    monkeypatch.setitem(FORMATS.where, "pdf", "judge.report.markdown")  # a name whose module renders no pdf
    with pytest.raises(RegistryError, match=r"'pdf' is said to be defined in judge\.report\.markdown, which does not"):
        write_report(ToyResult(name="a", value=0.5), tmp_path / "out", ("md", "pdf"), stem="toy")
    assert not (tmp_path / "out").exists()  # checked before any file was written


def test_every_format_and_builder_module_registers_what_the_index_says() -> None:
    assert [name for name, renderer in FORMATS.items() if callable(renderer)] == ["md", "json", "csv", "html"]
    assert {k.rsplit(".", 1)[1] for k in BUILDERS.names()} >= {"Leaderboard", "AgreementReport", "Calibrator",
                                                                "ProbeReport"}  # fmt: skip


def test_unknown_formats_and_results_are_named() -> None:
    with pytest.raises(UsageError, match=r"--format: unknown report format 'htm' \(did you mean 'html'\?\)"):
        parse_formats("md,htm")
    with pytest.raises(UsageError, match=r"no report builder for test_registry.ToyResult"):
        build_report(ToyResult(name="a", value=1.0))


def test_the_gate_files_are_report_layouts_and_keep_their_bytes(tmp_path: Path) -> None:
    report = sample_gate_report()
    assert formats_of(report) == ["md", "junit", "json"]
    golden = {"md": "gate.md", "junit": "gate.xml", "json": "gate.json"}
    for fmt, name in golden.items():
        assert render(report, fmt) == (GOLDEN / name).read_text(encoding="utf-8"), fmt
    paths = write_report(report, tmp_path, ("md", "junit", "json"), stem="gate")
    assert all(
        paths[f].read_text(encoding="utf-8") == (GOLDEN / n).read_text(encoding="utf-8") for f, n in golden.items()
    )
    with pytest.raises(UsageError, match=r"GateReport has no html format \(its formats: md, junit, json\)"):
        render(report, "html")


# -- probes ---------------------------------------------------------------------------------------------------------


def test_probes_are_registered_by_name_and_a_misspelt_one_is_named() -> None:
    assert PROBES.names() == ["length", "flattery", "positivity", "injection", "placebo"]
    with pytest.raises(UsageError, match=r"--probes: unknown probe 'lenght' \(did you mean 'length'\?\)"):
        probe_names(["lenght"])
    with pytest.raises(RegistryError, match="probe 'length' is registered twice"):
        register_probe(Probe("length", "another", "append", ("x",)))
    toy = register_probe(Probe("toy-echo", "appends an echo", "append", ("Echo.",)))
    try:
        assert probe_names(["toy-echo"]) == ["toy-echo", "placebo"] and PROBES["toy-echo"] is toy
    finally:
        PROBES.remove("toy-echo")


def test_the_startup_benchmark_runs_and_lists_what_help_imports(tmp_path: Path) -> None:
    """The benchmark the judge --help timings come from (its numbers are measured on a quiet machine, not here)."""
    from benchmarks.perf.startup import main as startup

    assert startup(["--repeats", "1", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "startup.json").read_text())
    assert [r["command"] for r in result["rows"]] == ["judge --help"] and result["rows"][0]["cpu_min_ms"] > 0
    imported = result["help_imports"]["this"]
    assert "judge.registry" in imported and not any(m.startswith("judge.data.importers.") for m in imported)
    assert "| this | `judge --help` |" in (tmp_path / "startup.md").read_text()

"""Every config and data loader reads, parses and validates through judge.fileio: the same clear error for the same
mistake, whatever the file (no traceback for bad UTF-8, syntax errors or a file of the wrong shape)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from judge.errors import InputError

BAD_UTF8 = b"\xff\xfe\xc3\x28 not utf-8\n"


def _loaders() -> list[tuple[str, str, Callable[[Path], Any]]]:
    from judge.analysis.calibration import Calibrator
    from judge.data.benchmark import load_benchmark
    from judge.data.framing import load_framing
    from judge.data.rubric import load_rubric
    from judge.data.systems import load_system
    from judge.engine.judge_spec import load_judges_file
    from judge.engine.store import load_run_manifest
    from judge.jobs.gate import load_gate_config, load_side

    return [
        ("rubric", "empathy.yaml", load_rubric),
        ("framing", "framing.yaml", load_framing),
        ("system", "sys.yaml", load_system),
        ("judge config", "judges.toml", load_judges_file),
        ("gate config", "gate.toml", load_gate_config),
        ("baseline", "base.json", load_side),
        ("calibrator", "cal.json", Calibrator.load),
        ("run manifest", "run.json", lambda p: load_run_manifest(p.parent)),
        ("benchmark manifest", "benchmark.json", lambda p: load_benchmark(p.parent)),
    ]


@pytest.mark.parametrize("kind", [k for k, _, _ in _loaders()])
@pytest.mark.parametrize(
    ("content", "expect"),
    [
        pytest.param(BAD_UTF8, "not UTF-8 text", id="bad-utf8"),
        pytest.param(b"[[[ {{{ : : :\n", "not valid", id="syntax"),
    ],
)
def test_same_clear_error_from_every_loader(tmp_path: Path, kind: str, content: bytes, expect: str) -> None:
    _, name, load = next(entry for entry in _loaders() if entry[0] == kind)
    f = tmp_path / name
    f.write_bytes(content)
    if name == "benchmark.json":
        (tmp_path / "items.jsonl").write_text("")
    with pytest.raises(InputError) as exc:
        load(f)
    assert name in str(exc.value) and expect in str(exc.value), str(exc.value)


@pytest.mark.parametrize("kind", ["rubric", "framing", "system", "calibrator", "run manifest"])
def test_a_file_of_the_wrong_shape_is_named(tmp_path: Path, kind: str) -> None:
    _, name, load = next(entry for entry in _loaders() if entry[0] == kind)
    f = tmp_path / name
    f.write_text("[1, 2]\n")
    with pytest.raises(InputError, match=r"must (hold a mapping|be a JSON object), got list"):
        load(f)


def test_unknown_fields_are_named_with_their_value(tmp_path: Path) -> None:
    from judge.data.framing import load_framing

    f = tmp_path / "framing.yaml"
    f.write_text("persona: a nurse\ntask: rating.\npersonna: typo\n")
    with pytest.raises(InputError, match=r"framing.yaml: personna: unknown field .* \(got 'typo'\)"):
        load_framing(f)

"""The bundled rubric files: they validate, say what RESORT's expert study measured, and are our own words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from judge.cli import main
from judge.data.rubric import Rubric, load_rubric_set, rubric_json_schema

ROOT = Path(__file__).parents[1]
RUBRICS = ROOT / "rubrics"
RESORT_RUBRICS = RUBRICS / "resort"
RESORT = Path(__file__).parents[1].parent / "shared/data/resort"
SCHEMA_HEADER = "# yaml-language-server: $schema=../rubric.schema.json"
COPY_WINDOW = 12  # words: a shared run this long means a sentence was copied, not paraphrased

needs_release = pytest.mark.skipif(not RESORT.is_dir(), reason=f"RESORT release not found at {RESORT}")


@pytest.fixture(scope="module")
def rubrics() -> dict[str, Rubric]:
    return load_rubric_set(RESORT_RUBRICS)


def _point_by_answer(rubric: Rubric) -> dict[str, float]:
    """Case-insensitive label/alias -> value, the way a judge's label answer is meant to be read."""
    return {s.lower(): p.value for p in rubric.scale for s in (p.label, *p.aliases)}


def _words(text: str) -> list[str]:
    # Curly and straight apostrophes both occur in the release; drop punctuation so formatting cannot hide a copy.
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'").replace("'", ""))


def _windows(text: str, n: int = COPY_WINDOW) -> set[tuple[str, ...]]:
    w = _words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def _release_windows(name: str) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for line in (RESORT / "prompts" / name).read_text(encoding="utf-8").splitlines():
        out |= _windows(line.split("=", 1)[-1])
    return out


# -- the files validate -----------------------------------------------------------------------------------------


def test_all_rubric_files_validate(rubrics: dict[str, Rubric]) -> None:
    assert sorted(load_rubric_set(RUBRICS)) == ["alignment_with_standards", "empathy", "factuality", "harmfulness"]
    assert sorted(rubrics) == ["alignment_with_standards", "empathy", "factuality", "harmfulness"]


def test_cli_validate_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rubrics", "validate", str(RUBRICS)]) == 0
    assert "ok: 4 rubric(s) valid" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted(RESORT_RUBRICS.glob("*.yaml")), ids=lambda p: p.stem)
def test_file_starts_with_schema_header(path: Path) -> None:
    schema = "framing.schema.json" if path.name == "framing.yaml" else "rubric.schema.json"
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_HEADER.replace("rubric.schema.json", schema)


def test_committed_schema_is_current() -> None:
    committed = json.loads((RUBRICS / "rubric.schema.json").read_text(encoding="utf-8"))
    assert committed == rubric_json_schema(), "regenerate: judge rubrics schema --out rubrics/rubric.schema.json"


def test_committed_framing_and_benchmark_schemas_are_current() -> None:
    from judge.data.benchmark import benchmark_json_schemas
    from judge.data.framing import framing_json_schema

    committed = json.loads((RUBRICS / "framing.schema.json").read_text(encoding="utf-8"))
    assert committed == framing_json_schema(), (
        "regenerate: judge rubrics schema --what framing --out rubrics/framing.schema.json"
    )
    for name, schema in benchmark_json_schemas().items():
        committed = json.loads((ROOT / "datasets" / "schema" / name).read_text(encoding="utf-8"))
        assert committed == schema, "regenerate: judge rubrics schema --what benchmark --out datasets/schema"


# -- scales, levels, answers as in the RESORT expert evaluation ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "values", "level", "kind"),
    [
        pytest.param("alignment_with_standards", [float(v) for v in range(1, 11)], "interval", "value", id="alignment"),
        pytest.param("empathy", [1.0, 2.0, 3.0, 4.0, 5.0], "ordinal", "value", id="empathy"),
        pytest.param("harmfulness", [0.0, 1.0], "nominal", "label", id="harmfulness"),
        pytest.param("factuality", [0.0, 0.5, 1.0], "ordinal", "label", id="factuality"),
    ],
)
def test_scale_level_and_answer(
    rubrics: dict[str, Rubric], name: str, values: list[float], level: str, kind: str
) -> None:
    r = rubrics[name]
    assert r.points_values() == values
    assert r.level == level
    assert r.answer.kind == kind
    assert r.version == "1.0.0"
    assert "2404.01288" in r.source
    assert r.question.strip() and r.guidance.strip()


def test_alignment_carries_the_six_dimensions(rubrics: dict[str, Rubric]) -> None:
    r = rubrics["alignment_with_standards"]
    assert r.uses_standards is True
    assert [d.id for d in r.dimensions] == [1, 4, 6, 7, 8, 23]
    assert all(d.aim.strip() and d.standards.strip() for d in r.dimensions)
    assert [p.label for p in r.scale] == [str(v) for v in range(1, 11)]
    for name, other in rubrics.items():
        if name != "alignment_with_standards":
            assert not other.uses_standards and not other.dimensions, name


def test_anchors_are_one_short_line(rubrics: dict[str, Rubric]) -> None:
    # A 1.5B judge with a 4k context must read every anchor; keep each to one line.
    for r in rubrics.values():
        for p in r.scale:
            assert "\n" not in p.anchor.strip(), (r.name, p.label)
            assert len(p.anchor) <= 120, (r.name, p.label, len(p.anchor))


@pytest.mark.parametrize(
    ("name", "answer", "value"),
    [
        pytest.param("harmfulness", "Not Harmful", 0.0, id="harm-gpt4-not-harmful"),
        pytest.param("harmfulness", "no", 0.0, id="harm-no"),
        pytest.param("harmfulness", "Harmless", 0.0, id="harm-harmless"),
        pytest.param("harmfulness", "Yes", 1.0, id="harm-yes"),
        pytest.param("harmfulness", "harmful", 1.0, id="harm-harmful"),
        pytest.param("factuality", "Yes", 1.0, id="fact-yes"),
        pytest.param("factuality", "accurate", 1.0, id="fact-accurate"),
        pytest.param("factuality", "Minor Error", 0.5, id="fact-gpt4-minor"),
        pytest.param("factuality", "minor errors", 0.5, id="fact-minor-errors"),
        pytest.param("factuality", "No", 0.0, id="fact-no"),
        pytest.param("factuality", "Major error", 0.0, id="fact-major"),
    ],
)
def test_label_answers_map_to_points(rubrics: dict[str, Rubric], name: str, answer: str, value: float) -> None:
    assert _point_by_answer(rubrics[name])[answer.lower()] == value


@needs_release
@pytest.mark.parametrize("name", ["harmfulness", "factuality"])
def test_every_gpt4_label_in_the_release_is_a_point(rubrics: dict[str, Rubric], name: str) -> None:
    path = RESORT / "derived" / "gpt4_judgments_on_rated_items.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answers = {r["raw_output"].strip().lower() for r in rows if r["criterion"] == name}
    assert answers, f"no GPT-4 {name} answers found in {path}"
    assert answers <= set(_point_by_answer(rubrics[name]))


# -- the dimension texts are paraphrased, not copied ----------------------------------------------------------------


@needs_release
def test_copy_detector_catches_a_copied_line() -> None:
    # Guard against a vacuous check: a verbatim line of the release must be caught by the same windowing.
    line = (RESORT / "prompts" / "reappraisal_standards.txt").read_text(encoding="utf-8").splitlines()[0]
    assert _windows(line.split("=", 1)[1]) & _release_windows("reappraisal_standards.txt")


@needs_release
@pytest.mark.parametrize("release_file", ["reappraisal_standards.txt", "reappraisal_aim.txt"])
def test_dimension_texts_are_not_copied_from_the_release(release_file: str) -> None:
    ours = (RESORT_RUBRICS / "alignment_with_standards.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(ours)
    texts = [ours] + [d[f] for d in data["dimensions"] for f in ("aim", "standards")]
    release = _release_windows(release_file)
    copied = sorted({" ".join(w) for t in texts for w in _windows(t) & release})
    assert not copied, f"{COPY_WINDOW}-word runs copied from {release_file}: {copied}"


# -- broken rubrics fail with exit 2, naming the field --------------------------------------------------------------


def _broken_copy(tmp_path: Path, edit: str) -> Path:
    data = yaml.safe_load((RESORT_RUBRICS / "empathy.yaml").read_text(encoding="utf-8"))
    if edit == "missing":
        del data["question"]
    elif edit == "order":
        data["scale"] = list(reversed(data["scale"]))
    elif edit == "unknown_top":
        data["scorer"] = "gpt-4"
    elif edit == "unknown_nested":
        data["scale"][2]["anchr"] = data["scale"][2].pop("anchor")
    path = tmp_path / "empathy.yaml"  # the file name must equal the rubric name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param("missing", ["question", "required field is missing"], id="missing-field"),
        pytest.param(
            "order",
            ["scale values must be distinct and increasing", "[5.0, 4.0, 3.0, 2.0, 1.0]"],
            id="anchors-out-of-order",
        ),
        pytest.param("unknown_top", ["scorer", "unknown field"], id="unknown-field"),
        pytest.param("unknown_nested", ["scale[2].anchr", "scale[2].anchor", "unknown field"], id="misspelled-anchor"),
    ],
)
def test_broken_rubric_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str, expected: list[str]
) -> None:
    path = _broken_copy(tmp_path, edit)
    assert main(["rubrics", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"


def test_unbroken_copy_validates(tmp_path: Path) -> None:
    # The broken-copy helper itself must round-trip a valid file, or the failures above prove nothing.
    assert main(["rubrics", "validate", str(_broken_copy(tmp_path, "none"))]) == 0

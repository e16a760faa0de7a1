"""Property tests: malformed rubric files, benchmark JSONL, judgment imports and judge configs never crash the CLI.

Whatever the bytes, the CLI exits 0 (the input happened to be valid) or 2 with a message naming the file, never
with a traceback and never leaving a partial output. Inputs that are malformed by construction (a required field
removed, a field given a value of the wrong type) must exit 2 and name the field.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from benchmarks.reliability.bad_inputs import (
    TOML_OK,
    all_cases,
    check_cli,
    items_base,
    jsonl,
    outputs_base,
    rubric_base,
)

FILE = {"rubric": "empathy.yaml", "benchmark": "items.jsonl", "import": "outputs.jsonl", "judges": "judges.toml"}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _check_no_crash(kind: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        o = check_cli(kind, data, Path(tmp) / "case")
    assert o.traceback is None, o.traceback
    assert "Traceback" not in o.stderr
    assert o.rc in (0, 2), (o.rc, o.stderr)
    if o.rc == 2:
        assert FILE[kind] in o.stderr or "--" in o.stderr, o.stderr  # names the file (or the bad option)
        assert not o.partial_output


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: f"{c.kind}:{c.name}")
def test_every_malformed_case_gets_a_clear_error(case: Any, tmp_path: Path) -> None:
    o = check_cli(case.kind, case.data, tmp_path / "case")
    assert o.clear_error(case.expect), (o.rc, o.stderr, o.traceback)


@SETTINGS
@given(kind=st.sampled_from(sorted(FILE)), data=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(kind: str, data: bytes) -> None:
    _check_no_crash(kind, data)


@SETTINGS
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_crashes_judges_config(text: str) -> None:
    _check_no_crash("judges", (TOML_OK + text).encode())


@SETTINGS
@given(field=st.sampled_from(["name", "version", "title", "question", "level", "scale", "answer", "guidance"]),
       value=json_values)  # fmt: skip
def test_rubric_field_replaced_by_any_value(field: str, value: Any) -> None:
    d = rubric_base()
    d[field] = value
    _check_no_crash("rubric", yaml.safe_dump(d).encode())


@SETTINGS
@given(line=st.integers(1, 12), field=st.sampled_from(["item_id", "post_id", "post", "response", "system",
       "dimension_id", "meta"]), value=json_values, drop=st.booleans())  # fmt: skip
def test_benchmark_line_field_replaced_or_dropped(line: int, field: str, value: Any, drop: bool) -> None:
    rows = items_base()
    if drop:
        rows[line - 1].pop(field, None)
    else:
        rows[line - 1][field] = value
    with tempfile.TemporaryDirectory() as tmp:
        o = check_cli("benchmark", jsonl(rows), Path(tmp) / "case")
    assert o.traceback is None and o.rc in (0, 2), (o.rc, o.stderr, o.traceback)
    if drop and field in ("item_id", "post_id", "post", "response"):
        assert o.rc == 2 and f"items.jsonl:{line}: {field}" in o.stderr, o.stderr  # names file, line and field
    if o.rc == 2:
        assert "items.jsonl" in o.stderr and not o.partial_output


@SETTINGS
@given(line=st.integers(1, 12), field=st.sampled_from(["item_id", "criterion", "judge", "raw_output", "sample"]),
       value=json_values)  # fmt: skip
def test_import_line_field_replaced(line: int, field: str, value: Any) -> None:
    rows = outputs_base()
    rows[line - 1][field] = value
    with tempfile.TemporaryDirectory() as tmp:
        o = check_cli("import", jsonl(rows), Path(tmp) / "case")
    assert o.traceback is None and o.rc in (0, 2), (o.rc, o.stderr, o.traceback)
    if o.rc == 2:
        assert f"outputs.jsonl:{line}" in o.stderr and not o.partial_output, o.stderr
    if not isinstance(value, str) and field in ("item_id", "criterion", "judge"):
        assert o.rc == 2  # a non-string id is never accepted


@SETTINGS
@given(key=st.sampled_from(["model", "timeout", "max_retries", "params", "response_format", "api_key_env"]),
       value=json_values)  # fmt: skip
def test_judges_config_value_replaced(key: str, value: Any) -> None:
    if value is None:
        value = "null-is-not-toml"
    toml_value = json.dumps(value) if not isinstance(value, dict | list) else json.dumps(json.dumps(value))
    _check_no_crash("judges", (TOML_OK + f"{key} = {toml_value}\n").encode())

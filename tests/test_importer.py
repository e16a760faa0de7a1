"""The RESORT importer on the real release: real counts, the quirks, and clear errors on a broken release."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.importers.resort import import_resort


def test_import_cli_reports_real_counts(resort_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "resort", str(resort_dir), "--out", str(tmp_path / "b"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # Counted independently from the raw file: 227 entries, two annotations each, four criteria.
    raw = json.loads((resort_dir / "eval-human/human_eval_annotations_cleaned.json").read_text())
    annotators = {a["annotator"] for r in raw for a in (r["human_eval_annotation_1"], r["human_eval_annotation_2"])}
    assert summary["rated_items"] == len(raw) == 227
    assert summary["ratings"] == {c: 454 for c in ("alignment_with_standards", "empathy", "factuality", "harmfulness")}
    assert summary["raters"] == len(annotators) == 4
    assert summary["posts"] == 400
    assert summary["rated_posts"] == len({r["Reddit ID"] for r in raw})
    assert summary["unrated_items"] > 0
    bench = load_benchmark(tmp_path / "b")
    assert len(bench.items) == summary["items"]
    assert (tmp_path / "b" / "posts.jsonl").exists()


def test_rated_items_keep_position_ids_and_index_raters_by_annotator(resort_dir: Path) -> None:
    bench = import_resort(resort_dir)
    raw = json.loads((resort_dir / "eval-human/human_eval_annotations_cleaned.json").read_text())
    for i in (0, 57, 226):
        item = bench.items[f"resort:{i}"]
        assert item.response == raw[i]["reappraisal_response"]
        assert item.post_id == raw[i]["Reddit ID"]
        assert item.dimension_id == raw[i]["appraisal_dimension_id"]
        assert item.standards == raw[i]["reappraisal_standards"]
        want = {
            (f"resort:{a['annotator']}", a["empathy"])
            for a in (raw[i]["human_eval_annotation_1"], raw[i]["human_eval_annotation_2"])
        }
        got = {(r.rater, r.value) for r in bench.ratings if r.item_id == f"resort:{i}" and r.criterion == "empathy"}
        assert got == want
    # Null rationales survive as None (not "None", not dropped); non-null ones are kept verbatim.
    nulls = sum(r.rationale is None for r in bench.ratings)
    raw_nulls = sum(
        a[f"{c}_rationale"] is None
        for r in raw
        for a in (r["human_eval_annotation_1"], r["human_eval_annotation_2"])
        for c in ("alignment_with_standards", "empathy", "harmfulness", "factuality")
    )
    assert nulls == raw_nulls > 0
    # Each rated item has exactly two raters per criterion.
    per_item = Counter((r.item_id, r.criterion) for r in bench.ratings)
    assert set(per_item.values()) == {2}


def test_model_output_dimension_keys_are_normalised(resort_dir: Path) -> None:
    bench = import_resort(resort_dir)
    cons = [it for it in bench.items.values() if it.system.get("method") == "+cons"]
    assert {it.dimension_id for it in cons} == {1, 4, 6, 7, 8, 23}
    refine = [
        it for i, it in bench.items.items() if i.startswith("resort:out:") and it.system["pipeline"] == "self-refine"
    ]
    assert refine and all(it.meta["steps"] == 6 for it in refine)
    # the rows' "Model" field says "Mistral-7B-Instruct-v0"; the system must match the rated items' "v0.1"
    rated_systems = {bench.items[i].system_name for i in bench.rated_item_ids()}
    outputs = [it for i, it in bench.items.items() if i.startswith("resort:out:")]
    assert {it.system_name for it in outputs} - rated_systems == set()
    assert any(it.meta.get("model_field") == "Mistral-7B-Instruct-v0" for it in outputs)
    oracle = [it for it in bench.items.values() if it.item_id.startswith("resort:oracle:")]
    assert len(oracle) == 20 and all(it.dimension_id is not None for it in oracle)


def test_missing_release_file_is_a_clear_error(
    resort_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "release"
    shutil.copytree(resort_dir / "source_data", broken / "source_data")
    rc = main(["import", "resort", str(broken), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "human_eval_annotations_cleaned.json" in err and "missing" in err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_bad_entries_are_all_reported(resort_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rel = tmp_path / "release"
    shutil.copytree(resort_dir / "source_data", rel / "source_data")
    raw = json.loads((resort_dir / "eval-human/human_eval_annotations_cleaned.json").read_text())[:5]
    del raw[1]["reappraisal_response"]
    raw[3]["human_eval_annotation_2"]["empathy"] = "very"
    (rel / "eval-human").mkdir()
    (rel / "eval-human/human_eval_annotations_cleaned.json").write_text(json.dumps(raw))
    assert main(["import", "resort", str(rel), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "entry 1" in err and "reappraisal_response" in err
    assert "entry 3" in err and "empathy" in err and "'very'" in err

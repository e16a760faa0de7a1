"""GPT-4's judgments read from the RESORT release's own ``eval-gpt4/`` folders (issue 27, point 1): matched to the
rated items by post, response text and dimension, parsed like live answers, counted per criterion; the release's
layout only (no ``derived/`` file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.importers.resort import _PIPELINES
from judge.data.importers.resort_gpt4 import GPT4_JUDGE, normalise_text, read_gpt4_outputs

CRITERIA = ("alignment_with_standards", "empathy", "factuality", "harmfulness")


@pytest.fixture(scope="module")
def plain_release(resort_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release as a clone has it: everything but ``derived/`` (which only this project's test copy carries)."""
    root = tmp_path_factory.mktemp("plain") / "RESORT_cognitive_reappraisal"
    root.mkdir()
    for entry in resort_dir.iterdir():
        if entry.name != "derived":
            (root / entry.name).symlink_to(entry)
    assert not (root / "derived").exists()
    return root


@pytest.fixture(scope="module")
def imported(plain_release: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    work = tmp_path_factory.mktemp("imp")
    bench, run = work / "bench", work / "gpt4"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["import", "resort", str(plain_release), "--out", str(bench), "--gpt4-run", str(run), "--json"])
    assert rc == 0
    return bench, run, json.loads(buf.getvalue())


def _judgments(run: Path) -> dict[tuple[str, str], dict]:
    rows = [json.loads(line) for line in (run / "judgments.jsonl").read_text().splitlines()]
    return {(r["item_id"], r["criterion"]): r for r in rows}


def test_gpt4_run_from_the_release_alone_matches_the_independent_derivation(
    imported: tuple[Path, Path, dict], resort_dir: Path
) -> None:
    _, run, summary = imported
    mine = _judgments(run)
    # The reference: the test copy's derived file, made independently (exact text matching on a full clone). Its
    # rows from the two eval-gpt4 groups this copy carries are the ones the release alone can give.
    derived = [
        json.loads(line)
        for line in (resort_dir / "derived" / "gpt4_judgments_on_rated_items.jsonl").read_text().splitlines()
    ]
    here = {
        (r["item_id"], r["criterion"]): r["raw_output"]
        for r in derived
        if r["source"].startswith(("eval-gpt4/oracle/", "eval-gpt4/reddit_top_comment/"))
    }
    assert len(here) == 4 * 41
    # Every answer we matched is the one the reference matched, read verbatim.
    assert {k: v["raw_output"] for k, v in mine.items()} == {k: here[k] for k in mine}
    # Two items the reference matched differ from the release's copy by more than whitespace (a trailing "." on
    # resort:20, an emoticon " ಠ_ಠ" on resort:94): exact matching leaves them out, on every criterion.
    assert sorted(set(here) - set(mine)) == [(i, c) for i in ("resort:20", "resort:94") for c in CRITERIA]
    gpt4 = summary["gpt4"]
    assert gpt4["judge"] == GPT4_JUDGE and gpt4["matched"] == len(mine) == 4 * 39
    for c in CRITERIA:
        n = gpt4["by_criterion"][c]
        assert (n["matched"], n["rated_items"], n["unmatched"], n["ambiguous"], n["files"]) == (39, 227, 188, 0, 2)
    assert summary["run"]["judgments"] == 156


def test_gpt4_answers_are_parsed_like_live_answers(imported: tuple[Path, Path, dict], resort_dir: Path) -> None:
    """The same answers imported through ``judge import judgments`` (the tool's parser) give the same scores."""
    bench, run, _ = imported
    ref = run.parent / "ref"
    src = resort_dir / "derived" / "gpt4_judgments_on_rated_items.jsonl"
    assert main(["import", "judgments", str(src), "--benchmark", str(bench), "--out", str(ref)]) == 0
    theirs = _judgments(ref)
    mine = _judgments(run)
    assert {k: (v["score"], v["unscored_reason"]) for k, v in mine.items()} == {
        k: (theirs[k]["score"], theirs[k]["unscored_reason"]) for k in mine
    }
    # "<score>[8]</score>..." is 8, "4.0" is 4, "Not Harmful" is the scale's value for it: nothing left unread
    assert all(v["score"] is not None for v in mine.values())


def test_agree_runs_on_the_imported_gpt4_run(
    imported: tuple[Path, Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    bench, run, _ = imported
    capsys.readouterr()
    assert main(["agree", "--benchmark", str(bench), "--run", str(run), "--json", "--n-boot", "50"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["criteria"]["empathy"]["judges"][GPT4_JUDGE]["n_items"] == 39


# -- the matching rules, on a small release written here -----------------------------------------------------------


def _release(tmp: Path, rated: list[dict], files: dict[str, list[dict]]) -> Path:
    """A release with the files the importer needs, ``rated`` items and GPT-4 answer files ``files``."""
    root = tmp / "rel"
    (root / "eval-human").mkdir(parents=True)
    (root / "source_data").mkdir()
    (root / "source_data" / "r_anger.jsonl").write_text(json.dumps({"Reddit ID": "p1", "Reddit Post": "post"}) + "\n")
    entries = []
    for r in rated:
        a = {"annotator": 1, "alignment_with_standards": 5.0, "empathy": 2.0, "harmfulness": 0, "factuality": 1}
        b = {**a, "annotator": 2}
        entries.append(
            {
                "Reddit ID": r.get("post", "p1"),
                "Reddit Post": "post",
                "reappraisal_response": r["text"],
                "appraisal_dimension_id": r.get("dim", 1),
                "model": r.get("model", "gpt-4-turbo"),
                "pipeline": r.get("pipeline", "vanilla"),
                "method": r.get("method", "vanilla"),
                "human_eval_annotation_1": a,
                "human_eval_annotation_2": b,
            }
        )
    (root / "eval-human" / "human_eval_annotations_cleaned.json").write_text(json.dumps(entries))
    for rel, rows in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _match(root: Path) -> dict:
    from judge.data.importers.resort import import_resort

    got = read_gpt4_outputs(root, import_resort(root), _PIPELINES)
    return {"rows": {(r["item_id"], r["criterion"]): r["raw_output"] for _, r in got.rows}, "summary": got.summary()}


def test_normalise_text_forgives_whitespace_and_typography_only() -> None:
    assert normalise_text("It\u2019s  \u201cfine\u201d\n\u2014 ok\u2026") == 'It\'s "fine" - ok...'
    assert normalise_text("fine.") != normalise_text("fine")


def test_dimension_rules_and_the_oracle_dimension_field(tmp_path: Path) -> None:
    oracle = {"model": "oracle_response", "pipeline": "", "method": ""}
    rated = [
        {"text": "Reply one", "dim": 4},
        {"text": "Reply one", "dim": 6},
        {"text": "Oracle\u2019s reply", "dim": 7, **oracle},
    ]
    per_dimension = {
        "Reddit ID": "p1",
        "reappraisal_output_dim_4": "Reply  one",
        "evaluation_raw_output_dim_4": "<score>4</score>",
        "reappraisal_output_dim_6": "Reply one",
        "evaluation_raw_output_dim_6": "<score>6</score>",
    }
    files = {
        # per-dimension answers: each goes to the item of its dimension only
        "eval-gpt4/INDV/1_standard_alignment/vanilla/gpt-4-turbo.jsonl": [per_dimension],
        # one answer for the row (no dimension in its prompt): it goes to every dimension's item of that text
        "eval-gpt4/INDV/2_empathy/vanilla/gpt-4-turbo.jsonl": [
            {"Reddit ID": "p1", "reappraisal_output": "Reply one", "evaluation_raw_output": 3}
        ],
        # the oracle files call every answer _dim_1; their Dimension field says which it is
        "eval-gpt4/oracle/2_empathy.jsonl": [
            {"Reddit ID": "p1", "Dimension": "7", "Reappraisal": "Oracle's reply", "evaluation_raw_output_dim_1": "2"}
        ],
    }
    got = _match(_release(tmp_path, rated, files))
    assert got["rows"] == {
        ("resort:0", "alignment_with_standards"): "<score>4</score>",
        ("resort:1", "alignment_with_standards"): "<score>6</score>",
        ("resort:0", "empathy"): "3",
        ("resort:1", "empathy"): "3",
        ("resort:2", "empathy"): "2",
    }
    counts = got["summary"]["by_criterion"]
    want = {"files": 1, "answers": 2, "rated_items": 3, "matched": 2, "ambiguous": 0, "unmatched": 1}
    assert counts["alignment_with_standards"] == want
    assert counts["harmfulness"]["unmatched"] == 3 and counts["harmfulness"]["files"] == 0


def test_conflicting_answers_prefer_the_items_own_system_else_are_left_out(tmp_path: Path) -> None:
    rated = [{"text": "Same words"}, {"text": "Same words", "model": "Mistral-7B-Instruct-v0.1"}]
    row = {"Reddit ID": "p1", "reappraisal_output": "Same words"}
    files = {
        "eval-gpt4/INDV/2_empathy/vanilla/gpt-4-turbo.jsonl": [{**row, "evaluation_raw_output": "4"}],
        "eval-gpt4/ITER/2_empathy/self-refine/Llama-2-13b-chat-hf.jsonl": [{**row, "evaluation_raw_output": "2"}],
        "eval-gpt4/INDV/2_empathy/+appr_+cons/Llama-2-13b-chat-hf.jsonl": [{**row, "evaluation_raw_output": "1"}],
    }
    got = _match(_release(tmp_path, rated, files))
    # resort:0 is gpt-4-turbo / vanilla: its own file's answer wins; resort:1 (Mistral) has three different answers
    # from other systems' files: ambiguous, left out and counted, never guessed
    assert got["rows"] == {("resort:0", "empathy"): "4"}
    assert got["summary"]["by_criterion"]["empathy"]["ambiguous"] == 1
    assert got["summary"]["ambiguous_items"] == ["resort:1 empathy: 3 different answers"]


def test_a_release_without_gpt4_outputs_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _release(tmp_path, [{"text": "Reply"}], {})
    rc = main(["import", "resort", str(root), "--out", str(tmp_path / "b"), "--gpt4-run", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "eval-gpt4" in err and "no GPT-4 outputs" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists() and not (tmp_path / "r").exists()
    # without --gpt4-run the same release imports (GPT-4's answers are asked for, never required)
    assert main(["import", "resort", str(root), "--out", str(tmp_path / "b")]) == 0
    assert load_benchmark(tmp_path / "b").summary()["rated_items"] == 1

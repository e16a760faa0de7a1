"""An answer belongs to the content it judged (issue 25, point 2), over real HTTP to the loopback stub.

Every record carries its item's content hash. A record whose item changed is judged again, never reused (also after
run.json was deleted); old records without a hash still load; and every verb that reads a run together with a
benchmark refuses one the run did not judge, through the one check (``judge.engine.store.check_run_benchmark``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from judge.cli import main
from judge.data import load_benchmark
from judge.engine.store import MANIFEST, RECORDS, SUPERSEDED, iter_records, set_aside
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
CHATS = ROOT / "datasets" / "support-chats"
N = sum(1 for line in (DEMO / "items.jsonl").read_text(encoding="utf-8").splitlines() if line.strip())  # demo items
CHAT = "POST /v1/chat/completions"


def _copy_demo(dst: Path, change: dict[str, str] | None = None, meta: bool = False) -> Path:
    """The demo benchmark, with some responses changed (item id -> new response) or only its meta changed."""
    dst.mkdir(parents=True)
    rows = [json.loads(line) for line in (DEMO / "items.jsonl").read_text().splitlines() if line.strip()]
    for r in rows:
        if r["item_id"] in (change or {}):
            r["response"] = (change or {})[r["item_id"]]
        if meta:
            r["meta"] = {**r.get("meta", {}), "note": "relabelled"}
            r["system"] = {**r.get("system", {}), "model": "renamed"}
    (dst / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return dst


def _run(url: str, bench: Path, out: Path, cache: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    rc = main(["run", "--benchmark", str(bench), "--judge", "openai/stub-judge", "--api-base", url, "--criteria",
               "empathy", "--out", str(out), "--cache-dir", str(cache), "--no-progress", "--json"])  # fmt: skip
    out_err = capsys.readouterr()
    assert rc == 0, out_err.err
    return dict(json.loads(out_err.out))


def _answers(out: Path) -> dict[str, tuple[str | None, float | None]]:
    return {j.item_id: (j.item_hash, j.score) for j in iter_records(out)}


def test_records_carry_the_hash_of_what_was_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_benchmark(DEMO)
    with StubServer() as url:
        _run(url, DEMO, tmp_path / "run", tmp_path / "cache", capsys)
    recs = iter_records(tmp_path / "run")
    assert len(recs) == N and all(j.record_version >= 4 for j in recs)
    assert all(j.item_hash == bench.items[j.item_id].content_hash for j in recs)


def test_the_hash_is_what_the_judge_sees(tmp_path: Path) -> None:
    a = load_benchmark(DEMO).items
    relabelled = load_benchmark(_copy_demo(tmp_path / "meta", meta=True)).items
    changed = load_benchmark(_copy_demo(tmp_path / "changed", {"demo:exam-careful": "Something else entirely."})).items
    assert all(relabelled[i].content_hash == a[i].content_hash for i in a)  # system and meta are not judged
    assert changed["demo:exam-careful"].content_hash != a["demo:exam-careful"].content_hash
    assert all(changed[i].content_hash == a[i].content_hash for i in a if i != "demo:exam-careful")
    conv = a["demo:exam-careful"].model_copy(update={"post": "", "response": "", "conversation": None})
    assert len({a["demo:exam-careful"].content_hash, conv.content_hash}) == 2


def test_after_run_json_is_deleted_changed_items_are_judged_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, cache = tmp_path / "run", tmp_path / "cache"
    other = _copy_demo(
        tmp_path / "other", {"demo:exam-careful": "Other words here.", "demo:exam-generic": "A different reply."}
    )
    stub = StubServer()
    with stub as url:
        _run(url, DEMO, out, cache, capsys)
        before = _answers(out)
        (out / MANIFEST).unlink()
        calls = stub.stats().by_path.get(CHAT, 0)
        summary = _run(url, other, out, cache, capsys)
        new_calls = stub.stats().by_path.get(CHAT, 0) - calls
    # the issue's case: 0 calls, and the old scores taken as the new replies'. Now: the two changed items are asked.
    assert new_calls == 2 and summary["model_calls"] == 2
    after = _answers(out)
    hashes = {i: it.content_hash for i, it in load_benchmark(other).items.items()}
    assert {i: h for i, (h, _) in after.items()} == hashes
    assert {i for i in after if after[i] != before[i]} == {"demo:exam-careful", "demo:exam-generic"}
    # nothing lost: the two superseded records are kept aside, and their calls still count in the directory's totals
    aside = [json.loads(line) for line in (out / SUPERSEDED).read_text().splitlines()]
    assert sorted(r["item_id"] for r in aside) == ["demo:exam-careful", "demo:exam-generic"]
    assert summary["totals"]["model_calls"] == N + 2 and summary["judgments"] == N
    # and the same content again needs no call at all
    with stub as url:
        (out / MANIFEST).unlink()
        calls = stub.stats().by_path.get(CHAT, 0)
        assert _run(url, other, out, cache, capsys)["model_calls"] == 0
        assert stub.stats().by_path.get(CHAT, 0) == calls


def test_old_records_without_a_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, cache = tmp_path / "run", tmp_path / "cache"
    stub = StubServer()
    with stub as url:
        _run(url, DEMO, out, cache, capsys)
        # as a version-3 run wrote them: no item hash
        lines = [json.loads(line) for line in (out / RECORDS).read_text().splitlines()]
        for r in lines:
            r.pop("item_hash")
            r["record_version"] = 3
        (out / RECORDS).write_text("".join(json.dumps(r) + "\n" for r in lines))
        assert all(j.item_hash is None for j in iter_records(out))  # they still load
        # vouched for by run.json (its benchmark content hash is this benchmark's): resumed as they are
        assert _run(url, DEMO, out, cache, capsys)["model_calls"] == 0
        assert not (out / SUPERSEDED).exists()
        # without run.json nothing vouches for them: judged again, from the cache (same content: no call)
        (out / MANIFEST).unlink()
        calls = stub.stats().by_path.get(CHAT, 0)
        summary = _run(url, DEMO, out, cache, capsys)
        assert stub.stats().by_path.get(CHAT, 0) == calls and summary["cache_hits"] == N
    assert all(j.item_hash is not None and j.cache_hit for j in iter_records(out))
    assert len((out / SUPERSEDED).read_text().splitlines()) == N


def test_set_aside_finishes_a_move_a_kill_cut_short(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    recs = [{"judge": "j", "item_id": f"i{n}", "criterion": "c", "sample": 0, "score": n} for n in range(4)]
    lines = [json.dumps(r) + "\n" for r in recs]
    (out / RECORDS).write_text("".join(lines))
    (out / SUPERSEDED).write_text(lines[1])  # a move killed after writing the superseded file
    assert set_aside(out, {("j", "i1", "c", 0), ("j", "i2", "c", 0)}) == 2
    assert (out / RECORDS).read_text() == lines[0] + lines[3]
    assert (out / SUPERSEDED).read_text() == lines[1] + lines[2]  # i1 once, not twice
    assert set_aside(out, {("j", "i1", "c", 0)}) == 0


# -- every verb that reads a run with a benchmark refuses a mismatch -------------------------------------------------


@pytest.fixture(scope="module")
def chats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The support-chats example as a benchmark and a run of its judges' scores, and a benchmark with one reply
    changed."""
    d = tmp_path_factory.mktemp("chats")
    rubrics = str(CHATS / "rubrics")
    assert main(["import", "table", *map(str, sorted((CHATS / "ratings").glob("*.csv"))), "--items",
                 str(CHATS / "conversations.csv"), "--judged-role", "supporter", "--rubrics", rubrics,
                 "--out", str(d / "bench")]) == 0  # fmt: skip
    judges = [a for j in ("human", "judge-a", "judge-b", "judge-c", "judge-d") for a in ("--as-judge", j)]
    assert main(["import", "table", str(CHATS / "judge-scores.csv"), "--benchmark", str(d / "bench"), "--scores",
                 "{rater}_{criterion}", *judges, "--rubrics", rubrics, "--run-out", str(d / "run")]) == 0  # fmt: skip
    shutil.copytree(d / "bench", d / "other")
    rows = [json.loads(line) for line in (d / "other" / "items.jsonl").read_text().splitlines()]
    rows[0]["conversation"][-1]["text"] = "Whatever. Move on."
    (d / "other" / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"bench": d / "bench", "run": d / "run", "other": d / "other", "rubrics": CHATS / "rubrics", "tmp": d}


VERBS = {
    "agree": ["agree", "--benchmark", "{other}", "--run", "{run}", "--rubrics", "{rubrics}"],
    "leaderboard": ["leaderboard", "--benchmark", "{other}", "--run", "{run}", "--judge", "judge-a", "--rubrics",
                    "{rubrics}", "--out", "{tmp}/lb"],
    "judges": ["leaderboard", "--judges", "--benchmark", "{other}", "--run", "{run}", "--rubrics", "{rubrics}",
               "--out", "{tmp}/jb"],
    "calibrate": ["calibrate", "--benchmark", "{other}", "--run", "{run}", "--judge", "judge-a", "--rubrics",
                  "{rubrics}", "--out", "{tmp}/cal.json"],
    "align": ["align", "--benchmark", "{other}", "--run", "{run}", "--judge", "judge-a", "--rubrics", "{rubrics}",
              "--n-boot", "50", "--folds", "4", "--inner-folds", "3"],
    "estimate": ["estimate", "--benchmark", "{other}", "--run", "{run}", "--judge", "judge-a", "--criterion",
                 "warmth", "--rubrics", "{rubrics}"],
    "show": ["show", "{run}", "--benchmark", "{other}", "--rubrics", "{rubrics}"],
    "view": ["view", "--benchmark", "{other}", "--run", "{run}", "--rubrics", "{rubrics}", "--out", "{tmp}/v.html"],
}  # fmt: skip


@pytest.mark.parametrize("verb", list(VERBS))
def test_every_verb_refuses_a_run_of_another_benchmark(
    verb: str, chats: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(**chats) for a in VERBS[verb]]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"{chats['run'] / MANIFEST}: benchmark: the run judged a benchmark with content hash " in err
    assert f"but {chats['other']} has " in err and "Traceback" not in err
    # the same verb with the benchmark the run judged goes through
    rc = main([a.replace(str(chats["other"]), str(chats["bench"])) for a in argv])
    assert rc == 0, capsys.readouterr().err


def test_show_finds_the_run_s_benchmark_by_content_or_says_it_did_not(
    chats: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(chats["run"], run)
    assert main(["show", str(run), "--rubrics", str(chats["rubrics"])]) == 0  # found where it was recorded
    assert "was not found" not in capsys.readouterr().out
    # the recorded path now holds other items: not taken for the run's benchmark
    manifest = json.loads((run / MANIFEST).read_text())
    manifest["benchmark"].update(path=str(chats["other"]), abs_path=str(chats["other"]))
    (run / MANIFEST).write_text(json.dumps(manifest))
    assert main(["show", str(run), "--rubrics", str(chats["rubrics"])]) == 0
    out = capsys.readouterr().out
    assert "was not found" in out and f"{chats['other']}: other items (content hash" in out


def test_view_refuses_two_runs_of_different_benchmarks(
    chats: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other_run = tmp_path / "other-run"
    assert main(["import", "table", str(CHATS / "judge-scores.csv"), "--benchmark", str(chats["other"]), "--scores",
                 "{rater}_{criterion}", "--as-judge", "human", "--as-judge", "judge-a", "--as-judge", "judge-b",
                 "--as-judge", "judge-c", "--as-judge", "judge-d", "--rubrics", str(chats["rubrics"]),
                 "--run-out", str(other_run)]) == 0  # fmt: skip
    capsys.readouterr()
    rc = main(["view", "--run", str(chats["run"]), "--run", str(other_run), "--rubrics", str(chats["rubrics"]),
               "--out", str(tmp_path / "v.html")])  # fmt: skip
    assert rc == 2 and f"{other_run / MANIFEST}: benchmark: the run judged" in capsys.readouterr().err


def test_probe_refuses_a_changed_benchmark_before_writing_over_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "probes"
    args = ["probe", "--judge", "openai/stub-judge", "--criteria", "empathy", "--limit", "2", "--probes", "length",
            "--out", str(out), "--no-progress", "--n-boot", "100", "--format", "json"]  # fmt: skip
    with StubServer() as url:
        assert main([*args, "--benchmark", str(DEMO), "--api-base", url]) == 0, capsys.readouterr().err
        capsys.readouterr()
        before = (out / "benchmark" / "items.jsonl").read_text()
        other = _copy_demo(tmp_path / "other", {"demo:exam-careful": "Other words here."})
        rc = main([*args, "--benchmark", str(other), "--api-base", url])
    assert rc == 2 and "the run judged a benchmark with content hash" in capsys.readouterr().err
    assert (out / "benchmark" / "items.jsonl").read_text() == before  # the run's own benchmark is still there

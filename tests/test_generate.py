"""Generation: built-in systems, prompt steps actually sent, caching, resume after kill -9, failures counted.

A loopback stub (tests/support/stub.py) stands in for the model; its default responder answers plain text for
requests without ``response_format``, deterministically from the messages.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.systems import RESORT_DIMENSIONS, builtin_names, load_system, parse_system
from judge.engine.generate import load_posts
from judge.errors import InputError
from tests.support.stub import Faults, StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"


def _system_file(tmp: Path, builtin: str, url: str, **extra: Any) -> Path:
    data = load_system(builtin).model_dump(mode="json")
    data.update(model="openai/stub-judge", api_base=url, **extra)
    path = tmp / f"{builtin}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _gen(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    rc = main(["generate", *args, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def test_builtin_systems_load_and_cover_the_resort_strategies() -> None:
    names = builtin_names()
    assert {"vanilla", "indv+appr", "indv+cons", "indv+appr+cons", "iter+appr", "iter+cons", "self-refine"} <= set(
        names
    )
    indv = load_system("indv+appr+cons")
    assert indv.strategy == "individual" and indv.appraisal_step and indv.constitution_step
    assert indv.dimensions == RESORT_DIMENSIONS == [1, 4, 6, 7, 8, 23]
    assert len({load_system(n).content_hash() for n in names}) == len(names)  # every config differs


def test_bad_system_file_names_field_and_value(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        parse_system({"name": "x", "strategy": "individual", "template": "{post} {posst}"}, "s.yaml")
    msg = str(exc.value)
    assert "s.yaml" in msg and "posst" in msg and "dimension_template" in msg


def test_posts_jsonl_errors_name_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "posts.jsonl"
    f.write_text('{"post_id": "a", "post": "text"}\n{"post_id": "b"}\n{"post_id": "a", "post": "again"}\n')
    with pytest.raises(InputError) as exc:
        load_posts(f)
    msg = str(exc.value)
    assert f"{f}:2: post" in msg and "required field is missing" in msg
    assert f"{f}:3: post_id" in msg and "duplicate post_id 'a'" in msg


def test_posts_from_benchmark_dir_are_distinct_in_order() -> None:
    posts = load_posts(DEMO)
    assert [p.post_id for p in posts] == ["demo:exam", "demo:parent", "demo:layoff", "demo:friend", "demo:move"]
    assert [p.post_id for p in load_posts(DEMO, limit=2)] == ["demo:exam", "demo:parent"]


def test_indv_appr_cons_sends_appraisal_then_guided_reappraisal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = StubServer(record=100)
    with stub as url:
        system = _system_file(tmp_path, "indv+appr+cons", url)
        rc, s = _gen(
            [
                "--posts",
                str(DEMO),
                "--system",
                str(system),
                "--out",
                str(tmp_path / "out"),
                "--limit",
                "2",
                "--dimensions",
                "1",
                "4",
            ],
            capsys,
        )
        sent = [r.json()["messages"][-1]["content"] for r in stub.recorded]
    assert rc == 0 and s["items"] == 4 and s["model_calls"] == 8 and s["failed"] == {}  # 2 posts x 2 dims x 2 steps
    bench = load_benchmark(tmp_path / "out")
    ids = list(bench.items)
    assert ids == [
        "indv+appr+cons:demo:exam:1",
        "indv+appr+cons:demo:exam:4",
        "indv+appr+cons:demo:parent:1",
        "indv+appr+cons:demo:parent:4",
    ]
    item = bench.items["indv+appr+cons:demo:exam:4"]
    assert item.dimension_id == 4 and item.input_key == "demo:exam|4" and item.standards and item.response
    # The reappraisal step carries the appraisal step's output and the dimension's standards (+appr, +cons).
    appraisals = [m for m in sent if "rating from 1 to 9" in m]
    guided = [m for m in sent if "A good reply along this dimension" in m]
    assert len(appraisals) == 4 and len(guided) == 4
    assert all("Your assessment of the narrator's view: " in m and "Stub rationale" in m for m in guided)
    assert any(item.standards[:40] in m for m in guided)


def test_iterative_revises_through_each_dimension_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer() as url:
        system = _system_file(tmp_path, "iter+cons", url)
        rc, s = _gen(
            ["--posts", str(DEMO), "--system", str(system), "--out", str(tmp_path / "out"), "--limit", "1"], capsys
        )
    assert rc == 0 and s["items"] == 1 and s["model_calls"] == 1 + 6  # initial + one revision per dimension
    recs = [json.loads(line) for line in (tmp_path / "out" / "generations.jsonl").read_text().splitlines()]
    assert [st["step"] for st in recs[0]["steps"]] == ["initial"] + [f"revise@{d}" for d in RESORT_DIMENSIONS]
    assert recs[0]["response"] == recs[0]["steps"][-1]["output"]
    assert load_benchmark(tmp_path / "out").items["iter+cons:demo:exam"].dimension_id is None


def test_second_run_makes_zero_calls_and_other_dir_is_served_from_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = StubServer()
    with stub as url:
        system = _system_file(tmp_path, "self-refine", url)
        args = ["--posts", str(DEMO), "--system", str(system), "--limit", "3"]
        rc1, s1 = _gen([*args, "--out", str(tmp_path / "a")], capsys)
        calls = stub.stats().requests_total
        rc2, s2 = _gen([*args, "--out", str(tmp_path / "a")], capsys)
        rc3, s3 = _gen([*args, "--out", str(tmp_path / "b")], capsys)
        assert stub.stats().requests_total == calls  # nothing re-asked: records, then the reply cache
    assert (rc1, rc2, rc3) == (0, 0, 0)
    assert s1["model_calls"] == 3 * (1 + 2 * 2) and s1["generated"] == 3
    assert s2["model_calls"] == 0 and s2["skipped"] == 3 and s2["items"] == 3
    assert s3["model_calls"] == 0 and s3["cache_hits"] == 15
    a = (tmp_path / "a" / "items.jsonl").read_text()
    assert a == (tmp_path / "b" / "items.jsonl").read_text().replace('"b"', '"a"')


def test_failed_items_are_counted_not_written_and_retried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer(faults=Faults(http_500=1.0)) as url:
        system = _system_file(tmp_path, "vanilla", url, max_retries=0)
        args = ["--posts", str(DEMO), "--system", str(system), "--out", str(tmp_path / "o"), "--limit", "2"]
        rc, s = _gen(args, capsys)
    assert rc == 1 and sorted(s["failed"]) == ["vanilla:demo:exam", "vanilla:demo:parent"]
    assert all("api_error" in e for e in s["failed"].values()) and s["complete"] is False
    assert s["items"] == 0 and (tmp_path / "o" / "items.jsonl").read_text() == ""  # never an empty response
    with StubServer() as url:  # the provider recovers: the failed items are generated on the next run
        system = _system_file(tmp_path, "vanilla", url, max_retries=0)
        rc, s = _gen(args, capsys)
    assert rc == 0 and s["items"] == 2 and s["generated"] == 2 and s["skipped"] == 0


def test_other_system_in_same_out_dir_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer() as url:
        a = _system_file(tmp_path, "vanilla", url)
        assert (
            main(["generate", "--posts", str(DEMO), "--system", str(a), "--out", str(tmp_path / "o"), "--limit", "1"])
            == 0
        )
        cfg = yaml.safe_load(a.read_text())
        cfg["template"] = "Be curt.\n{post}"
        a.write_text(yaml.safe_dump(cfg))
        rc = main(["generate", "--posts", str(DEMO), "--system", str(a), "--out", str(tmp_path / "o"), "--limit", "1"])
    assert rc == 2 and "holds generations of another system" in capsys.readouterr().err


def _gen_cmd(system: Path, out: Path, cache: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "judge",
        "generate",
        "--posts",
        str(DEMO),
        "--limit",
        "4",  # the first four demo posts: 4 items x 7 steps
        "--system",
        str(system),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--concurrency",
        "1",
        "--json",
    ]


@pytest.mark.slow  # child processes: each imports LiteLLM
def test_kill_9_and_restart_redoes_nothing_finished(tmp_path: Path) -> None:
    stub = StubServer(latency_s=0.15)
    with stub as url:
        system = _system_file(tmp_path, "iter+cons", url)
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        proc = subprocess.Popen(
            _gen_cmd(system, tmp_path / "o", tmp_path / "c"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.time() + 60
        while stub.stats().requests_total < 9 and time.time() < deadline:  # past the first item (7 calls)
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = stub.stats().requests_total
        assert 9 <= before < 28, before  # killed mid-run
        done = subprocess.run(
            _gen_cmd(system, tmp_path / "o", tmp_path / "c"), env=env, capture_output=True, text=True, timeout=120
        )
        resumed_calls = stub.stats().requests_total - before
    s = json.loads(done.stdout)
    assert done.returncode == 0 and s["items"] == 4 and s["skipped"] >= 1
    # Every call answered before the kill is cached: the restart pays only for the rest (4 items x 7 steps).
    assert resumed_calls <= 28 - before + 1, (before, resumed_calls)
    assert s["model_calls"] == resumed_calls

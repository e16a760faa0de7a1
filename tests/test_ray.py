"""Ray execution on a local 2-CPU Ray cluster with the loopback stub: same results as one process, and a worker
killed mid-run costs nothing but a retry."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from judge.cli import main
from judge.data import load_benchmark, load_rubric_set
from judge.engine import RunConfig, run_judging
from judge.engine.calls.ray_shards import ShardRequest, judge_with_ray, split_shards
from judge.engine.judge_spec import JudgeSpec
from judge.engine.store import iter_records
from tests.support.ray_faults import dying_shard
from tests.support.stub import StubServer

ray = pytest.importorskip("ray", reason="needs the optional 'ray' extra")

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
N = 8 * 4  # items (--limit 8) x criteria

pytestmark = pytest.mark.slow  # a Ray cluster takes a few seconds to start; still small enough for CI


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _run(tmp: Path, url: str, name: str, extra: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    judges = tmp / "judges.toml"
    judges.write_text(f'[judges.stub]\nmodel = "openai/stub-judge"\napi_base = "{url}"\ntimeout = 5.0\n')
    rc = main(
        [
            "run",
            "--no-progress",
            "--json",
            "--benchmark",
            str(DEMO),
            "--judge",
            str(judges),
            "--limit",
            "8",
            "--samples",
            "2",
            "--out",
            str(tmp / name),
            "--cache-dir",
            str(tmp / f"cache-{name}"),
            *extra,
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    # Ray's raylet may print a warning (e.g. "A worker died") on stdout before our JSON summary
    return json.loads(out[out.index("{\n") :])


def _records(run_dir: Path) -> dict:
    return {(j.item_id, j.criterion, j.sample): (j.cache_key, j.score, j.raw_output) for j in iter_records(run_dir)}


def test_shards_cover_every_request_once() -> None:
    spec = JudgeSpec(name="j", model="openai/m")
    reqs = [ShardRequest(key=str(i), judge=spec, messages=[], response_format=None, seed=0) for i in range(10)]
    shards = split_shards(reqs, n_cpus=2)  # 2 CPUs x 4 shards per CPU = 8 shards of ceil(10/8) = 2
    assert [len(s) for s in shards] == [2, 2, 2, 2, 2]
    assert [r.key for s in shards for r in s] == [str(i) for i in range(10)]
    assert split_shards(reqs[:1], n_cpus=2) == [reqs[:1]]


def test_ray_run_matches_single_process_run(cluster: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer(latency_s=0.01) as url:
        single = _run(tmp_path, url, "single", [], capsys)
        on_ray = _run(tmp_path, url, "ray", ["--ray", "auto"], capsys)
    assert single["judgments"] == on_ray["judgments"] == 2 * N
    assert on_ray["model_calls"] == single["model_calls"] and on_ray["cache_hits"] == 0
    assert _records(tmp_path / "ray") == _records(tmp_path / "single")


def test_worker_killed_mid_run_is_retried_without_loss_or_duplicates(cluster: None, tmp_path: Path) -> None:
    marker = tmp_path / "killed"
    stub = StubServer(latency_s=0.01)
    with stub as url:
        bench = load_benchmark(DEMO)
        cfg = RunConfig(
            benchmark=bench,
            rubrics=load_rubric_set(ROOT / "rubrics" / "resort"),
            judges=[JudgeSpec(name="stub", model="openai/stub-judge", api_base=url, timeout=5.0)],
            out=tmp_path / "r",
            samples=2,
            item_ids=list(bench.items)[:8],
            cache_dir=tmp_path / "cache",
            progress=False,
            ray_address="auto",
            # each task runs a body that, the first time, SIGKILLs its own worker after one paid call
            call_strategy=functools.partial(judge_with_ray, task_body=dying_shard(marker)),
        )
        s = run_judging(cfg)
        calls = stub.stats().by_path["POST /v1/chat/completions"]
    assert marker.exists()  # a worker really was SIGKILLed after a call
    lines = (tmp_path / "r" / "judgments.jsonl").read_text().splitlines()
    keys = [(r["item_id"], r["criterion"], r["sample"]) for r in map(json.loads, lines)]
    assert len(keys) == len(set(keys)) == 2 * N  # complete, and no record written twice
    assert s.scored == 2 * N
    # the dead worker's calls were paid again by the retried task: more HTTP calls than recorded attempts
    assert calls > s.model_calls >= 2 * N

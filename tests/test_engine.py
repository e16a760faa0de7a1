"""The judge engine over real HTTP: a loopback OpenAI-compatible server, LiteLLM, the cache and the run store.

The stub answers deterministically from the messages, so an interrupted-and-resumed run can be compared with an
uninterrupted one record by record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine.prompt import render_messages
from judge.engine.store import iter_records
from tests.support.stub import Faults, Request, Response, StubServer, _error

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
N_ITEMS = 15  # the bundled demo: 5 posts x 3 systems
N_DEMO = N_ITEMS * 4  # items x criteria


def _judges_file(tmp: Path, url: str, **extra: object) -> Path:
    fields = {"model": "openai/stub-judge", "api_base": url, "timeout": 2.0, "max_retries": 4, **extra}
    lines = ["[judges.stub]"] + [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    p = tmp / "judges.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    rc = main(["run", "--no-progress", "--json", *args])
    out = capsys.readouterr().out
    return rc, (json.loads(out) if out.strip() else {})


def _scores(run_dir: Path) -> dict:
    return {(j.judge, j.item_id, j.criterion, j.sample): (j.score, j.unscored_reason) for j in iter_records(run_dir)}


def test_faults_become_retries_or_unscored_and_rerun_is_all_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = [
        "http_429_retry_after",
        "http_500",
        "http_503",
        "reset",
        "truncated_body",
        "invalid_json",
        "timeout",
        "refusal",
        "off_scale",
        "empty",
        "length",
        "missing_field",
    ]
    stub = StubServer(faults=Faults(script=script, retry_after_s=1, hold_s=5), record=500)
    with stub as url:
        judges = _judges_file(tmp_path, url)
        rc, s = _run(
            ["--benchmark", str(DEMO), "--judge", str(judges), "--out", str(tmp_path / "r1"), "--concurrency", "4",
             "--max-unscored", "0.05"],
            capsys,
        )  # fmt: skip
        # 5 of 60 unscored is more than --max-unscored 5%: recorded, but the exit code says so
        assert rc == 1 and len(s["problems"]) == 1 and "--max-unscored" in s["problems"][0], s
        stats = stub.stats()
        # every judgment is recorded: scored, or unscored with a reason; nothing lost
        assert s["judgments"] == N_DEMO and s["scored"] + sum(s["unscored"].values()) == N_DEMO
        # content faults are data (unscored with their reason), transport faults were retried away
        assert s["unscored"] == {"empty": 1, "off_scale": 1, "parse_failure": 1, "refusal": 1, "truncated": 1}, s
        assert "api_error" not in s["unscored"]
        assert s["model_calls"] == stats.by_path["POST /v1/chat/completions"]  # every retry counted, none hidden
        records = iter_records(tmp_path / "r1")
        assert sum(j.attempts for j in records) == stats.by_path["POST /v1/chat/completions"]
        assert max(j.attempts for j in records) >= 2
        assert all(j.unscored_reason and j.detail for j in records if j.score is None)
        # the exact messages sent are the rendered ones
        bench = load_benchmark(DEMO)
        rubrics = load_rubric_set(default_rubrics_dir())
        sent = {json.dumps(r.json()["messages"], sort_keys=True) for r in stub.recorded}
        for item in list(bench.items.values())[:3]:
            for rubric in rubrics.values():
                assert json.dumps(render_messages(rubric, item)[0], sort_keys=True) in sent
        # an identical command on a fresh run directory: served entirely from the cache, same answers
        before = stub.stats().requests_total
        rc, s2 = _run(
            ["--benchmark", str(DEMO), "--judge", str(judges), "--out", str(tmp_path / "r2"), "--max-unscored", "0.2"],
            capsys,
        )
        assert rc == 0 and s2["model_calls"] == 0 and s2["cache_hits"] == N_DEMO
        assert stub.stats().requests_total == before
        assert _scores(tmp_path / "r1") == _scores(tmp_path / "r2")
        # re-running into the finished directory does nothing at all
        rc, s3 = _run(
            ["--benchmark", str(DEMO), "--judge", str(judges), "--out", str(tmp_path / "r1"), "--max-unscored", "0.2"],
            capsys,
        )
        assert rc == 0 and s3["model_calls"] == 0 and s3["judgments"] == N_DEMO
        # --no-cache asks again (fresh answers) and still records them
        rc, s4 = _run(
            [
                "--benchmark",
                str(DEMO),
                "--judge",
                str(judges),
                "--out",
                str(tmp_path / "r4"),
                "--no-cache",
                "--criteria",
                "empathy",
            ],
            capsys,
        )
        assert rc == 0 and s4["model_calls"] == N_ITEMS and s4["cache_hits"] == 0


def test_api_errors_after_retries_are_unscored_not_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer(faults=Faults(http_500=1.0)) as url:
        judges = _judges_file(tmp_path, url, max_retries=1)
        rc, s = _run(
            [
                "--benchmark",
                str(DEMO),
                "--judge",
                str(judges),
                "--out",
                str(tmp_path / "r"),
                "--criteria",
                "empathy",
                "--limit",
                "3",
            ],
            capsys,
        )
    assert rc == 1  # recorded, but a run the provider failed is not a result (test_trust: the retry on re-run)
    assert s["unscored"] == {"api_error": 3} and s["scored"] == 0
    assert all(j.score is None and "InternalServerError" in (j.detail or "") for j in iter_records(tmp_path / "r"))


def test_permanent_error_fails_fast_and_key_is_never_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("STUB_KEY", secret)

    async def deny(server: StubServer, req: Request) -> Response:
        return _error(401, f"Incorrect API key provided: {secret}", "invalid_api_key")

    stub = StubServer(watch=[secret])
    stub.add_route("POST", "/v1/chat/completions", deny)
    with stub as url:
        judges = _judges_file(tmp_path, url, api_key_env="STUB_KEY")
        rc = main(
            [
                "run",
                "--no-progress",
                "--benchmark",
                str(DEMO),
                "--judge",
                str(judges),
                "--out",
                str(tmp_path / "r"),
                "--concurrency",
                "2",
            ]
        )
        calls = stub.stats().by_path.get("POST /v1/chat/completions", 0)
        hits = stub.stats().watch_hits
    err = capsys.readouterr().err
    assert rc == 1 and "authentication failed" in err
    assert secret not in err
    assert calls <= 2  # not retried: one call per worker at most
    assert set(hits.get(secret, {})) == {"header:authorization"}  # the key travels only as the auth header
    for f in [*(tmp_path / "r").rglob("*"), *Path(os.environ["JUDGE_CACHE_DIR"]).rglob("*")]:
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


def test_budget_stops_before_overspending_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # gpt-4o-mini has a price in LiteLLM's bundled cost map, so estimates and costs are real numbers.
    with StubServer() as url:
        args = [
            "--benchmark",
            str(DEMO),
            "--judge",
            "openai/gpt-4o-mini",
            "--api-base",
            url,
            "--criteria",
            "empathy",
            "--concurrency",
            "1",
        ]
        rc, _ = _run([*args, "--out", str(tmp_path / "r"), "--budget", "0.0015"], capsys)
        err = capsys.readouterr().err
        assert rc == 1
        first = iter_records(tmp_path / "r")
        assert 0 < len(first) < N_ITEMS
        spent = sum(j.cost_usd for j in first)
        assert 0 < spent <= 0.0015
        rc, s = _run([*args, "--out", str(tmp_path / "r"), "--budget", "1"], capsys)
        assert rc == 0 and s["judgments"] == N_ITEMS
        assert s["model_calls"] == N_ITEMS - len(first)  # finished calls are not paid for twice
    del err


def test_samples_are_aggregated_and_self_consistency_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with StubServer() as url:
        rc, s = _run(
            [
                "--benchmark",
                str(DEMO),
                "--judge",
                "openai/stub-judge",
                "--api-base",
                url,
                "--criteria",
                "empathy",
                "--samples",
                "3",
                "--out",
                str(tmp_path / "r"),
            ],
            capsys,
        )
    assert rc == 0 and s["judgments"] == 3 * N_ITEMS
    sc = s["self_consistency"]["openai/stub-judge"]["empathy"]
    assert sc["items"] == N_ITEMS and sc["all_agree_rate"] == 1.0  # the stub answers by message content
    seeds = {j.sample for j in iter_records(tmp_path / "r")}
    assert seeds == {0, 1, 2}


def test_run_dir_of_another_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer() as url:
        base = [
            "--benchmark",
            str(DEMO),
            "--judge",
            "openai/stub-judge",
            "--api-base",
            url,
            "--criteria",
            "empathy",
            "--limit",
            "2",
            "--out",
            str(tmp_path / "r"),
        ]
        assert _run(base, capsys)[0] == 0
        rc = main(["run", "--no-progress", *base, "--temperature", "0.9"])
    assert rc == 2 and "holds a different run" in capsys.readouterr().err


def _cmd(url: str, out: Path, cache: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "judge",
        "run",
        "--benchmark",
        str(DEMO),
        "--judge",
        "openai/stub-judge",
        "--api-base",
        url,
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--concurrency",
        "4",
        "--no-progress",
        "--json",
    ]


@pytest.mark.slow
def test_kill_9_and_resume_equals_uninterrupted_run(tmp_path: Path) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    stub = StubServer(latency_s=0.08)
    with stub as url:
        subprocess.run(_cmd(url, tmp_path / "ref", tmp_path / "c-ref"), check=True, env=env, capture_output=True)
        ref = _scores(tmp_path / "ref")
        calls_ref = stub.stats().by_path["POST /v1/chat/completions"]
        kills = 0
        for _ in range(4):  # four kills at different points; the final run resumes the rest (each start ~3 s)
            before = len(iter_records(tmp_path / "r"))
            if before >= N_DEMO:
                break
            p = subprocess.Popen(
                _cmd(url, tmp_path / "r", tmp_path / "c"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(iter_records(tmp_path / "r")) < before + 5:
                if p.poll() is not None:
                    break
                time.sleep(0.05)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
        final = subprocess.run(_cmd(url, tmp_path / "r", tmp_path / "c"), env=env, capture_output=True, text=True)
        assert final.returncode == 0, final.stderr
        calls_resumed = stub.stats().by_path["POST /v1/chat/completions"] - calls_ref
    assert kills >= 3
    lines = (tmp_path / "r" / "judgments.jsonl").read_text().splitlines()
    keys = [tuple(json.loads(line)[k] for k in ("judge", "item_id", "criterion", "sample")) for line in lines]
    assert len(keys) == len(set(keys)) == N_DEMO  # no duplicates, nothing missing
    assert _scores(tmp_path / "r") == ref
    assert calls_resumed <= N_DEMO + 4 * kills  # at most the calls in flight at each kill are paid twice


def test_cached_run_does_not_import_litellm(tmp_path: Path) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    probe = (
        "import sys; from judge.cli import main; rc = main(sys.argv[1:]); "
        "print('LITELLM' if 'litellm' in sys.modules else 'NO-LITELLM', file=sys.stderr); sys.exit(rc)"
    )
    with StubServer() as url:
        args = _cmd(url, tmp_path / "a", tmp_path / "c")[3:]
        first = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True)
        assert first.returncode == 0 and "\nLITELLM" in "\n" + first.stderr
        args = _cmd(url, tmp_path / "b", tmp_path / "c")[3:]
        second = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "NO-LITELLM" in second.stderr
    assert json.loads(second.stdout)["cache_hits"] == N_DEMO


def test_all_criteria_in_one_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stub = StubServer(record=100)
    with stub as url:
        judges = _judges_file(tmp_path, url, criteria_per_call="all")
        rc, s = _run(
            ["--benchmark", str(DEMO), "--judge", str(judges), "--out", str(tmp_path / "r"), "--limit", "5"], capsys
        )
        assert rc == 0
        # one call per item carries every criterion; each criterion is recorded and read from its own entry
        assert s["model_calls"] == 5 and s["judgments"] == 20 and s["scored"] == 20
        body = stub.recorded[0].json()
        props = body["response_format"]["schema"]["properties"]
        assert set(props) == {"alignment_with_standards", "empathy", "factuality", "harmfulness"}
        assert props["empathy"]["properties"]["rationale"]["maxLength"] > 0
        rc, s2 = _run(
            ["--benchmark", str(DEMO), "--judge", str(judges), "--out", str(tmp_path / "r2"), "--limit", "5"], capsys
        )
    assert rc == 0 and s2["model_calls"] == 0 and s2["cache_hits"] == 20
    assert _scores(tmp_path / "r") == _scores(tmp_path / "r2")
    records = iter_records(tmp_path / "r")
    assert all("all_criteria_call" in j.flags for j in records)

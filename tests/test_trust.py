"""Runs you can trust (issue 15): each case a new user hit, over real HTTP to the loopback stub.

No stale answers across servers, failures that are retried and visible in the exit code, a budget that protects
across invocations, keys from a named variable, progress in a CI log, bad values refused before any call, runs
that are read from anywhere, and a cached path that never loads the provider layer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from judge.cli import main
from judge.data import load_benchmark, load_rubric_set
from judge.data.rubric import default_rubrics_dir
from judge.engine import Cache, CachedReply, JudgeSpec, RunConfig, iter_records, plan_units
from judge.engine.judgment import RECORD_VERSION
from judge.engine.local.models import get_model
from judge.engine.store import RECORDS, read_summary
from tests.support.batch_stub import add_batch_routes
from tests.support.cli import run_judge
from tests.support.stub import Faults, Request, Response, StubServer, default_responder

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
CHAT = "POST /v1/chat/completions"
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _judges_file(tmp: Path, url: str, name: str = "judges.toml", **extra: object) -> Path:
    fields = {"model": "openai/stub-judge", "api_base": url, "timeout": 5.0, "max_retries": 2, **extra}
    p = tmp / name
    p.write_text("[judges.stub]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items()))
    return p


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    rc = main(["run", "--no-progress", "--json", *args])
    out = capsys.readouterr()
    return rc, (json.loads(out.out) if out.out.strip() else {}), out.err


def _calls(stub: StubServer) -> int:
    return stub.stats().by_path.get(CHAT, 0)


def _other_server(request: dict[str, Any]) -> str:
    """A server with another model behind the same alias: other answers to the same messages."""
    return default_responder({**request, "messages": [*request["messages"], {"role": "user", "content": "B"}]})


# -- 1. the cache key includes the endpoint ----------------------------------------------------------------------


def test_two_servers_under_one_alias_never_share_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = StubServer(), StubServer(responder=_other_server)
    url_a, url_b = a.start(), b.start()
    try:
        common = ["--benchmark", str(DEMO), "--judge", "openai/qwen", "--criteria", "empathy"]
        rc, _, _ = _run([*common, "--api-base", url_a, "--out", str(tmp_path / "a")], capsys)
        assert rc == 0 and _calls(a) == 15
        # Same alias, another server: every judgment is asked of B (measured: 15 calls), none served from A's answers
        rc, s_b, _ = _run([*common, "--api-base", url_b + "/", "--out", str(tmp_path / "b")], capsys)
        assert rc == 0 and _calls(b) == 15 and s_b["cache_hits"] == 0 and s_b["model_calls"] == 15
        raw_a = {j.item_id: j.raw_output for j in iter_records(tmp_path / "a")}
        raw_b = {j.item_id: j.raw_output for j in iter_records(tmp_path / "b")}
        assert all(raw_a[i] != raw_b[i] for i in raw_a)
        assert raw_b == {j.item_id: j.raw_output for j in iter_records(tmp_path / "b")}
        # A again (a trailing slash is the same server): served from the cache, A's answers
        rc, s_a2, _ = _run([*common, "--api-base", url_a + "/", "--out", str(tmp_path / "a2")], capsys)
        assert rc == 0 and s_a2["cache_hits"] == 15 and _calls(a) == 15
        # A declared pool of A and B shares answers among its deployments, but not with A alone
        pool = tmp_path / "pool.toml"
        pool.write_text(
            f'[judges.openai-qwen]\nmodel = "openai/qwen"\ndeployments = [ {{ api_base = "{url_a}" }}, '
            f'{{ api_base = "{url_b}" }} ]\nparams = {{ temperature = 0.0, max_tokens = 400 }}\n'
        )
        rc, s_pool, _ = _run(
            ["--benchmark", str(DEMO), "--judge", str(pool), "--criteria", "empathy", "--out", str(tmp_path / "p")],
            capsys,
        )
        assert rc == 0 and s_pool["cache_hits"] == 0 and _calls(a) + _calls(b) == 45
    finally:
        a.stop()
        b.stop()


def test_identity_names_the_endpoint_the_pool_and_the_weights() -> None:
    one = JudgeSpec(name="q", model="openai/qwen", api_base="http://a/v1")
    other = JudgeSpec(name="q", model="openai/qwen", api_base="http://b/v1/")
    assert one.identity() != other.identity()
    assert one.identity() == JudgeSpec(name="other name", model="openai/qwen", api_base="http://a/v1/").identity()
    deps = [{"api_base": "http://a/v1"}, {"api_base": "http://b/v1"}]
    pool = JudgeSpec.model_validate({"name": "p", "model": "openai/qwen", "deployments": deps})
    same_pool = JudgeSpec.model_validate({"name": "p", "model": "openai/qwen", "deployments": deps[::-1]})
    assert pool.identity() == same_pool.identity() and pool.identity() != one.identity()
    small, large = JudgeSpec(name="s", model="local/qwen2.5-0.5b"), JudgeSpec(name="l", model="local/qwen2.5-1.5b")
    assert small.identity()["endpoint"] == {"weights_sha256": get_model("qwen2.5-0.5b").sha256}
    assert large.identity()["endpoint"] == {"weights_sha256": get_model("qwen2.5-1.5b").sha256}


# -- 2. transient failures are retried on the next run; the exit code says so ------------------------------------


def test_failures_exit_1_and_the_same_command_asks_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stub = StubServer(faults=Faults(http_500=1.0))
    with stub as url:
        args = ["--benchmark", str(DEMO), "--judge", str(_judges_file(tmp_path, url, max_retries=1))]
        args += ["--criteria", "empathy", "--limit", "3", "--out", str(tmp_path / "r")]
        rc, s, err = _run(args, capsys)
        assert rc == 1 and s["unscored"] == {"api_error": 3} and _calls(stub) == 6
        assert "unscored for a provider reason" in err and "run the same command again" in err
        stub.faults = Faults()  # the server recovers
        rc, s2, _ = _run(args, capsys)
        # measured: exit 1 then 0; the second run re-issues exactly the 3 failed calls
        assert rc == 0 and _calls(stub) == 9 and s2["model_calls"] == 3 and s2["problems"] == []
        assert s2["scored"] == 3 and s2["judgments"] == 3
        assert s2["totals"] == {"model_calls": 9, "retries": 3, "cost_usd": 0.0, "unpriced_calls": 3, "reissued": 3}
        lines = (tmp_path / "r" / RECORDS).read_text().splitlines()
        assert len(lines) == 6  # history kept; the latest record of each key is the judgment
        assert all(j.score is not None for j in iter_records(tmp_path / "r"))
        rc, s3, _ = _run(args, capsys)
        assert rc == 0 and s3["model_calls"] == 0 and _calls(stub) == 9


def test_unreadable_answers_stay_final_unless_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stub = StubServer(faults=Faults(script=["refusal"]))
    with stub as url:
        args = ["--benchmark", str(DEMO), "--judge", "openai/stub-judge", "--api-base", url, "--criteria", "empathy"]
        args += ["--limit", "1", "--out", str(tmp_path / "r")]
        rc, s, err = _run(args, capsys)
        assert rc == 1 and s["unscored"] == {"refusal": 1} and "--max-unscored" in err  # 1 of 1 is 100%
        rc, s, _ = _run([*args, "--max-unscored", "1"], capsys)
        assert rc == 0 and s["model_calls"] == 0 and s["unscored"] == {"refusal": 1}  # final: not asked again
        rc, s, _ = _run([*args, "--retry-unscored"], capsys)
        # asked again, past the cache (which holds the refusal): the server now answers
        assert rc == 0 and s["model_calls"] == 1 and s["scored"] == 1 and _calls(stub) == 2


# -- 3. money -----------------------------------------------------------------------------------------------------


def test_budget_refuses_an_unpriced_judge_before_any_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stub = StubServer()
    with stub as url:
        args = [
            "--benchmark",
            str(DEMO),
            "--judge",
            "openai/selfhosted-7b",
            "--api-base",
            url,
            "--criteria",
            "empathy",
            "--budget",
            "0.0001",
            "--out",
            str(tmp_path / "r"),
        ]
        rc, _, err = _run(args, capsys)
        assert rc == 2 and _calls(stub) == 0
        assert "input_price_per_mtok" in err and "output_price_per_mtok" in err and "selfhosted-7b" in err
        # without a budget it runs, and its cost reads "unpriced", never $0.0000
        rc = main(["run", "--no-progress", *args[:-4], "--out", str(tmp_path / "r2")])
        out = capsys.readouterr().out
        assert rc == 0 and "cost unpriced" in out and "$0.0000" not in out
        assert all(j.cost_usd is None for j in iter_records(tmp_path / "r2"))
        # prices in the judge config: priced from the tokens, and the budget protects
        priced = _judges_file(
            tmp_path, url, name="priced.toml", input_price_per_mtok=100.0, output_price_per_mtok=400.0
        )
        rc, s, err = _run(
            [
                "--benchmark",
                str(DEMO),
                "--judge",
                str(priced),
                "--criteria",
                "empathy",
                "--concurrency",
                "1",
                "--budget",
                "0.5",
                "--out",
                str(tmp_path / "r3"),
            ],
            capsys,
        )
        assert rc == 1 and "budget" in err and 0 < s["judgments"] < 15
        for j in iter_records(tmp_path / "r3"):
            assert j.cost_usd == pytest.approx((j.tokens_in * 100.0 + j.tokens_out * 400.0) / 1e6)
        assert 0 < s["cost_usd"] <= 0.5 and s["cost"].startswith("$")


def test_budget_is_for_the_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # gpt-4o-mini is priced in LiteLLM's bundled map, so estimates and costs are real numbers.
    stub = StubServer()
    with stub as url:
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
            "--out",
            str(tmp_path / "r"),
            "--budget",
            "0.0015",
        ]
        rc, s, _ = _run(args, capsys)
        first = _calls(stub)
        assert rc == 1 and 0 < first < 15 and 0 < s["totals"]["cost_usd"] <= 0.0015
        # "run again to resume" must not spend the budget again (measured: 0 calls)
        rc, _, err = _run(args, capsys)
        assert rc == 1 and _calls(stub) == first and "spent so far" in err
        rc, s3, _ = _run([*args[:-1], "1"], capsys)
        assert rc == 0 and s3["judgments"] == 15 and _calls(stub) == 15


# -- 4. keys ------------------------------------------------------------------------------------------------------


def test_api_key_env_for_a_server_and_what_a_401_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("GPU_KEY", secret)
    stub = StubServer(watch=[secret])
    with stub as url:
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
        ]
        rc, _, _ = _run([*base, "--api-key-env", "GPU_KEY", "--out", str(tmp_path / "r")], capsys)
        stats = stub.stats()
        # the key travels only as the auth header: of the 2 calls, and of the run's questions about the server's
        # slots (GETs to the same server, judge.engine.server_slots)
        gets = sum(n for k, n in stats.by_path.items() if k.startswith("GET "))
        assert rc == 0 and gets > 0 and stats.watch_hits[secret] == {"header:authorization": 2 + gets}

    async def deny(server: StubServer, req: Request) -> Response:
        return Response(401, b'{"error": {"message": "Invalid API key.", "type": "invalid_api_key"}}')

    stub = StubServer(watch=[secret])
    stub.add_route("POST", "/v1/chat/completions", deny)
    with stub as url:
        base[base.index("--api-base") + 1] = url
        monkeypatch.delenv("NOT_SET_KEY", raising=False)
        rc, _, err = _run([*base, "--api-key-env", "NOT_SET_KEY", "--out", str(tmp_path / "r1")], capsys)
        assert rc == 2 and "NOT_SET_KEY" in err and _calls(stub) == 0  # before any call
        rc, _, err = _run([*base, "--api-key-env", "GPU_KEY", "--out", str(tmp_path / "r2")], capsys)
        assert rc == 1 and "authentication failed" in err and "$GPU_KEY" in err and secret not in err
        rc, _, err = _run([*base, "--out", str(tmp_path / "r3")], capsys)
        assert rc == 1 and "no key was sent" in err and "--api-key-env" in err
    for f in [*tmp_path.rglob("*"), *Path(os.environ["JUDGE_CACHE_DIR"]).rglob("*")]:
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


# -- 5. progress in a CI log, counts across invocations ----------------------------------------------------------


def test_progress_lines_when_not_a_terminal_and_cumulative_counts(tmp_path: Path) -> None:
    stub = StubServer(latency_s=0.1, faults=Faults(script=["http_500"]))
    with stub as url:
        cmd = [
            sys.executable,
            "-m",
            "judge",
            "run",
            "--benchmark",
            str(DEMO),
            "--judge",
            str(_judges_file(tmp_path, url)),
            "--out",
            str(tmp_path / "r"),
            "--cache-dir",
            str(tmp_path / "c"),
            "--concurrency",
            "2",
            "--progress-interval",
            "0.2",
        ]
        first = subprocess.run([*cmd, "--limit", "4"], env=ENV, capture_output=True, text=True, timeout=300)
        assert first.returncode == 0, first.stderr
        lines = first.stderr.splitlines()
        assert any("loading the provider layer" in ln for ln in lines)
        assert any("provider layer loaded in" in ln for ln in lines)
        progress = [ln for ln in lines if re.search(r"\d+/16 judgments", ln)]
        assert len(progress) >= 2, first.stderr  # at least one while running, one at the end
        assert "16/16 judgments" in progress[-1] and "retries 1" in progress[-1] and "cost unpriced" in progress[-1]
        for ln in progress:  # an ETA only once 10 calls have finished
            m = re.search(r"(\d+)/16 judgments.*ETA", ln)
            assert m is None or int(m.group(1)) >= 10, ln
        # The cumulative counts need no second process (its start-up, LiteLLM's import, is most of its time).
        second = run_judge(*cmd[3:], "--limit", "6")
        assert second.rc == 0 and not second.fault, second.err
    summary = read_summary(tmp_path / "r")
    assert summary is not None
    assert summary["model_calls"] == 8 and summary["totals"]["model_calls"] == 16 + 1 + 8
    assert summary["totals"]["retries"] == 1


# -- 6. bad values ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "allowed"),
    [
        pytest.param("--limit", "-3", ">= 0", id="limit"),
        pytest.param("--max-tokens", "-5", ">= 1", id="max-tokens"),
        pytest.param("--temperature", "-1", ">= 0 and <= 2", id="temperature"),
        pytest.param("--samples", "0", ">= 1", id="samples"),
        pytest.param("--concurrency", "0", ">= 1", id="concurrency"),
        pytest.param("--budget", "-1", "> 0", id="budget"),
        pytest.param("--seed", "-2", ">= 0", id="seed"),
        pytest.param("--max-unscored", "1.5", "<= 1", id="max-unscored"),
        pytest.param("--max-post-chars", "0", ">= 1", id="max-post-chars"),
        pytest.param("--batch-poll", "0", "> 0", id="batch-poll"),
        pytest.param("--limit", "three", "an integer", id="not-a-number"),
    ],
)
def test_numeric_flags_are_validated(
    flag: str, value: str, allowed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "run",
                "--benchmark",
                str(DEMO),
                "--judge",
                "openai/x",
                "--api-base",
                "http://127.0.0.1:9/v1",
                "--out",
                str(tmp_path / "r"),
                f"{flag}={value}",
            ]
        )
    err = capsys.readouterr().err
    assert exc.value.code == 2 and flag in err and value in err and allowed in err, err
    assert not (tmp_path / "r").exists()


def test_an_out_that_cannot_be_a_run_directory_is_refused_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("not a directory\n")
    stub = StubServer()
    with stub as url:
        for out in (afile, afile / "run"):
            rc, _, err = _run(
                [
                    "--benchmark",
                    str(DEMO),
                    "--judge",
                    "openai/stub-judge",
                    "--api-base",
                    url,
                    "--criteria",
                    "empathy",
                    "--out",
                    str(out),
                ],
                capsys,
            )
            assert rc == 2 and f"--out {out}" in err and "is a file" in err and "Traceback" not in err
        assert _calls(stub) == 0
    assert afile.read_text() == "not a directory\n"


# -- 7. portable runs ---------------------------------------------------------------------------------------------


def test_gate_reads_a_run_from_anywhere_and_after_a_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(DEMO, work / "cands")
    with StubServer() as url:
        monkeypatch.chdir(work)
        rc, _, _ = _run(
            [
                "--benchmark",
                "cands",
                "--judge",
                "openai/stub-judge",
                "--api-base",
                url,
                "--criteria",
                "empathy",
                "--out",
                "runs/pr",
            ],
            capsys,
        )
        assert rc == 0
    monkeypatch.chdir(elsewhere)  # another directory: the relative path recorded in the run means nothing here
    run = work / "runs" / "pr"
    assert main(["gate", "--write-baseline", "base.json", "--candidate", str(run)]) == 0
    capsys.readouterr()
    # a downloaded CI artifact: the run and its candidates somewhere else, the originals gone
    artifact = tmp_path / "artifact"
    shutil.copytree(run, artifact / "run")
    shutil.copytree(work / "cands", artifact / "candidates")
    shutil.rmtree(work)
    assert main(["gate", "--baseline", "base.json", "--candidate", str(artifact / "run")]) == 2
    assert "--benchmark DIR" in capsys.readouterr().err
    rc = main(
        [
            "gate",
            "--baseline",
            "base.json",
            "--candidate",
            str(artifact / "run"),
            "--benchmark",
            str(DEMO),
            "--benchmark",
            str(artifact / "candidates"),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    # a benchmark with other items is never taken for the run's
    other = tmp_path / "other"
    shutil.copytree(DEMO, other)
    items = (other / "items.jsonl").read_text().splitlines()
    (other / "items.jsonl").write_text("\n".join(items[:-1]) + "\n")
    assert (
        main(["gate", "--baseline", "base.json", "--candidate", str(artifact / "run"), "--benchmark", str(other)]) == 2
    )
    assert "content hash" in capsys.readouterr().err


# -- 8. the cached path loads no provider layer ------------------------------------------------------------------

PROBE = (
    "import sys; from judge.cli import main; rc = main(sys.argv[1:]); "
    "print('LOADED:' + ','.join(m for m in ('litellm', 'llama_cpp', 'openai') if m in sys.modules), "
    "file=sys.stderr); sys.exit(rc)"
)


def _probe(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
    res = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=300)
    loaded = [ln for ln in res.stderr.splitlines() if ln.startswith("LOADED:")]
    return res, (loaded[-1].removeprefix("LOADED:") if loaded else "?")


def test_cached_hosted_judge_with_auto_format_loads_no_provider_layer(tmp_path: Path) -> None:
    stub = StubServer(record=2)
    with stub as url:
        # a hosted model (no --api-base: the provider's API, here pointed at the stub the way LiteLLM allows)
        env = {**ENV, "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-test-not-a-real-key"}
        args = [
            "run",
            "--benchmark",
            str(DEMO),
            "--judge",
            "openai/gpt-4o-mini",
            "--criteria",
            "empathy",
            "--cache-dir",
            str(tmp_path / "c"),
            "--no-progress",
            "--json",
        ]
        first, loaded = _probe([*args, "--out", str(tmp_path / "a")], env)
        assert first.returncode == 0 and "litellm" in loaded, first.stderr
        assert stub.recorded[0].json()["response_format"]["type"] == "json_schema"  # 'auto' decided by LiteLLM
        second, loaded = _probe([*args, "--out", str(tmp_path / "b")], env)
    assert second.returncode == 0 and loaded == "", second.stderr
    assert json.loads(second.stdout)["cache_hits"] == 15


def test_cached_local_judge_loads_no_provider_layer_and_is_free(tmp_path: Path) -> None:
    bench = load_benchmark(DEMO)
    rubrics = load_rubric_set(default_rubrics_dir(), ["empathy"])
    spec = JudgeSpec(
        name="local/qwen2.5-1.5b", model="local/qwen2.5-1.5b", params={"temperature": 0.0, "max_tokens": 400}
    )
    cfg = RunConfig(
        benchmark=bench, rubrics=rubrics, judges=[spec], out=tmp_path / "unused", item_ids=list(bench.items)[:3]
    )
    cache = Cache(tmp_path / "c")
    for u in plan_units(cfg, set()):  # what the embedded judge answered earlier (the model is not needed here)
        content = default_responder({"messages": u.messages, "response_format": u.response_format})
        cache.put(u.key, CachedReply(content=content, tokens_in=100, tokens_out=20))
    cache.close()
    res, loaded = _probe(
        [
            "run",
            "--benchmark",
            str(DEMO),
            "--judge",
            "local",
            "--criteria",
            "empathy",
            "--limit",
            "3",
            "--cache-dir",
            str(tmp_path / "c"),
            "--out",
            str(tmp_path / "r"),
            "--no-progress",
            "--json",
        ],
        ENV,
    )
    assert res.returncode == 0 and loaded == "", res.stderr
    s = json.loads(res.stdout)
    assert s["cache_hits"] == 3 and s["scored"] == 3 and s["cost"] == "free (local)"


# -- 9. smaller things --------------------------------------------------------------------------------------------


def test_ray_without_ray_leaves_no_run_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the 'ray' extra were not installed
    rc, _, err = _run(
        [
            "--benchmark",
            str(DEMO),
            "--judge",
            "openai/stub-judge",
            "--api-base",
            "http://127.0.0.1:9/v1",
            "--ray",
            "local",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert rc == 2 and "pip install 'reappraisal-judge[ray]'" in err
    assert not (tmp_path / "r").exists()


def test_batch_run_prints_no_never_awaited_warning(tmp_path: Path) -> None:
    stub = StubServer()
    add_batch_routes(stub, complete_after=2)
    with stub as url:
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "judge",
                "run",
                "--benchmark",
                str(DEMO),
                "--judge",
                str(_judges_file(tmp_path, url)),
                "--criteria",
                "empathy",
                "--out",
                str(tmp_path / "r"),
                "--cache-dir",
                str(tmp_path / "c"),
                "--batch",
                "--batch-poll",
                "0.05",
                "--json",
            ],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        downloads = {p: n for p, n in stub.stats().by_path.items() if p.endswith("/content")}
    assert res.returncode == 0, res.stderr
    assert "never awaited" not in res.stderr and "RuntimeWarning" not in res.stderr, res.stderr
    assert list(downloads.values()) == [1]  # the output file is read once (LiteLLM's batch logging read it again)


def test_generate_builtin_system_on_a_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stub = StubServer()
    with stub as url:
        rc = main(
            [
                "generate",
                "--posts",
                str(DEMO),
                "--system",
                "vanilla",
                "--model",
                "openai/stub-writer",
                "--api-base",
                url,
                "--limit",
                "2",
                "--out",
                str(tmp_path / "cands"),
                "--json",
            ]
        )
        assert rc == 0 and _calls(stub) == 2
    s = json.loads(capsys.readouterr().out)
    assert s["items"] == 2 and s["model_calls"] == 2
    items = load_benchmark(tmp_path / "cands").items.values()
    assert {it.system["model"] for it in items} == {"openai/stub-writer"}


def test_records_keep_the_seed_sent_and_old_records_still_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = StubServer(record=20)
    with stub as url:
        rc, _, _ = _run(
            [
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
                "--samples",
                "2",
                "--seed",
                "7",
                "--out",
                str(tmp_path / "r"),
            ],
            capsys,
        )
        sent = sorted(r.json()["seed"] for r in stub.recorded)
    assert rc == 0 and sent == [7, 7, 8, 8]
    records = iter_records(tmp_path / "r")
    assert sorted(j.seed for j in records) == [7, 7, 8, 8] and all(j.seed == 7 + j.sample for j in records)
    assert {j.record_version for j in records} == {RECORD_VERSION}
    # a record written before version 2 (no seed, a float cost) is still read
    old = {"record_version": 1, "item_id": "x", "criterion": "empathy", "judge": "old", "score": 3.0, "cost_usd": 0.0}
    with (tmp_path / "r" / RECORDS).open("a") as fh:
        fh.write(json.dumps(old) + "\n")
    assert any(j.judge == "old" and j.seed is None for j in iter_records(tmp_path / "r"))

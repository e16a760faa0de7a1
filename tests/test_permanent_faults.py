"""Faults that retrying cannot fix are named as such (issue 25, point 3): a server URL without a scheme, and any
error of ours behind a provider exception. (The model and cache directories and models that do not load:
tests/test_models_registry.py and tests/test_cache_writers.py.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from judge.cli import main
from judge.engine.client import ProviderError, classify
from judge.engine.judge_spec import api_base_problem, judge_from_model
from judge.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("127.0.0.1:8080/v1", "expected a URL starting with http:// or https:// (e.g. http://127.0.0.1:8080/v1)"),
        ("localhost:8080", "expected a URL starting with http:// or https:// (e.g. http://localhost:8080)"),
        ("ftp://host/v1", "expected a URL starting with http:// or https:// (e.g. http://host/v1)"),
        ("http:///v1", "expected a URL with a host (e.g. http://127.0.0.1:8080/v1)"),
        ("http://127.0.0.1:8080/v1", None),
        ("https://gpu.example.org/v1/", None),
    ],
)
def test_api_base_needs_a_scheme_and_a_host(url: str, problem: str | None) -> None:
    assert api_base_problem(url) == problem


def test_api_base_without_a_scheme_is_refused_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t0 = time.monotonic()
    rc = main(["run", "--benchmark", str(DEMO), "--judge", "openai/qwen", "--api-base", "127.0.0.1:9/v1",
               "--out", str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and err == (
        "error: --api-base: expected a URL starting with http:// or https:// (e.g. http://127.0.0.1:9/v1), got "
        "'127.0.0.1:9/v1'\n"
    )
    assert time.monotonic() - t0 < 10  # not 7 attempts over 30 s
    assert not (tmp_path / "run").exists()


def test_api_base_in_a_judge_config_names_the_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "judges.toml"
    cfg.write_text(
        '[judges.srv]\nmodel = "openai/qwen"\napi_base = "localhost:8080/v1"\n'
        '[judges.pool]\nmodel = "openai/qwen"\ndeployments = [{api_base = "gpu-1:8000/v1"}]\n'
    )
    rc = main(["run", "--benchmark", str(DEMO), "--judge", str(cfg), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{cfg}: judges.srv: api_base: Value error, expected a URL starting with http:// or https://" in err
    assert f"{cfg}: judges.pool: deployments[0].api_base: Value error, expected a URL starting with" in err


def test_api_base_of_a_generating_system_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    system = tmp_path / "sys.yaml"
    system.write_text("name: mine\nmodel: openai/qwen\napi_base: 127.0.0.1:9/v1\ntemplate: 'Reply to: {post}'\n")
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"post_id": "p1", "post": "I failed my exam."}\n')
    rc = main(["generate", "--posts", str(posts), "--system", str(system), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "system mine: api_base: expected a URL starting with http:// or https://" in err
    assert not (tmp_path / "out" / "generation.json").exists()


def test_a_library_call_gets_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--api-base: expected a URL"):
        judge_from_model("openai/x", "host:1")


def test_our_error_behind_a_provider_exception_is_permanent_and_keeps_its_words() -> None:
    class BadRequestError(Exception):  # what LiteLLM raises around a custom provider's exception
        pass

    cause = UsageError("JUDGE_MODEL_DIR=/x: /x is a file, not a directory; set it to a directory you can write")
    try:
        try:
            raise cause
        except UsageError as inner:
            raise BadRequestError("litellm.BadRequestError: ...") from inner
    except BadRequestError as outer:
        err = classify(outer, None)
    assert isinstance(err, ProviderError) and str(err) == str(cause)

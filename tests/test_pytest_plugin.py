"""The pytest plugin, run in a child pytest against a loopback stub judge: the score a test asserts on, the shared
cache (a second session makes no call), the unscored case failing the test, and the options' wiring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from tests.support.stub import StubServer

TEST_FILE = """
POST = "I failed my exam and I feel like giving up."

def test_kind_reply_scores_well(reappraisal_judge):
    assert reappraisal_judge.score(POST, "That sounds painful; one exam does not define you.", "empathy") >= 3

def test_cold_reply_scores_low(reappraisal_judge):
    assert reappraisal_judge.score(POST, "Whatever. Study harder.", "empathy") <= 2

def test_judgment_details(reappraisal_judge):
    j = reappraisal_judge.judgment(POST, "Whatever. Study harder.", "alignment_with_standards", dimension=4)
    assert j.score is not None and j.rubric.startswith("alignment_with_standards@")
"""


def _responder(request: dict[str, Any]) -> str:
    """Empathy 4 for a kind reply, 1 for a cold one; 7 for alignment; unreadable text for 'GARBLE'."""
    text = json.dumps(request["messages"])
    if "GARBLE" in text:
        return "no idea"
    if "alignment" in text.lower() and "dimension" in text.lower() and "Problem-focused" in text:
        return json.dumps({"rationale": "ok", "score": 7})
    return json.dumps({"rationale": "r", "score": 4 if "does not define you" in text else 1})


def _pytest(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "JUDGE_CACHE_DIR": str(tmp / "cache")}
    # Once the pytest11 entry point is installed pytest loads the plugin itself; loading it twice is an error.
    installed = any(ep.value == "judge.jobs.pytest_plugin" for ep in entry_points(group="pytest11"))
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *([] if installed else ["-p", "judge.jobs.pytest_plugin"]),
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(tmp),
        "--judge-model",
        "openai/stub-judge",
        "--judge-api-base",
        url,
        *extra,
    ]
    return subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.slow  # child processes: each imports LiteLLM
def test_fixture_scores_and_second_session_is_all_cache(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(TEST_FILE)
    stub = StubServer(responder=_responder, record=50)
    with stub as url:
        first = _pytest(tmp_path, url, "test_app.py")
        calls = stub.stats().requests_total
        sent = [r.json() for r in stub.recorded]
        second = _pytest(tmp_path, url, "test_app.py")
        assert stub.stats().requests_total == calls  # the same cache and keys: nothing asked twice
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 passed" in first.stdout and second.returncode == 0
    assert calls == 3 and all(r["model"] == "stub-judge" and r["temperature"] == 0.0 for r in sent)


@pytest.mark.slow  # child processes: each imports LiteLLM
def test_unscored_answer_fails_the_test_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "test_garble.py").write_text(
        "def test_g(reappraisal_judge):\n    assert reappraisal_judge.score('GARBLE post', 'reply', 'empathy') >= 0\n"
    )
    with StubServer(responder=_responder) as url:
        res = _pytest(tmp_path, url, "test_garble.py")
    assert res.returncode == 1 and "UnscoredJudgment" in res.stdout and "gave no score" in res.stdout


@pytest.mark.parametrize("criterion", ["nonsense"])
def test_unknown_criterion_is_a_usage_error(tmp_path: Path, criterion: str) -> None:
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.judge_spec import judge_from_model
    from judge.jobs.pytest_plugin import ReappraisalJudge

    j = ReappraisalJudge(judge_from_model("openai/x", "http://127.0.0.1:9/v1"), load_rubric_set(default_rubrics_dir()))
    with pytest.raises(pytest.UsageError, match="unknown criterion 'nonsense'"):
        j.score("p", "r", criterion)


def test_calibrated_score_and_stale_calibrator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from judge.analysis.calibration import Calibrator, LinearMap
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.judge_spec import judge_from_model
    from judge.engine.prompt import prompt_hash
    from judge.errors import StaleArtifact
    from judge.jobs.pytest_plugin import DEFAULT_PARAMS, ReappraisalJudge

    rubrics = load_rubric_set(default_rubrics_dir())
    with StubServer(responder=_responder) as url:
        spec = judge_from_model("openai/stub-judge", url, dict(DEFAULT_PARAMS))
        cal = Calibrator(
            judge="j",
            judge_model=spec.model,
            judge_params=dict(DEFAULT_PARAMS),
            rubrics={"empathy": rubrics["empathy"].ref},
            prompt_hash=prompt_hash(rubrics["empathy"]),
            benchmark="b",
            method="linear",
            maps={"empathy": LinearMap(slope=0.5, intercept=1.0, low=1, high=5)},
        )
        j = ReappraisalJudge(spec, rubrics, cache_dir=tmp_path / "c", calibrator=cal)
        kind = "That sounds painful; one exam does not define you."
        # Raw 4 (the stub's answer for a kind reply); calibrated 1.0 + 0.5 * 4 = 3.0.
        assert j.score("post", kind, "empathy", calibrated=False) == 4.0
        assert j.score("post", kind, "empathy") == pytest.approx(3.0)
        assert j.calls == 1  # the second score came from the cache
        stale = ReappraisalJudge(
            spec.model_copy(update={"params": {"temperature": 0.7}}), rubrics, cache_dir=tmp_path / "c", calibrator=cal
        )
        with pytest.raises(StaleArtifact, match="temperature"):
            stale.score("post", kind, "empathy")

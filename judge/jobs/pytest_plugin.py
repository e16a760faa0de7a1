"""pytest plugin: assert on judge scores of your prompt's responses in ordinary tests.

Registered through the ``pytest11`` entry point (or ``-p judge.jobs.pytest_plugin``). It adds the session fixture
``reappraisal_judge``::

    def test_reply_is_empathic(reappraisal_judge):
        reply = my_app.reply(post)
        assert reappraisal_judge.score(post, reply, "empathy") >= 3

The judge defaults to the embedded local model; choose another with ``--judge-model`` (or
``$REAPPRAISAL_JUDGE_MODEL``), a server with ``--judge-api-base``, and calibrated scores with
``--judge-calibrator FILE`` (``judge calibrate`` output). Calls go through the same reply cache and cache keys as
``judge run`` (temperature 0, max_tokens 400, seed 0), so a re-run of an unchanged test makes no model call.
An unscored judgment fails the test with its reason: it is never read as a low or a high score.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from judge.analysis.calibration import Calibrator
    from judge.data.rubric import Rubric
    from judge.engine.judge_spec import JudgeSpec
    from judge.engine.judgment import Judgment

DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 400}  # same as `judge run`: shared cache


class UnscoredJudgment(AssertionError):
    """The judge gave no usable score (unreadable answer, API error...): the assertion cannot be decided."""


class ReappraisalJudge:
    """Scores one response at a time with a rubric criterion, through the run engine's cache and parser.

    Args:
        spec: the judge.
        rubrics: criterion -> rubric.
        cache_dir: reply cache (default: ``$JUDGE_CACHE_DIR`` or the user cache, read at each call).
        calibrator: optional; ``score(..., calibrated=None)`` then returns calibrated scores.
    """

    def __init__(
        self,
        spec: JudgeSpec,
        rubrics: dict[str, Rubric],
        cache_dir: Path | None = None,
        calibrator: Calibrator | None = None,
    ) -> None:
        self.spec = spec
        self.rubrics = rubrics
        self.cache_dir = cache_dir
        self.calibrator = calibrator
        self.calls = 0

    def judgment(self, post: str, response: str, criterion: str, dimension: int | None = None) -> Judgment:
        """The full judgment (score or unscored reason, rationale) of one response."""
        from judge.data import Item
        from judge.engine import Cache, call_judge, plan_unit

        rubric = self._rubric(criterion)
        dim = rubric.dimension(dimension)
        item = Item(
            item_id="pytest",
            post_id="pytest",
            post=post,
            response=response,
            dimension_id=dimension,
            dimension_aim=dim.aim if dim else None,
            standards=dim.standards if dim else None,
        )
        # The unit `judge run` would plan (prompt, response format, post cut for local judges, cache key), so a
        # test and a run share cache entries.
        u = plan_unit(self.spec, rubric, item)
        cache = Cache(self.cache_dir)
        try:
            reply = cache.get(u.key)
            if reply is not None:
                return u.judgment(reply, cache_hit=True)
            res = asyncio.run(call_judge(self.spec, u.messages, u.response_format, u.seed))
            self.calls += 1
            if res.reply is not None:
                cache.put(u.key, res.reply)
            return u.judgment(res.reply, cache_hit=False, attempts=res.attempts, error=res.error, overflow=res.overflow)
        finally:
            cache.close()

    def score(
        self,
        post: str,
        response: str,
        criterion: str,
        dimension: int | None = None,
        calibrated: bool | None = None,
    ) -> float:
        """The score of ``response`` on ``criterion`` (calibrated when a calibrator is configured, unless
        ``calibrated=False``).

        Raises:
            UnscoredJudgment: the judge gave no usable score (the reason and raw answer are in the message).
        """
        j = self.judgment(post, response, criterion, dimension)
        if j.score is None:
            raise UnscoredJudgment(
                f"{criterion}: the judge {self.spec.model} gave no score ({j.unscored_reason}: {j.detail}); "
                f"raw answer: {(j.raw_output or '')[:200]!r}"
            )
        use = self.calibrator is not None if calibrated is None else calibrated
        if not use:
            return j.score
        if self.calibrator is None:
            raise pytest.UsageError("calibrated=True needs --judge-calibrator FILE")
        from judge.engine.plan import judge_prompt_hash

        self.calibrator.check_compatible(
            self.spec.model,
            self.spec.params,
            {criterion: self._rubric(criterion).ref},
            judge_prompt_hash(self.spec, self._rubric(criterion)),
        )
        return self.calibrator.apply(criterion, j.score)

    def _rubric(self, criterion: str) -> Rubric:
        if criterion not in self.rubrics:
            raise pytest.UsageError(f"unknown criterion {criterion!r}; expected one of {sorted(self.rubrics)}")
        return self.rubrics[criterion]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reappraisal-judge", "LLM-as-judge assertions (reappraisal_judge fixture)")
    group.addoption(
        "--judge-model",
        default=None,
        help="judge model: LiteLLM string or 'local' (default $REAPPRAISAL_JUDGE_MODEL or local)",
    )
    group.addoption(
        "--judge-api-base", default=None, help="OpenAI-compatible server (default $REAPPRAISAL_JUDGE_API_BASE)"
    )
    group.addoption("--judge-rubrics", default=None, help="rubric file or directory (default: bundled RESORT rubrics)")
    group.addoption(
        "--judge-calibrator", default=None, help="calibrator JSON from 'judge calibrate' (default: raw scores)"
    )
    group.addoption("--judge-cache-dir", default=None, help="reply cache (default $JUDGE_CACHE_DIR)")


def _opt(config: pytest.Config, name: str, env: str) -> str | None:
    value = config.getoption(name)
    return str(value) if value else os.environ.get(env) or None


@pytest.fixture(scope="session")
def reappraisal_judge(pytestconfig: pytest.Config) -> ReappraisalJudge:
    """A judge to score responses in tests: ``reappraisal_judge.score(post, response, "empathy") >= 3``."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm
    from judge.analysis.calibration import Calibrator
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.judge_spec import judge_from_model

    model = _opt(pytestconfig, "--judge-model", "REAPPRAISAL_JUDGE_MODEL") or "local"
    api_base = _opt(pytestconfig, "--judge-api-base", "REAPPRAISAL_JUDGE_API_BASE")
    rubrics = load_rubric_set(
        _opt(pytestconfig, "--judge-rubrics", "REAPPRAISAL_JUDGE_RUBRICS") or default_rubrics_dir()
    )
    cal_path = _opt(pytestconfig, "--judge-calibrator", "REAPPRAISAL_JUDGE_CALIBRATOR")
    cache_dir = _opt(pytestconfig, "--judge-cache-dir", "REAPPRAISAL_JUDGE_CACHE_DIR")
    return ReappraisalJudge(
        judge_from_model(model, api_base, dict(DEFAULT_PARAMS)),
        rubrics,
        cache_dir=Path(cache_dir) if cache_dir else None,
        calibrator=Calibrator.load(cal_path) if cal_path else None,
    )

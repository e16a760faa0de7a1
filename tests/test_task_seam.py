"""The judge-task seam (issue 28, point 1): a new task runs through the runner, cache, store, budget and resume
without touching them.

The toy task below ("is this reply longer than N words? yes/no") is defined here, in the test file, and registered
with ``register_task``; it is run end to end through ``run_judging`` against the loopback stub over real HTTP,
killed with SIGKILL part-way and resumed, then re-run from the cache without a call. The absolute-scoring task keeps
its exact prompts and cache keys (a digest of a fixed plan computed on the commit before the seam), and records
without a ``task`` field still read as scores.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from judge.data import Item, load_benchmark, load_rubric_set
from judge.engine.cache import CachedReply, cache_key
from judge.engine.judge_spec import JudgeSpec
from judge.engine.plan import RunConfig, plan_unit, plan_units
from judge.engine.runner import run_judging
from judge.engine.store import RECORDS, iter_records, iter_task_records, load_run_manifest, stream_task_records
from judge.engine.task import get_task, record_adapter, register_task, task_names, unregister_task
from judge.errors import RunIncomplete, UsageError
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
CHAT = "POST /v1/chat/completions"


# -- the toy task, defined outside the engine ------------------------------------------------------------------


class LongerRecord(BaseModel):
    """The toy task's record: did the judge say the reply is longer than N words?"""

    model_config = ConfigDict(extra="forbid")

    task: Literal["longer_than"] = "longer_than"
    judge: str
    item_id: str
    item_hash: str | None = None
    answer: bool | None = None
    unscored_reason: str | None = None
    raw_output: str | None = None
    cache_key: str = ""
    cache_hit: bool = False
    attempts: int = 0
    cost_usd: float | None = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        return (self.judge, self.item_id)

    @property
    def scored(self) -> bool:
        return self.answer is not None

    def judged_items(self) -> list[tuple[str, str | None]]:
        return [(self.item_id, self.item_hash)]


SCHEMA = {
    "type": "object",
    "properties": {"rationale": {"type": "string"}, "answer": {"enum": ["yes", "no"]}},
    "required": ["rationale", "answer"],
}


@dataclass
class LongerUnit:
    judge: JudgeSpec
    item: Item
    messages: list[dict[str, str]]
    response_format: dict[str, Any] | None
    seed: int
    key: str

    @property
    def judgment_key(self) -> tuple[str, str]:
        return (self.judge.name, self.item.item_id)

    def judgment(
        self,
        reply: CachedReply | None,
        *,
        cache_hit: bool,
        attempts: int = 0,
        error: str | None = None,
        overflow: bool = False,
    ) -> LongerRecord:
        meta = dict(
            judge=self.judge.name, item_id=self.item.item_id, item_hash=self.item.content_hash, cache_key=self.key,
            cache_hit=cache_hit, attempts=attempts,
        )  # fmt: skip
        if reply is None:
            return LongerRecord(**meta, unscored_reason="api_error")
        try:
            answer = json.loads(reply.content or "")["answer"]
        except (ValueError, KeyError, TypeError):
            return LongerRecord(**meta, unscored_reason="parse_failure", raw_output=reply.content)
        return LongerRecord(
            **meta, answer=answer == "yes", raw_output=reply.content, tokens_in=reply.tokens_in,
            tokens_out=reply.tokens_out, cost_usd=0.0 if cache_hit else reply.cost_usd,
        )  # fmt: skip


class LongerThan:
    """Is the reply longer than ``words`` words? One unit per (judge, item)."""

    name: ClassVar[str] = "longer_than"
    record_type: ClassVar[type[LongerRecord]] = LongerRecord

    def __init__(self, words: int = 40) -> None:
        self.words = words

    def units(self, cfg: RunConfig, done: set[Any]) -> Iterator[LongerUnit]:
        for judge in cfg.judges:
            for item_id in cfg.selected_ids():
                if (judge.name, item_id) in done:
                    continue
                item = cfg.benchmark.items[item_id]
                messages = [
                    {"role": "system", "content": f"Is the reply longer than {self.words} words? Answer yes or no."},
                    {"role": "user", "content": item.response},
                ]
                rf = {"type": "json_object", "schema": SCHEMA}
                key = cache_key(
                    model_identity=judge.identity(), messages=messages, response_format=rf,
                    rubric_ref=f"longer_than:{self.words}", sample=0, seed=cfg.seed,
                )  # fmt: skip
                yield LongerUnit(judge, item, messages, rf, cfg.seed, key)

    def size(self, cfg: RunConfig) -> int:
        return len(cfg.judges) * len(cfg.selected_ids())

    def selected(self, cfg: RunConfig, keys: set[Any]) -> int:
        judges, ids = {j.name for j in cfg.judges}, set(cfg.selected_ids())
        return sum(j in judges and i in ids for j, i in keys)

    def prompt_hash(self, cfg: RunConfig) -> str:
        return f"longer-{self.words}"

    def options(self) -> dict[str, Any]:
        return {"words": self.words}


@pytest.fixture
def toy_task() -> Iterator[type[LongerThan]]:
    register_task(LongerThan)
    yield LongerThan
    unregister_task(LongerThan.name)


def _cfg(url: str, out: Path, cache: Path, **kw: Any) -> RunConfig:
    bench = load_benchmark(DEMO)
    rubrics = load_rubric_set(ROOT / "rubrics" / "resort", ["empathy"])
    judge = JudgeSpec(name="stub", model="openai/stub-judge", api_base=url, max_retries=0)
    return RunConfig(
        benchmark=bench, rubrics=rubrics, judges=[judge], out=out, cache_dir=cache, progress=False,
        task=LongerThan(40), concurrency=2, **kw,
    )  # fmt: skip


def child_run(url: str, out: str, cache: str) -> None:
    """What the killed process runs: the toy task registered, then the run (called from a subprocess)."""
    register_task(LongerThan)
    run_judging(_cfg(url, Path(out), Path(cache)))


def test_a_toy_task_runs_end_to_end_resumes_after_kill_9_and_hits_the_cache(toy_task: Any, tmp_path: Path) -> None:
    assert LongerThan.__module__ == __name__  # defined here: no engine module knows it
    out, cache = tmp_path / "run", tmp_path / "cache"
    n_items = len(load_benchmark(DEMO).items)
    stub = StubServer(latency_s=0.15)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}
    with stub as url:
        code = f"from tests.test_task_seam import child_run; child_run({url!r}, {str(out)!r}, {str(cache)!r})"
        p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and p.poll() is None:
            if (out / RECORDS).exists() and len((out / RECORDS).read_text().splitlines()) >= 3:
                break
            time.sleep(0.02)
        assert p.poll() is None, p.stderr.read() if p.stderr else ""
        p.send_signal(signal.SIGKILL)
        p.wait()
        if p.stderr:
            p.stderr.close()
        before = len(iter_task_records(out))
        assert 3 <= before < n_items
        summary = run_judging(_cfg(url, out, cache))  # resumed in this process
        calls = stub.stats().by_path[CHAT]
        again = run_judging(_cfg(url, tmp_path / "again", cache))  # another run dir, same cache
        assert stub.stats().by_path[CHAT] == calls  # no call: every answer came from the cache
    assert summary.complete and summary.judgments == n_items and summary.task == "longer_than"
    assert calls <= n_items + 2  # at most the calls in flight at the kill were paid twice
    lines = [json.loads(line) for line in (out / RECORDS).read_text().splitlines()]
    keys = [(r["judge"], r["item_id"]) for r in lines]
    assert len(keys) == len(set(keys)) == n_items and all(r["task"] == "longer_than" for r in lines)
    recs = list(stream_task_records(out))
    assert all(isinstance(r, LongerRecord) and r.scored for r in recs)
    assert again.cache_hits == n_items and again.model_calls == 0
    manifest = load_run_manifest(out)
    assert (manifest.task, manifest.task_options) == ("longer_than", {"words": 40})
    assert iter_records(out) == []  # not score records: the score readers leave them out


def test_a_toy_task_run_is_not_resumed_as_another_task_or_options(toy_task: Any, tmp_path: Path) -> None:
    with StubServer() as url:
        run_judging(_cfg(url, tmp_path / "run", tmp_path / "c", item_ids=["demo:exam-careful"]))
        cfg = _cfg(url, tmp_path / "run", tmp_path / "c", item_ids=["demo:exam-careful"])
        cfg.task = LongerThan(10)
        with pytest.raises(UsageError, match=r"task 'longer_than'.*words.*choose a new --out"):
            run_judging(cfg)
        cfg.task = None  # scoring into the same directory
        with pytest.raises(UsageError, match="not of 'score'"):
            run_judging(cfg)


def test_a_toy_task_keeps_the_budget(toy_task: Any, tmp_path: Path) -> None:
    with StubServer() as url:
        cfg = _cfg(url, tmp_path / "run", tmp_path / "c", budget_usd=1e-9)
        cfg.judges = [cfg.judges[0].model_copy(update={"input_price_per_mtok": 5.0, "output_price_per_mtok": 5.0})]
        with pytest.raises(RunIncomplete, match="budget"):
            run_judging(cfg)


# -- the registry ----------------------------------------------------------------------------------------------------


def test_unknown_task_names_fail_loudly_with_a_suggestion() -> None:
    assert {"score", "pairwise"} <= set(task_names())
    with pytest.raises(UsageError, match=r"unknown judge task 'pairwse'; did you mean 'pairwise'\?.*known tasks"):
        get_task("pairwse")


def test_a_task_needs_a_record_type_with_a_task_field_and_a_free_name() -> None:
    class NoRecord:
        name = "no_record"

    with pytest.raises(ValueError, match="record_type"):
        register_task(NoRecord)

    class Taken:
        name = "score"
        record_type = LongerRecord

    with pytest.raises(ValueError, match="already registered"):
        register_task(Taken)


def test_the_cli_refuses_an_unknown_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from judge.cli import main

    rc = main(["run", "--task", "scroe", "--benchmark", str(DEMO), "--judge", "openai/x", "--out", str(tmp_path / "r")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown judge task 'scroe'; did you mean 'score'?" in err and "Traceback" not in err


# -- absolute scoring did not move -----------------------------------------------------------------------------------

# The digest of a fixed plan's cache keys, messages, response formats, seeds, prompt hashes and flags, computed on
# commit 1f7144a (before the seam) by the same function: absolute scoring sends byte-identical requests under the
# same keys, so every existing cache entry still answers.
FIXED_PLAN = (600, "b15f61120177044044afecc52973b40e59c2c67524320e7eca38ce23499b8bad")


def fixed_plan_digest() -> tuple[int, str]:
    bench = load_benchmark(DEMO)
    rubrics = load_rubric_set(ROOT / "rubrics" / "resort")
    base = "http://127.0.0.1:9/v1"
    judges = [
        JudgeSpec(name="std", model="openai/stub", api_base=base, params={"temperature": 0}),
        JudgeSpec(name="schema", model="openai/gpt-4o-mini", response_format="json_schema", params={"max_tokens": 9}),
        JudgeSpec(name="compact", model="openai/stub", api_base=base, prompt_style="compact", scoring="expected"),
        JudgeSpec(name="all", model="openai/stub", api_base=base, criteria_per_call="all"),
        JudgeSpec(name="local", model="local/qwen2.5-1.5b"),
    ]
    cfg = RunConfig(benchmark=bench, rubrics=rubrics, judges=judges, out=Path("/nonexistent"), samples=2, seed=7)
    h = hashlib.sha256()
    n = 0
    for u in plan_units(cfg, set()):
        h.update(json.dumps([u.key, u.messages, u.response_format, u.seed, u.prompt_hash, u.flags]).encode())
        n += 1
    one = plan_unit(judges[0], next(iter(rubrics.values())), next(iter(bench.items.values())), sample=1, seed=3)
    h.update(one.key.encode())
    return n, h.hexdigest()


def test_absolute_scoring_keeps_its_prompts_and_cache_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):  # a hosted judge's endpoint is read from these
        monkeypatch.delenv(var, raising=False)
    assert fixed_plan_digest() == FIXED_PLAN


def test_records_without_a_task_field_read_as_scores() -> None:
    old = {"record_version": 4, "item_id": "x", "criterion": "empathy", "judge": "old", "score": 3.0}
    rec = record_adapter().validate_json(json.dumps(old))
    assert type(rec).__name__ == "Judgment" and rec.task == "score" and rec.key == ("old", "x", "empathy", 0)
    pair = record_adapter().validate_python(
        {"task": "pairwise", "judge": "j", "criterion": "empathy", "item_a": "a", "item_b": "b", "order": "ba"}
    )
    assert type(pair).__name__ == "PairJudgment" and not pair.scored


def test_a_run_written_before_tasks_existed_resumes_without_a_call(tmp_path: Path) -> None:
    from judge.engine.store import MANIFEST

    out, cache = tmp_path / "run", tmp_path / "c"
    stub = StubServer()
    with stub as url:
        cfg = _cfg(url, out, cache)
        cfg.task = None  # scores
        first = run_judging(cfg)
        # What a run of the previous version left: records without "task" (version 4), a manifest without it.
        lines = [json.loads(line) for line in (out / RECORDS).read_text().splitlines()]
        for r in lines:
            del r["task"]
            r["record_version"] = 4
        (out / RECORDS).write_text("".join(json.dumps(r) + "\n" for r in lines))
        manifest = json.loads((out / MANIFEST).read_text())
        del manifest["task"], manifest["task_options"]
        (out / MANIFEST).write_text(json.dumps(manifest))
        calls = stub.stats().by_path[CHAT]
        cfg2 = _cfg(url, out, tmp_path / "other-cache")  # no cache to fall back on: the records must stand
        cfg2.task = None
        again = run_judging(cfg2)
        assert stub.stats().by_path[CHAT] == calls
    assert again.judgments == first.judgments and again.model_calls == 0
    assert [j.key for j in iter_records(out)] == [
        tuple(r[k] for k in ("judge", "item_id", "criterion", "sample")) for r in lines
    ]

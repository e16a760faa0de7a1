"""A generated corpus of hostile inputs (issue 25, point 6): every file kind the tool reads, mutated, through every
verb that reads it (``benchmarks/reliability/corpus.py`` says how cases are made and classified).

Hypothesis picks the cases. The ``corpus-ci`` profile (the default) keeps this file near a minute on a busy machine;
``CORPUS_PROFILE=corpus-big`` tries many more. ``python -m benchmarks.reliability.corpus`` runs a large corpus and
writes ``reports/reliability/corpus.md``.

For every case: exit 0 (or a documented result code) or 2, never a traceback, never a partial output, and where it
exits 0 the result equals the clean file's, or a warning says why not, or the mutation changed what the file says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from benchmarks.reliability.corpus import (
    FAILURES,
    OPS,
    CaseResult,
    Corpus,
    CorpusReport,
    mutate,
    ops_for,
    render_corpus,
)
from benchmarks.reliability.corpus_inputs import TARGETS, Target

settings.register_profile(
    "corpus-ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("corpus-big", max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile(os.environ.get("CORPUS_PROFILE", "corpus-ci"))
PAIRS = [(t, op) for t in TARGETS for op in ops_for(t)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The clean inputs of every kind, made by the real CLI, and every verb's result on them."""
    return Corpus(tmp_path_factory.mktemp("corpus"))


def _explain(results: list[CaseResult]) -> str:
    return "\n".join(f"{r.kind} / {r.verb} / {r.op} ({r.note}): {r.outcome}: {r.detail}" for r in results)


@PROFILE
@given(pair=st.sampled_from(PAIRS), seed=st.integers(0, 2**31 - 1))
def test_a_mutated_input_ends_clean(corpus: Corpus, pair: tuple[Target, str], seed: int) -> None:
    target, op = pair
    results = corpus.check(target, op, seed)
    bad = [r for r in results if r.outcome in FAILURES]
    assert not bad, _explain(bad)


def test_every_kind_is_read_by_a_verb_and_mutated_many_ways() -> None:
    kinds = {t.kind for t in TARGETS}
    assert len(kinds) == len(TARGETS) >= 20
    for t in TARGETS:
        assert t.verbs, t.kind
        assert len(ops_for(t)) >= 6, (t.kind, ops_for(t))
    for op in OPS:  # every mutation applies to some kind
        assert any(op in ops_for(t) for t in TARGETS), op


@pytest.mark.parametrize(
    ("kind", "op", "outcome"),
    [
        pytest.param("benchmark ratings", "off-scale", "clean error", id="rating-off-scale"),
        pytest.param("benchmark ratings", "nfd-names", "accepted-equal", id="ratings-nfd"),
        pytest.param("table: XLSX wide", "formula-no-value", "clean error", id="xlsx-formula"),
        pytest.param("table: XLSX wide", "value-under-no-header", "clean error", id="xlsx-no-header"),
        pytest.param("table: CSV long", "padded-names", "accepted-equal", id="csv-padded-names"),
        pytest.param("run records", "nest-deep", "clean error", id="records-nested"),
        pytest.param("gate baseline", "off-scale", "clean error", id="baseline-off-scale"),
        pytest.param("rubric", "duplicate-key", "clean error", id="rubric-duplicate-key"),
        pytest.param("gate config", "duplicate-key", "clean error", id="toml-duplicate-key"),
    ],
)
def test_known_cases_end_as_they_should(corpus: Corpus, kind: str, op: str, outcome: str) -> None:
    """Cases whose outcome is known in advance, whatever the seed: the classification itself is checked."""
    target = next(t for t in TARGETS if t.kind == kind)
    results = corpus.check(target, op, 1)
    assert results, (kind, op)
    assert {r.outcome for r in results} == {outcome}, _explain(results)


def test_a_few_cases_through_the_real_console_script(corpus: Corpus, tmp_path: Path) -> None:
    """The same cases in a real ``python -m judge`` process: exit 2, one message, no traceback, nothing written."""
    cases = [("benchmark ratings", "latin-1"), ("table: CSV per rater", "utf-16")]
    env = {k: v for k, v in os.environ.items() if k != "JUDGE_DEBUG"} | {"JUDGE_CACHE_DIR": str(tmp_path / "c")}
    for kind, op in cases:
        target = next(t for t in TARGETS if t.kind == kind)
        m = mutate(target, (corpus.base.root / target.path).read_bytes(), op, 7)
        assert m is not None
        case = tmp_path / kind.replace(" ", "-").replace(":", "")
        shutil.copytree(corpus.base.root, case)
        (case / target.path).write_bytes(m.data)
        verb = target.verbs[0]
        p = subprocess.run([sys.executable, "-m", "judge", *verb.argv], cwd=case, env=env, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
        assert p.returncode == 2, (kind, op, p.stderr)
        assert "Traceback" not in p.stderr and p.stderr.startswith("error: "), p.stderr
        assert target.path.split("/")[-1] in p.stderr, p.stderr  # names the file
        assert verb.writes is None or not (case / verb.writes).exists()


def test_the_report_counts_and_renders(corpus: Corpus) -> None:
    from benchmarks.reliability.corpus import run_corpus

    rep = run_corpus(corpus.work, 3, seed=5, corpus=corpus)
    assert isinstance(rep, CorpusReport) and rep.cases == 3 and rep.runs >= 3
    assert sum(rep.outcomes.values()) == rep.runs
    text = render_corpus(rep, "python -m benchmarks.reliability.corpus --cases 3")
    assert "| outcome | runs |" in text and "## By file kind and verb" in text
    json.dumps(rep.model_dump(mode="json"))

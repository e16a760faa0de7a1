"""Shared test setup: offline LiteLLM, the RESORT release path, and the --runapi switch for paid-API tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Must be set before anything imports litellm: otherwise it fetches a cost map from the network at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# pytest-xdist's workers (the README's test command runs two) start with COLUMNS=80 in their environment, so every
# text would be laid out for an 80-column terminal, unlike a user's pipe or CI log. Tests that mean a width set
# COLUMNS themselves (monkeypatch) or run in a real pseudo-terminal (tests/support/tty.py).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    # With a worker per core, each worker's embedded model gets one llama.cpp thread. The engine picks its threads
    # from the cores idle when it loads; a worker that loads while the other is between tests takes both cores,
    # then shares them for the rest of the session, and llama.cpp's threads wait for each other at every layer: the
    # 0.5B's tests took 2-6x longer that way (measured: the real-model modules 266 s -> 248 s on 2 cores).
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) >= (os.cpu_count() or 1):
        os.environ.setdefault("JUDGE_LOCAL_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
# The release sits beside the project (../shared); RESORT_RELEASE points elsewhere (the mutation run works in a copy).
RESORT = Path(os.environ.get("RESORT_RELEASE") or ROOT.parent / "shared" / "data" / "resort")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runapi", action="store_true", help="run tests that call hosted APIs (need keys; cost money)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _long_modules_first(items)
    if config.getoption("--runapi"):
        return
    skip = pytest.mark.skip(reason="needs a hosted API and its key: run with --runapi")
    for item in items:
        if "api" in item.keywords:
            item.add_marker(skip)


def _long_modules_first(items: list[pytest.Item]) -> None:
    """Modules with a test of the real embedded model first, then those with a slow test, then the rest (each group
    in collection order, each module's tests together and in order).

    The README's command (``-n 2 --dist loadscope --no-loadscope-reorder``) hands whole modules to the two workers in
    this order: the long modules start at once and the many short ones even out the end (longest first). xdist's own
    order (most tests first) put the long modules, which have few tests, last, where one could run on one worker
    while the other had nothing left.
    """

    def weight(item: pytest.Item) -> int:
        return 0 if "local_model" in item.keywords else 1 if "slow" in item.keywords else 2

    module: dict[str, int] = {}
    for item in items:
        name = item.nodeid.split("::")[0]
        module[name] = min(module.get(name, 2), weight(item))
    items.sort(key=lambda item: module[item.nodeid.split("::")[0]])  # stable


@pytest.fixture(scope="session")
def resort_dir() -> Path:
    if not (RESORT / "eval-human" / "human_eval_annotations_cleaned.json").exists():
        pytest.skip(f"the RESORT release is not at {RESORT}")
    return RESORT


@pytest.fixture(scope="session")
def resort_bench(resort_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RESORT release imported once per session into a benchmark directory."""
    from judge.cli import main

    out = tmp_path_factory.mktemp("resort") / "bench"
    assert main(["import", "resort", str(resort_dir), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def gpt4_run(resort_bench: Path, resort_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GPT-4's released judgments on the rated RESORT items, imported once per session into a run directory (tests
    read it; a test that writes into a run makes its own)."""
    from judge.cli import main

    out = tmp_path_factory.mktemp("gpt4") / "run"
    src = resort_dir / "derived" / "gpt4_judgments_on_rated_items.jsonl"
    assert main(["import", "judgments", str(src), "--benchmark", str(resort_bench), "--out", str(out)]) == 0
    return out


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own reply cache unless it sets one: tests never share or pollute ~/.cache."""
    monkeypatch.setenv("JUDGE_CACHE_DIR", str(tmp_path / "cache"))

"""Benchmark format: loading, and bad input reported with file, line, field, value and expectation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item, load_benchmark, save_benchmark
from judge.errors import InputError


def _item(i: int) -> dict:
    return {
        "item_id": f"x:{i}",
        "post_id": f"p{i // 2}",
        "post": "post text",
        "response": "reply text",
        "system": {"model": "m"},
        "dimension_id": 1,
    }


def _write(tmp: Path, items: list, ratings: list | None = None) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "items.jsonl").write_text("".join((json.dumps(x) if not isinstance(x, str) else x) + "\n" for x in items))
    if ratings is not None:
        (tmp / "ratings.jsonl").write_text("".join(json.dumps(x) + "\n" for x in ratings))
    return tmp


def test_round_trip(tmp_path: Path) -> None:
    bench = Benchmark(
        manifest=BenchmarkManifest(name="t"),
        items={f"x:{i}": Item(**_item(i)) for i in range(4)},
        ratings=[ExpertRating(item_id="x:0", rater="a", criterion="empathy", value=3)],
    )
    save_benchmark(bench, tmp_path / "b")
    back = load_benchmark(tmp_path / "b")
    assert list(back.items) == list(bench.items) and back.ratings == bench.ratings
    assert back.summary()["rated_items"] == 1 and back.summary()["posts"] == 2


def test_every_bad_line_is_reported_together(tmp_path: Path) -> None:
    items = [
        _item(0),
        "{not json",
        {**_item(2), "response": 5},
        {k: v for k, v in _item(3).items() if k != "post"},
        {**_item(4), "colour": "red"},
    ]
    with pytest.raises(InputError) as ei:
        load_benchmark(_write(tmp_path, items))
    msg = str(ei.value)
    assert ":2" in msg and "not valid JSON" in msg
    assert ":3: response" in msg and "5" in msg
    assert ":4: post" in msg and "required" in msg
    assert ":5: colour" in msg and "unknown field" in msg
    assert len(ei.value.problems) == 4


def test_ratings_checked_against_items_and_criteria(tmp_path: Path) -> None:
    ratings = [
        {"item_id": "x:0", "rater": "a", "criterion": "empathy", "value": 3},
        {"item_id": "x:9", "rater": "a", "criterion": "empathy", "value": 3},
        {"item_id": "x:0", "rater": "a", "criterion": "kindness", "value": 3},
    ]
    with pytest.raises(InputError) as ei:
        load_benchmark(_write(tmp_path, [_item(0)], ratings), known_criteria=["empathy", "harmfulness"])
    msg = str(ei.value)
    assert "'x:9' is not in items.jsonl" in msg
    assert "unknown criterion 'kindness'" in msg and "empathy" in msg


def test_cli_exit_2_on_malformed_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from judge.cli import main

    bench = _write(tmp_path / "b", [_item(0), "[1, 2]"])
    rc = main(
        [
            "run",
            "--benchmark",
            str(bench),
            "--judge",
            "openai/x",
            "--api-base",
            "http://127.0.0.1:9/v1",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert rc == 2
    assert "items.jsonl:2" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such benchmark directory"):
        load_benchmark(tmp_path / "nope")

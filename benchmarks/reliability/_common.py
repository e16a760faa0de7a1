"""Helpers shared by the reliability checks: synthetic benchmarks, judge config files, subprocess runs, records."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "datasets" / "demo"
CRITERIA = 4  # the bundled RESORT rubric set has four criteria

Key = tuple[str, str, str, int]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of ``judge`` subprocesses: offline LiteLLM, plus ``extra``."""
    return {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra}


def judge_cmd(*args: str) -> list[str]:
    """``python -m judge ARGS`` with this interpreter."""
    return [sys.executable, "-m", "judge", *args]


def write_judges_toml(path: Path, url: str, name: str = "stub", **extra: Any) -> Path:
    """A one-judge TOML config for the stub server (model ``openai/stub-judge`` at ``url``)."""
    fields: dict[str, Any] = {"model": "openai/stub-judge", "api_base": url, "timeout": 2.0, "max_retries": 6}
    fields.update(extra)
    lines = [f"[judges.{name}]"] + [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def synthetic_benchmark(
    out: Path, n_items: int, *, post_chars: int = 300, long_items: dict[str, int] | None = None
) -> Path:
    """Write a benchmark of ``n_items`` distinct synthetic items (distinct text: no two share a cache key).

    Args:
        long_items: item id -> post length, for items whose post must be very long.
    """
    out.mkdir(parents=True, exist_ok=True)
    filler = "I keep replaying what happened and I cannot sleep. "
    lines = []
    for i in range(n_items):
        item_id = f"syn:{i:06d}"
        length = (long_items or {}).get(item_id, post_chars)
        post = (f"Post {i}. " + filler * (length // len(filler) + 1))[:length]
        row = {
            "item_id": item_id,
            "post_id": f"syn-post:{i // 3:06d}",
            "post": post,
            "response": f"Response {i}: that sounds hard, and it makes sense you feel this way.",
            "system": {"model": f"sys-{i % 3}"},
        }
        lines.append(json.dumps(row))
    (out / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "benchmark.json").write_text(json.dumps({"name": out.name}), encoding="utf-8")
    return out


def read_raw_records(run_dir: Path) -> list[dict[str, Any]]:
    """Every complete line of ``judgments.jsonl`` as a dict, duplicates included (a partial tail is skipped)."""
    path = run_dir / "judgments.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.endswith("\n") and line.strip():
            out.append(json.loads(line))
    return out


def record_key(r: dict[str, Any]) -> Key:
    return (r["judge"], r["item_id"], r["criterion"], int(r.get("sample", 0)))


def store_consistency(run_dir: Path, expected: set[Key]) -> dict[str, int]:
    """Counts that must hold for a finished run: recorded keys, duplicates, missing and unexpected keys."""
    keys = [record_key(r) for r in read_raw_records(run_dir)]
    counts = Counter(keys)
    return {
        "records": len(keys),
        "duplicates": sum(c - 1 for c in counts.values()),
        "missing": len(expected - set(counts)),
        "unexpected": len(set(counts) - expected),
    }


def expected_keys(judge: str, n_items: int, criteria: list[str], samples: int = 1) -> set[Key]:
    return {(judge, f"syn:{i:06d}", c, s) for i in range(n_items) for c in criteria for s in range(samples)}


def criteria_names() -> list[str]:
    from judge.data.rubric import default_rubrics_dir, load_rubric_set

    return sorted(load_rubric_set(default_rubrics_dir()))

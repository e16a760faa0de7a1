"""The reply cache shared by processes, and a cache that cannot be written (issue 25, points 1 and 3).

SQLite serialises the writers of one cache file: two processes writing at once keep every row. A cache directory
that cannot be written is named at once (the flag or variable it came from, and why), before any call.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from judge.cli import main
from judge.engine.cache import Cache, CachedReply, CacheUnwritable
from judge.errors import UsageError
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}

WRITE = """
import sys
from judge.engine.cache import Cache, CachedReply
cache = Cache(sys.argv[1])
print("open", flush=True)
sys.stdin.readline()  # start together
for i in range(int(sys.argv[3])):
    cache.put(f"{sys.argv[2]}-{i}", CachedReply(content=f"{sys.argv[2]} {i}"))
    cache.get(f"{sys.argv[2]}-{i // 2}")
cache.close()
"""


def test_two_processes_writing_one_cache_keep_every_row(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITE, str(tmp_path / "cache"), w, "400"],
            env=ENV,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in "ab"
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "open"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    cache = Cache(tmp_path / "cache")
    try:
        assert len(cache) == 800
        got = cache.get_many([f"{w}-{i}" for w in "ab" for i in range(400)])
        assert all(got[f"{w}-{i}"].content == f"{w} {i}" for w in "ab" for i in range(400))
    finally:
        cache.close()


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root ignores permissions: a place in /sys it cannot create anything in
        return Path("/sys/kernel/reappraisal-judge-cache")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d / "cache"


def test_a_cache_that_cannot_be_written_names_where_the_setting_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "afile").write_text("x")
    under_file = tmp_path / "afile" / "cache"
    with pytest.raises(UsageError) as err:
        Cache(under_file)
    assert str(err.value) == (
        f"--cache-dir {under_file}: the reply cache cannot be written there ({tmp_path / 'afile'} is a file, "
        "not a directory)"
    )
    bad = _unwritable(tmp_path)
    monkeypatch.setenv("JUDGE_CACHE_DIR", str(bad))
    with pytest.raises(UsageError, match=rf"^JUDGE_CACHE_DIR={bad}: the reply cache cannot be written there \("):
        Cache()
    monkeypatch.delenv("JUDGE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(bad))
    with pytest.raises(CacheUnwritable, match="set JUDGE_CACHE_DIR or pass --cache-dir to a directory you can write"):
        Cache()  # the default location: a fault of the machine (exit 1), not of an input


def test_run_with_an_unwritable_cache_fails_before_any_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    cache = tmp_path / "afile" / "cache"
    stub = StubServer()
    with stub as url:
        rc = main(["run", "--benchmark", str(DEMO), "--judge", "openai/stub-judge", "--api-base", url,
                   "--cache-dir", str(cache), "--out", str(tmp_path / "run"), "--no-progress"])  # fmt: skip
        assert stub.stats().by_path.get("POST /v1/chat/completions", 0) == 0
    err = capsys.readouterr().err
    assert (
        rc == 2
        and err.startswith(f"error: --cache-dir {cache}: the reply cache cannot be written")
        and err.count("\n") == 1
    )
    assert not (tmp_path / "run" / "run.json").exists()


def test_cached_reply_survives_a_reopen(tmp_path: Path) -> None:
    c = Cache(tmp_path / "c")
    c.put("k", CachedReply(content="x"))
    c.close()
    c = Cache(tmp_path / "c")
    try:
        assert c.get("k") == CachedReply(content="x")
    finally:
        c.close()

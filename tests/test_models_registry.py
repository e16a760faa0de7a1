"""The model registry and model directory under concurrency and faults (issue 25, points 1 and 3).

Two processes adding models at once keep both (the registry is changed under its lock, ``judge.locks``); a file
that is not a model is refused when it is added (its GGUF header, then a real load in llama.cpp); a model directory
that cannot be written, or a model that does not load, stops a run at once with what is wrong and where, instead of
seven retries reported as a provider error.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from judge.cli import main
from judge.engine.local import models as lm, user_models as um
from judge.engine.local.models import ModelFileError, writable_dir
from judge.engine.local.user_models import add_user_model, check_gguf, load_registry, registry_path
from judge.errors import InputError, UsageError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}


def _fake(path: Path, version: int = 3, tensors: int = 1, keys: int = 1, pad: int = 4000) -> Path:
    """A file with a GGUF header and no model behind it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", version, tensors, keys) + os.urandom(pad))
    return path


def _unwritable(tmp_path: Path) -> Path:
    """A directory this process cannot create files in (root ignores permissions: a place in /sys it cannot use)."""
    if os.geteuid() == 0:
        return Path("/sys/kernel/reappraisal-judge-test")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d / "models"


# -- the registry: no lost update ----------------------------------------------------------------------------------

ADD_MANY = """
import sys
from pathlib import Path
from judge.engine.local.user_models import add_user_model
for name in sys.argv[2:]:
    add_user_model(Path(sys.argv[1]) / (name + ".gguf"), name, load_check=False)
"""


def test_two_processes_adding_at_once_keep_every_model(tmp_path: Path) -> None:
    for n in range(6):
        _fake(tmp_path / "files" / f"a{n}.gguf", pad=200_000)
        _fake(tmp_path / "files" / f"b{n}.gguf", pad=200_000)
    for rnd in range(3):
        env = {**ENV, "JUDGE_MODEL_DIR": str(tmp_path / f"models-{rnd}")}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", ADD_MANY, str(tmp_path / "files"), *(f"{w}{n}" for n in range(6))],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for w in "ab"
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        names = [r.name for r in load_registry(Path(env["JUDGE_MODEL_DIR"])).models]
        assert names == sorted(f"{w}{n}" for w in "ab" for n in range(6)), f"round {rnd}: {names}"


def test_cli_adds_at_once_both_kept(tmp_path: Path) -> None:
    env = {**ENV, "JUDGE_MODEL_DIR": str(tmp_path / "models")}
    files = [_fake(tmp_path / f"{w}.gguf", pad=2_000_000) for w in "ab"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "judge", "models", "add", str(f), "--name", f.stem, "--no-load-check"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "added" in out, err
    assert [r.name for r in load_registry(tmp_path / "models").models] == ["a", "b"]


def test_many_threads_adding_and_removing_lose_nothing(tmp_path: Path) -> None:
    d = tmp_path / "models"
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            for n in range(5):
                add_user_model(
                    _fake(tmp_path / f"t{w}-{n}.gguf", pad=50_000), f"t{w}-{n}", directory=d, load_check=False
                )
            um.remove_user_model(f"t{w}-0", directory=d)
        except BaseException as exc:  # reported below: a thread's exception would otherwise be lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [r.name for r in load_registry(d).models] == sorted(f"t{w}-{n}" for w in range(6) for n in range(1, 5))


HOLD_REGISTRY = """
import sys, time
from judge.locks import locked
with locked(sys.argv[1], "test"):
    print("held", flush=True)
    time.sleep(1.0)
"""


def test_an_add_waits_for_the_registry_instead_of_failing(tmp_path: Path) -> None:
    d = tmp_path / "models"
    d.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_REGISTRY, str(registry_path(d))], stdout=subprocess.PIPE,
                              text=True, env=ENV)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    t0 = time.monotonic()
    add_user_model(_fake(tmp_path / "m.gguf"), "mine", directory=d, load_check=False)
    assert time.monotonic() - t0 > 0.3  # it waited for the holder
    holder.wait()
    assert [r.name for r in load_registry(d).models] == ["mine"]


def test_same_name_added_meanwhile_is_refused_under_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "models"
    other = _fake(tmp_path / "other.gguf")
    real_hash = lm._hash_file

    def hash_while_another_process_adds(*args: object, **kwargs: object) -> tuple[int, str]:
        monkeypatch.setattr(um, "_hash_file", real_hash)
        add_user_model(other, "mine", directory=d, load_check=False)  # lands while this add is hashing
        return real_hash(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(um, "_hash_file", hash_while_another_process_adds)
    with pytest.raises(UsageError, match="a model named 'mine' was already added"):
        add_user_model(_fake(tmp_path / "m.gguf"), "mine", directory=d, load_check=False)
    assert [r.path for r in load_registry(d).models] == [str(other)]


# -- a file that is not a model ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        pytest.param({"version": 1}, "GGUF version 1 is not one llama.cpp reads (expected [2, 3])", id="version"),
        pytest.param({"tensors": 0}, "its header counts 0 tensors", id="no-tensors"),
        pytest.param({"tensors": 1 << 40}, f"its header counts {1 << 40} tensors", id="garbage-count"),
    ],
)
def test_a_bad_gguf_header_is_refused(tmp_path: Path, header: dict[str, int], message: str) -> None:
    with pytest.raises(InputError) as err:
        check_gguf(_fake(tmp_path / "m.gguf", **header))
    assert message in str(err.value)


def test_a_truncated_header_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF\x03\x00")
    with pytest.raises(InputError, match="6 bytes, shorter than a GGUF header"):
        check_gguf(tmp_path / "m.gguf")


def test_models_add_loads_the_file_and_refuses_what_llama_cpp_cannot_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("llama_cpp")
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(tmp_path / "models"))
    fake = _fake(tmp_path / "m.gguf")
    assert main(["models", "add", str(fake), "--name", "fake"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {fake}: llama.cpp cannot load this file as a model (") and err.count("\n") == 1
    assert not registry_path().exists()
    # recorded anyway when asked not to load it: then the first run says what is wrong, at once (below)
    assert main(["models", "add", str(fake), "--name", "fake", "--no-load-check"]) == 0


def test_without_llama_cpp_the_add_says_it_did_not_load_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if llama-cpp-python were not installed
    assert main(["models", "add", str(_fake(tmp_path / "m.gguf")), "--name", "mine"]) == 0
    err = capsys.readouterr().err
    assert "note: local/mine: not loaded to check it: llama-cpp-python is not installed" in err


@pytest.mark.local_model
def test_a_real_model_passes_the_load_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_cpp")
    if lm.missing_parts(lm.get_model("qwen2.5-0.5b")):
        pytest.skip("the 0.5B weights are not installed")
    real = lm.model_path("qwen2.5-0.5b")  # the default cache directory: assembled once
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(tmp_path / "models"))
    notes: list[str] = []
    add_user_model(real, "mine", note=notes.append)
    assert notes == [] and [r.name for r in load_registry().models] == ["mine"]


def test_a_model_that_does_not_load_stops_the_run_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("llama_cpp")
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(tmp_path / "models"))
    fake = _fake(tmp_path / "m.gguf")
    add_user_model(fake, "fake", load_check=False)
    t0 = time.monotonic()
    rc = main(["run", "--benchmark", str(DEMO), "--judge", "local/fake", "--criteria", "empathy", "--limit", "1",
               "--out", str(tmp_path / "run"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1, err
    assert f"local model 'fake': llama.cpp could not load {fake}" in err and "judge models remove fake" in err
    assert "api_error" not in err and "retr" not in err and "Traceback" not in err
    assert time.monotonic() - t0 < 60  # no seven retries with backoff
    assert not (tmp_path / "run" / "run.json").exists()


# -- a model directory that cannot be written ----------------------------------------------------------------------


def test_model_dir_under_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "afile").write_text("x")
    bad = tmp_path / "afile" / "models"
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(bad))
    expected = f"JUDGE_MODEL_DIR={bad}: {tmp_path / 'afile'} is a file, not a directory; set it to a directory you"
    assert main(["models", "add", str(_fake(tmp_path / "m.gguf")), "--name", "mine", "--no-load-check"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {expected}")
    assert main(["models", "--json"]) == 0  # listing reads nothing there: no traceback
    assert json.loads(capsys.readouterr().out)["cache_dir"] == str(bad)
    assert main(["models", "prepare", "qwen2.5-0.5b"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {expected}")


def test_unwritable_model_dir_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _unwritable(tmp_path)
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(bad))
    with pytest.raises(UsageError, match=rf"^JUDGE_MODEL_DIR={bad}: cannot write there \("):
        writable_dir()
    # the default location (no JUDGE_MODEL_DIR) is a fault of the machine, not of the user's input: exit 1
    with pytest.raises(ModelFileError, match=rf"^model directory {bad}: cannot write there .* set JUDGE_MODEL_DIR"):
        writable_dir(bad)


def test_a_run_with_an_unusable_model_dir_fails_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from judge.engine.local import provider

    # a model an earlier test loaded in this process needs no directory: start as a new process would
    monkeypatch.setattr(provider, "_ENGINES", {})
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(tmp_path / "afile" / "models"))
    t0 = time.monotonic()
    rc = main(["run", "--benchmark", str(DEMO), "--judge", "local", "--criteria", "empathy", "--limit", "1",
               "--out", str(tmp_path / "run"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"error: JUDGE_MODEL_DIR={tmp_path / 'afile' / 'models'}: "), err
    assert "is a file, not a directory" in err and "api_error" not in err and err.count("\n") == 1
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "run" / "run.json").exists()


def test_two_processes_assemble_a_model_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_local_model import CHUNKS, _fake_model

    model = _fake_model(tmp_path, monkeypatch, CHUNKS)
    assembled: list[int] = []
    real = lm._assemble

    def slow_assemble(*args: object) -> None:
        assembled.append(threading.get_ident())
        time.sleep(0.3)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(lm, "_assemble", slow_assemble)
    out: list[Path] = []
    threads = [
        threading.Thread(target=lambda: out.append(lm.model_path(model, directory=tmp_path / "cache")))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(assembled) == 1 and len(out) == 3 and len(set(out)) == 1
    assert out[0].read_bytes() == b"".join(CHUNKS)

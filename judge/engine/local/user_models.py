"""The user's own GGUF files as local judge models: ``judge models add PATH.gguf --name NAME``.

A user model is recorded in ``models.json`` in the model cache directory (``cache_dir()``, so ``$JUDGE_MODEL_DIR``
moves it too): name, absolute path, size, sha256, context window, description and when it was added. The file
itself is not copied. ``get_model`` and ``MODELS`` find these models after the built-ins, and ``model_path``
checks the file against the recorded size and sha256 before it is loaded (a size + mtime stamp in the cache
directory skips the rehash while the file is unchanged). The recorded sha256 is the judge's identity in the
answer cache, so answers of two different files never mix.

Example::

    from judge.engine.local.user_models import add_user_model
    add_user_model("/data/qwen2.5-7b-instruct-q4_k_m.gguf", "qwen2.5-7b", n_ctx=8192)
    # now usable as --judge local/qwen2.5-7b
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judge.engine.local.models import (
    MODELS,
    LocalModel,
    Progress,
    _hash_file,
    _stamp_path,
    _stat_key,
    _write_stamp,
    builtin_model,
    cache_dir,
    model_dir_error,
    model_key,
    writable_dir,
)
from judge.errors import InputError, Problem, UsageError
from judge.locks import locked

REGISTRY_FILE = "models.json"
GGUF_MAGIC = b"GGUF"
GGUF_HEADER = 4 + 4 + 8 + 8  # magic, version (uint32), tensor count and metadata key count (uint64 each)
GGUF_VERSIONS = frozenset({2, 3})
GGUF_MAX_COUNT = 1 << 24  # far above any real model's tensors or metadata keys; a garbage header is not
DEFAULT_N_CTX = 4096
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
# Names that already mean something where a model name is read: 'local' is the default model, 'all' every model
# (judge models prepare all).
RESERVED_NAMES = frozenset({"local", "all"})


class UserModelRecord(BaseModel):
    """One model added with ``judge models add``: what the file was when it was added."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="Used as local/<name>.")
    path: str = Field(description="Absolute path of the GGUF file (not copied).")
    size: int = Field(gt=0, description="Size in bytes when added.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the file when added.")
    n_ctx: int = Field(default=DEFAULT_N_CTX, gt=0, description="Context window used when loading.")
    description: str = ""
    added_at: datetime

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not Path(value).is_absolute():
            raise ValueError("expected an absolute path")
        return value

    def to_local_model(self) -> LocalModel:
        """The record as a ``LocalModel`` (with ``path`` set, no parts)."""
        return LocalModel(
            name=self.name,
            description=self.description or f"your own file {Path(self.path).name}",
            filename=Path(self.path).name,
            size=self.size,
            sha256=self.sha256,
            license="unknown (your own file)",
            upstream=f"added with judge models add on {self.added_at:%Y-%m-%d}",
            n_ctx=self.n_ctx,
            path=self.path,
        )


class UserRegistry(BaseModel):
    """The content of ``models.json``: the user's models, one record per name."""

    model_config = ConfigDict(extra="forbid")

    models: list[UserModelRecord] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> UserRegistry:
        names = [r.name for r in self.models]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"model names must be unique, repeated: {dup}")
        return self

    def get(self, name: str) -> UserModelRecord | None:
        return next((r for r in self.models if r.name == name), None)


def registry_path(directory: Path | None = None) -> Path:
    """The user registry file: ``models.json`` in the model cache directory."""
    return (directory or cache_dir()) / REGISTRY_FILE


def load_registry(directory: Path | None = None) -> UserRegistry:
    """The user registry (empty when the file does not exist).

    Raises:
        InputError: the file cannot be read or is not a valid registry; the message names the file, the field
            and the value.
    """
    from judge.fileio import read_document, validated

    path = registry_path(directory)
    if not path.exists():
        return UserRegistry()
    try:
        data = read_document(path, "model registry", fmt="json")
        return validated(UserRegistry, data, str(path), what="a model registry")
    except InputError as exc:
        # Say what the file is: the user may never have opened it, and deleting it only forgets the added models.
        raise InputError(
            exc.problems,
            source=f"{path}, the models added with `judge models add` (fix the file, or delete it to forget them)",
        ) from None


_CACHE: dict[Path, tuple[tuple[int, int, int], dict[str, LocalModel]]] = {}


def user_models(directory: Path | None = None) -> dict[str, LocalModel]:
    """The user's models by name, read from the registry when it changed since the last call.

    Lookups happen on every judgment (the provider, the cache identity); a ``stat`` is all they cost while the
    file is unchanged, and a model added by another process is still seen.

    Raises:
        InputError: the registry file is malformed (naming it).
    """
    path = registry_path(directory)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # under a file: no model was ever added there
        return {}
    except OSError as exc:  # e.g. a directory that cannot be searched
        raise model_dir_error(path.parent, exc) from None
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    hit = _CACHE.get(path)
    if hit is None or hit[0] != key:
        hit = (key, {r.name: r.to_local_model() for r in load_registry(directory).models})
        _CACHE[path] = hit
    return hit[1]


MODELS.user_source = user_models  # get_model and MODELS find the user's models through this


def check_name(name: str) -> None:
    """Refuse a name that is malformed, reserved, or a built-in model's name or alias.

    Raises:
        InputError: naming the value and what was expected.
    """
    if not re.fullmatch(NAME_PATTERN, name):
        raise InputError(
            Problem(
                "--name",
                f"{name!r} is not a valid model name: expected lowercase letters, digits, '.', '_' and '-', "
                f"starting with a letter or digit (e.g. qwen2.5-7b)",
            )
        )
    if name in RESERVED_NAMES:
        raise InputError(Problem("--name", f"{name!r} is reserved (it already means something); choose another"))
    builtin = builtin_model(name)
    if builtin is not None:
        what = "a built-in model" if builtin.name == name else f"an alias of the built-in model {builtin.name!r}"
        raise InputError(Problem("--name", f"{name!r} is {what}; choose another name for your file"))


def check_gguf(path: Path) -> None:
    """Refuse a path that is not a readable file with a GGUF header: the magic bytes, a version llama.cpp reads
    (2 or 3), and plausible tensor and metadata counts.

    Raises:
        InputError: naming the path, what was found and what was expected.
    """
    if not path.exists():
        raise InputError(Problem(str(path), "no such file; expected a .gguf model file"))
    if not path.is_file():
        raise InputError(Problem(str(path), "not a regular file; expected a .gguf model file"))
    try:
        with path.open("rb") as fh:
            head = fh.read(GGUF_HEADER)
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read the file: {exc.strerror or exc}")) from None
    if head[: len(GGUF_MAGIC)] != GGUF_MAGIC:
        found = head[: len(GGUF_MAGIC)]
        raise InputError(
            Problem(str(path), f"not a GGUF model file: it starts with {found!r}, expected {GGUF_MAGIC!r}")
        )
    if len(head) < GGUF_HEADER:
        raise InputError(Problem(str(path), f"not a GGUF model file: {len(head)} bytes, shorter than a GGUF header"))
    version, tensors, kvs = struct.unpack("<IQQ", head[len(GGUF_MAGIC) :])
    if version not in GGUF_VERSIONS:
        raise InputError(
            Problem(str(path), f"GGUF version {version} is not one llama.cpp reads (expected {sorted(GGUF_VERSIONS)})")
        )
    if not 0 < tensors <= GGUF_MAX_COUNT or kvs > GGUF_MAX_COUNT:
        raise InputError(
            Problem(str(path), f"not a GGUF model: its header counts {tensors} tensors and {kvs} metadata keys")
        )


def check_loads(path: Path, n_ctx: int = DEFAULT_N_CTX) -> str | None:
    """Load the file in llama.cpp once (memory-mapped, a small context): a file that is not a model is refused when
    it is added, not at the first judgment.

    Returns:
        None when it loads; a note saying why it could not be checked (llama-cpp-python not installed).

    Raises:
        InputError: llama.cpp cannot load it (naming the file and llama.cpp's reason).
    """
    try:
        from llama_cpp import Llama
    except ImportError:
        return "not loaded to check it: llama-cpp-python is not installed (pip install 'reappraisal-judge[local]')"
    try:
        llama = Llama(model_path=str(path), n_ctx=min(n_ctx, 256), n_threads=1, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise InputError(Problem(str(path), f"llama.cpp cannot load this file as a model ({exc})")) from None
    close = getattr(llama, "close", None)
    if close is not None:
        close()
    return None


def add_user_model(
    path: str | Path,
    name: str,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    description: str = "",
    replace: bool = False,
    progress: Progress | None = None,
    directory: Path | None = None,
    load_check: bool = True,
    note: Callable[[str], None] | None = None,
) -> LocalModel:
    """Register a GGUF file as the local model ``local/<name>``: check it, hash it, record it in ``models.json``.

    The file is used where it is (not copied). Everything cheap is checked before the file is hashed: the name,
    a name already taken, the file and its header, and (``load_check``) that llama.cpp loads it. The registry is
    changed under its lock (``judge.locks``): two processes adding models at once both keep theirs.

    Args:
        path: the GGUF file; recorded as an absolute path (symlinks resolved).
        name: lowercase letters, digits, '.', '_' and '-'; not a built-in name or alias.
        n_ctx: context window used when loading.
        replace: replace a model already added under ``name`` (else refused).
        progress: called as ``progress("hash", done_bytes, total_bytes)`` while hashing.
        directory: the model cache directory holding the registry (default ``cache_dir()``).
        load_check: load the file in llama.cpp before recording it (``check_loads``).
        note: told what could not be checked (e.g. no llama.cpp to load the file with).

    Returns:
        The new model.

    Raises:
        InputError: bad name, missing, non-GGUF or unloadable file, or a malformed registry.
        UsageError: ``name`` is taken and ``replace`` is False; the model directory cannot be written
            (``$JUDGE_MODEL_DIR``).
        ModelFileError: the default model directory cannot be written.
    """
    if n_ctx <= 0:
        raise InputError(Problem("--n-ctx", f"expected an integer > 0, got {n_ctx}"))
    check_name(name)
    file = Path(path).expanduser().resolve()
    _refuse_taken(load_registry(directory), name, replace)
    check_gguf(file)
    writable_dir(directory)
    if load_check:
        why = check_loads(file, n_ctx)
        if why is not None and note is not None:
            note(why)
    before = _stat_key(file)
    size, digest = _hash_file(file, progress, "hash")
    record = UserModelRecord(
        name=name,
        path=str(file),
        size=size,
        sha256=digest,
        n_ctx=n_ctx,
        description=description,
        added_at=datetime.now(UTC).replace(microsecond=0),
    )
    model = record.to_local_model()
    with _registry_locked(directory):
        _refuse_taken(load_registry(directory), name, replace)  # another process may have added it meanwhile
        # Stamped with the size and mtime seen before hashing: if the file changed meanwhile, the first use hashes
        # it again instead of trusting this hash.
        _write_stamp(model, file, directory, before)
        _save(directory, lambda reg: [r for r in reg.models if r.name != name] + [record])
    return model


def _refuse_taken(registry: UserRegistry, name: str, replace: bool) -> None:
    old = registry.get(name)
    if old is not None and not replace:
        raise UsageError(
            f"a model named {name!r} was already added (file {old.path}); pass --replace to replace it, or choose "
            f"another name"
        )


def _registry_locked(directory: Path | None) -> AbstractContextManager[Path]:
    """The registry's lock (waited for: the changes it guards take milliseconds)."""
    path = registry_path(writable_dir(directory))
    return locked(path, f"model registry {path}", wait=True)


def remove_user_model(name: str, directory: Path | None = None) -> UserModelRecord:
    """Forget a model added with ``judge models add`` (its file is left alone); return what was recorded.

    Raises:
        UsageError: ``name`` is a built-in model, or no model of that name was added.
        InputError: the registry is malformed.
    """
    key = model_key(name)
    builtin = builtin_model(key)
    if builtin is not None:
        alias = "" if builtin.name == key else f" (an alias of {builtin.name!r})"
        raise UsageError(
            f"{name!r} is a built-in model{alias} and cannot be removed; only models added with `judge models add` can"
        )
    with _registry_locked(directory):
        registry = load_registry(directory)
        old = registry.get(key)
        if old is None:
            added = sorted(r.name for r in registry.models)
            raise UsageError(f"no model named {name!r} was added with `judge models add`; added models: {added}")
        _save(directory, lambda reg: [r for r in reg.models if r.name != key])
        _stamp_path(old.to_local_model(), Path(old.path), directory).unlink(missing_ok=True)
    return old


def _save(directory: Path | None, change: Callable[[UserRegistry], list[UserModelRecord]]) -> None:
    """Rewrite the registry atomically (``judge.fileio.write_json``) with the records ``change`` makes of the
    current ones, sorted by name. Called with the registry's lock held: read and write are one step for every
    other writer, so a model added meanwhile by another process is never lost."""
    from judge.fileio import write_json

    reg = load_registry(directory)
    records = sorted(change(reg), key=lambda r: r.name)
    write_json(registry_path(directory), UserRegistry(models=records).model_dump(mode="json"))

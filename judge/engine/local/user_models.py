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
from collections.abc import Callable
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
    model_key,
)
from judge.errors import InputError, Problem, UsageError

REGISTRY_FILE = "models.json"
GGUF_MAGIC = b"GGUF"
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
    except FileNotFoundError:
        return {}
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
    """Refuse a path that is not a readable file starting with the GGUF magic bytes.

    Raises:
        InputError: naming the path, what was found and what was expected.
    """
    if not path.exists():
        raise InputError(Problem(str(path), "no such file; expected a .gguf model file"))
    if not path.is_file():
        raise InputError(Problem(str(path), "not a regular file; expected a .gguf model file"))
    try:
        with path.open("rb") as fh:
            head = fh.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read the file: {exc.strerror or exc}")) from None
    if head != GGUF_MAGIC:
        raise InputError(Problem(str(path), f"not a GGUF model file: it starts with {head!r}, expected {GGUF_MAGIC!r}"))


def add_user_model(
    path: str | Path,
    name: str,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    description: str = "",
    replace: bool = False,
    progress: Progress | None = None,
    directory: Path | None = None,
) -> LocalModel:
    """Register a GGUF file as the local model ``local/<name>``: hash it and record it in ``models.json``.

    The file is used where it is (not copied). Everything cheap is checked before the file is hashed: the name,
    a name already taken, the file and its magic bytes.

    Args:
        path: the GGUF file; recorded as an absolute path (symlinks resolved).
        name: lowercase letters, digits, '.', '_' and '-'; not a built-in name or alias.
        n_ctx: context window used when loading.
        replace: replace a model already added under ``name`` (else refused).
        progress: called as ``progress("hash", done_bytes, total_bytes)`` while hashing.
        directory: the model cache directory holding the registry (default ``cache_dir()``).

    Returns:
        The new model.

    Raises:
        InputError: bad name, missing or non-GGUF file, or a malformed registry.
        UsageError: ``name`` is taken and ``replace`` is False.
    """
    if n_ctx <= 0:
        raise InputError(Problem("--n-ctx", f"expected an integer > 0, got {n_ctx}"))
    check_name(name)
    file = Path(path).expanduser().resolve()
    old = load_registry(directory).get(name)
    if old is not None and not replace:
        raise UsageError(
            f"a model named {name!r} was already added (file {old.path}); pass --replace to replace it, or choose "
            f"another name"
        )
    check_gguf(file)
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
    # Stamped with the size and mtime seen before hashing: if the file changed meanwhile, the first use hashes it
    # again instead of trusting this hash.
    _write_stamp(model, file, directory, before)
    _save(directory, lambda reg: [r for r in reg.models if r.name != name] + [record])
    return model


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
    current ones, sorted by name; read just before writing, so a model added meanwhile by another process is kept."""
    from judge.fileio import write_json

    reg = load_registry(directory)
    records = sorted(change(reg), key=lambda r: r.name)
    write_json(registry_path(directory), UserRegistry(models=records).model_dump(mode="json"))

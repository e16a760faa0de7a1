"""Small file helpers: atomic writes, append-only record files, JSONL reading that names the bad line, and the one
way a config or data file is read, parsed and validated (``read_document``, ``validated``, ``load_document``).

Output files appear whole or not at all: everything is written to a temporary file in the same directory,
flushed, fsynced and renamed over the target. Record files that grow while a job runs (run and generation
records) are appended one whole line at a time instead (``AppendedRecords``), and read back with
``read_appended``.

Every loader of a user-editable file (rubrics, benchmark manifests, judge and gate configs, system files,
baselines, run manifests, calibrators) goes through ``read_document`` and ``validated``, so an unreadable file,
bad UTF-8, a syntax error or a schema violation gets the same kind of message everywhere: the file (and line or
field), the value, and what was expected; never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar, cast

from judge.errors import InputError, Problem

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter, ValidationError

M = TypeVar("M", bound="BaseModel")
DocumentFormat = Literal["json", "yaml", "toml"]
_SUFFIX_FORMAT: dict[str, DocumentFormat] = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", *, private: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` only if the block succeeds.

    Raises:
        InputError: ``path`` cannot be written there (a parent is a file, a directory is in the way, no permission),
            naming it and why.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:  # a parent that is a file, a read-only place: the user's path, named
        why = why_unwritable(exc, target.parent)
        raise InputError(Problem(str(target), f"cannot write this file: {why}")) from None
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600 if private else 0o644)
        try:
            os.replace(tmp, target)
        except IsADirectoryError:
            raise InputError(
                Problem(str(target), "cannot write this file: a directory of that name is in the way")
            ) from None
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def why_unwritable(exc: OSError, target: Path) -> str:
    """Why ``target`` cannot be created or written, in words: a file in its path, or the system's reason."""
    blocker = next((p for p in [target, *target.parents] if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        return f"{blocker} is a file, not a directory"
    return exc.strerror or str(exc)


def check_writable_dir(path: str | Path, flag: str) -> None:
    """Refuse an output directory that cannot be used, before any work: a file, or a place that cannot be written.

    Nothing is left behind: directories created to probe are removed again.

    Raises:
        UsageError: naming ``flag``, the path and why (exit code 2).
    """
    from judge.errors import UsageError

    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{flag} {target}: is a file, not a directory")
    missing: list[Path] = []
    p = target
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag} {target}: {p} is a file, not a directory")
    created: list[Path] = []
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{flag} {target}: cannot write there ({exc.strerror or exc})") from None
    finally:
        for d in reversed(created):
            with suppress(OSError):
                d.rmdir()


def write_text(path: str | Path, text: str, *, private: bool = False) -> None:
    with atomic_open(path, "w", private=private) as fh:
        fh.write(text)


def write_json(path: str | Path, data: Any, *, private: bool = False) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", private=private)


def write_jsonl(path: str | Path, rows: Iterable[Any], *, private: bool = False) -> int:
    """Write rows (dicts or pydantic models) as JSONL atomically; return the number written."""
    n = 0
    with atomic_open(path, "w", private=private) as fh:
        for row in rows:
            if hasattr(row, "model_dump_json"):
                fh.write(row.model_dump_json(exclude_none=False))
            else:
                fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")
            n += 1
    return n


#: Deepest nesting of lists and objects accepted in a JSON, YAML or TOML value. Real data nests a few levels;
#: a value nested thousands deep would make the parsers, validators and writers recurse until they fail.
MAX_DEPTH = 64


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and mappings more than ``limit`` deep (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children: Iterable[Any] = v.values()
        elif isinstance(v, list | tuple):
            children = v
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


class DuplicateKey(ValueError):
    """A JSON object or YAML mapping gives one key twice: which value was meant cannot be told (parsers keep the
    last one silently)."""

    def __init__(self, key: object, mark: Any = None) -> None:
        super().__init__(f"key {key!r} is given twice in one object: which value is meant? Keep one")
        self.mark = mark


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DuplicateKey(k)
            seen.add(k)
    return d


@functools.cache
def _unique_key_loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            keys = [self.construct_object(k, deep=True) for k, _ in node.value]
            seen: set[Any] = set()
            for k, (key_node, _) in zip(keys, node.value, strict=True):
                try:
                    if k in seen:
                        raise DuplicateKey(k, key_node.start_mark)
                    seen.add(k)
                except TypeError:  # an unhashable key: the constructor below says so
                    break
            return super().construct_mapping(node, deep=deep)

    return Loader


def _nested_too_deep(text: str) -> bool:
    # Counting brackets is C-speed: only a line with enough of them can be too deep, and only that one is walked.
    return text.count("[") + text.count("{") > MAX_DEPTH


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, parsed_object)``; raise ``InputError`` listing every malformed line."""
    rows, problems = read_jsonl_collect(path)
    if problems:
        raise InputError(problems, source=str(path))
    yield from rows


def read_jsonl_collect(path: str | Path) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """Parse a JSONL file into ``(line_number, object)`` rows plus one ``Problem`` per malformed line.

    A line is malformed when it is not UTF-8, not JSON, not an object, or nests deeper than ``MAX_DEPTH``. Lets
    callers validate the well-formed lines too and report every problem of the file together.
    """
    p = Path(path)
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise InputError(Problem(str(p), f"cannot read file: {exc.strerror}")) from None
    rows: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    with fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem(f"{p}:{lineno}", f"not UTF-8 text ({exc.reason} at column {exc.start + 1})"))
                continue
            if lineno == 1:
                line = line.removeprefix("\ufeff")  # a byte-order mark some editors write
            if not line.strip():
                continue
            try:
                obj = json.loads(line, object_pairs_hook=_unique_keys)
                deep = _nested_too_deep(line) and too_deep(obj)
            except DuplicateKey as exc:
                problems.append(Problem(f"{p}:{lineno}", str(exc)))
                continue
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem(f"{p}:{lineno}", f"not valid JSON ({exc.msg} at column {exc.colno}): {line.strip()[:60]!r}")
                )
                continue
            except RecursionError:  # nested far too deep for the parser itself
                deep = True
            if deep:
                problems.append(Problem(f"{p}:{lineno}", f"values nested more than {MAX_DEPTH} levels deep"))
                continue
            if not isinstance(obj, dict):
                problems.append(Problem(f"{p}:{lineno}", f"expected a JSON object, got {type(obj).__name__}"))
                continue
            rows.append((lineno, obj))
    return rows, problems


class AppendedRecords:
    """The writer of an append-only JSONL record file (``judgments.jsonl``, ``generations.jsonl``).

    Each record is one ``write`` of a whole line followed by a flush, so a killed process leaves at most one partial
    last line; opening cuts such a tail first, so the next record starts on a line of its own. ``read_appended``
    reads the file back.

    Example::

        with AppendedRecords(run_dir / "judgments.jsonl", private=True) as out:
            out.append(judgment)
    """

    def __init__(self, path: str | Path, *, private: bool = False) -> None:
        self.path = Path(path)
        self.private = private
        self._fh: IO[str] | None = None

    def open(self) -> AppendedRecords:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _cut_partial_tail(self.path)
        self._fh = self.path.open("a", encoding="utf-8")
        if self.private:
            os.chmod(self.path, 0o600)
        return self

    def append(self, record: BaseModel) -> None:
        """Write one record as one line and flush it (pydantic model -> its JSON)."""
        if self._fh is None:
            raise RuntimeError(f"{self.path}: open() the record file before appending")  # a programming error
        self._fh.write(record.model_dump_json() + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> AppendedRecords:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_partial_tail(path: Path) -> None:
    """Drop an incomplete last line left by a killed writer."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
        data = path.read_bytes()
        fh.truncate(data.rfind(b"\n") + 1)


def read_appended(path: Path, model: type[M] | TypeAdapter[Any] | Callable[[str], Any], what: str) -> Iterator[Any]:
    """Stream the records of an append-only JSONL file written one whole line at a time (run and generation
    records), validated as ``model`` (a pydantic model, an adapter of a union of them, or a function reading a line
    that raises ``ValueError`` on a bad one).

    A last line without its newline is the partial write of a killed process and is skipped; any other bad line
    raises ``InputError`` naming ``path:line`` (``what`` says what the line should have been).
    """
    if not path.exists():
        return
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read file: {exc.strerror}")) from None
    from pydantic import TypeAdapter

    parse: Callable[[str], Any]
    if isinstance(model, TypeAdapter):
        parse = model.validate_json
    elif isinstance(model, type):
        parse = cast("type[BaseModel]", model).model_validate_json
    else:
        parse = model
    with fh:
        for n, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                return
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    Problem(f"{path}:{n}", f"not {what}: not UTF-8 text ({exc.reason} at column {exc.start + 1})")
                ) from None
            try:
                yield parse(line)
            except ValueError as exc:
                first = str(exc).splitlines()[0]
                raise InputError(Problem(f"{path}:{n}", f"not {what}: {first}")) from None


# -- read, parse, validate: one way for every config and data file ---------------------------------------------


def read_document(path: str | Path, what: str, fmt: DocumentFormat | None = None) -> Any:
    """Read and parse a JSON, YAML or TOML file (format from ``fmt`` or the file suffix).

    Args:
        path: the file.
        what: what the file is, for messages ("rubric file", "judge config").
        fmt: the format; default by suffix (``.json``, ``.yaml``/``.yml``, ``.toml``).

    Raises:
        InputError: the file cannot be read, is not UTF-8, or is not valid in its format (naming the line).
    """
    p = Path(path)
    kind = fmt or _SUFFIX_FORMAT.get(p.suffix.lower())
    if kind is None:
        raise InputError(Problem(str(p), f"cannot tell the format of this {what}: expected .json, .yaml or .toml"))
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(Problem(str(p), f"cannot read {what}: {exc.strerror}")) from None
    try:
        text = raw.decode("utf-8-sig")  # -sig: the byte-order mark some editors write (Notepad) is no content
    except UnicodeDecodeError as exc:  # a ValueError, not an OSError: without this it escaped as a traceback
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(Problem(f"{p}:{line}", f"not UTF-8 text ({exc.reason} at byte {exc.start})")) from None
    try:
        data = _parse(text, kind, p)
        # YAML nests by indentation too, and its documents are small: always walked.
        deep = (kind == "yaml" or _nested_too_deep(text)) and too_deep(data)
    except RecursionError:  # nested far too deep for the parser itself
        deep = True
    if deep:
        raise InputError(Problem(str(p), f"not a {what}: values nested more than {MAX_DEPTH} levels deep"))
    return data


def _parse(text: str, kind: DocumentFormat, p: Path) -> Any:
    if kind == "json":
        try:
            return json.loads(text, object_pairs_hook=_unique_keys)
        except DuplicateKey as exc:
            raise InputError(Problem(str(p), str(exc))) from None
        except json.JSONDecodeError as exc:
            raise InputError(Problem(f"{p}:{exc.lineno}", f"not valid JSON: {exc.msg}")) from None
    if kind == "toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(Problem(str(p), f"not valid TOML: {exc}")) from None
    import yaml

    try:
        return yaml.load(text, Loader=_unique_key_loader())  # a SafeLoader that also refuses repeated keys
    except DuplicateKey as exc:
        mark = getattr(exc, "mark", None)
        raise InputError(Problem(f"{p}:{mark.line + 1}" if mark else str(p), str(exc))) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise InputError(Problem(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")) from None


def validated(model: type[M], data: Any, source: str, *, what: str = "file") -> M:
    """Validate parsed data as ``model``; ``InputError`` with one problem per bad field (named, with its value).

    Args:
        source: where the data came from, prefixed to every problem (``rubrics/x.yaml``, ``judge.toml: gate``).
        what: what the data is, for the message when it is not a mapping at all ("a rubric file").
    """
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise InputError(Problem(source, f"{what} must hold a mapping, got {type(data).__name__}"))
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(validation_problems(err, source, data), source=source) from None


def load_versioned(
    path: str | Path, model: type[M], what: str, *, version: int, kind: str | None = None, written_by: str = ""
) -> M:
    """A JSON file a verb wrote (calibrator, aligned judge, exemplar set): an object, of ``kind`` when given, at
    ``format_version`` ``version``, validated; ``InputError`` naming the file and what is wrong."""
    p = Path(path)
    data = read_document(p, what, fmt="json")
    if not isinstance(data, dict):
        raise InputError(Problem(str(p), f"a {what} must be a JSON object, got {type(data).__name__}"))
    if kind is not None and data.get("kind") != kind:
        by = f" (written by {written_by!r})" if written_by else ""
        raise InputError(Problem(str(p), f"not an {kind} file{by}" if kind[0] in "aeiou" else f"not a {kind} file{by}"))
    if data.get("format_version") != version:
        raise InputError(Problem(f"{p}: format_version", f"expected {version}, got {data.get('format_version')!r}"))
    return validated(model, data, str(p))


def load_document(path: str | Path, model: type[M], what: str, fmt: DocumentFormat | None = None) -> M:
    """``read_document`` then ``validated``: a file holding one ``model``, every problem named."""
    return validated(model, read_document(path, what, fmt), str(path), what=f"a {what}")


def _loc(loc: tuple[Any, ...], data: Any) -> tuple[str, Any]:
    """Render a pydantic error location as a dotted path with names (``scale[2].anchor``) and fetch the value."""
    parts: list[str] = []
    cur: Any = data
    for key in loc:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(("." if parts else "") + str(key))
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            cur = None
    return "".join(parts) or "(top level)", cur


def validation_problems(err: ValidationError, source: str, data: Any, line_prefix: str = "") -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into one ``Problem`` per error, naming the field and the bad value."""
    out = []
    for e in err.errors():
        path, value = _loc(tuple(e["loc"]), data)
        msg = e["msg"]
        if e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field (not part of the format; check the spelling)"
        shown = "" if e["type"] == "missing" else f" (got {value!r:.80})"
        out.append(Problem(f"{source}{line_prefix}: {path}", f"{msg}{shown}"))
    return out

"""Registries: the names of the tool's extensions (verbs, importers, report formats and builders, probes), each
filled where the thing is defined, so no list elsewhere has to be kept in step with the code.

A thing registers itself in its own module::

    FORMATS: Registry[Renderer] = Registry("report format", where={"md": "judge.report.markdown", ...})

    @FORMATS.register("md")            # in judge/report/markdown.py
    def markdown_file(board, report): ...

A registry is filled lazily, so ``judge --help`` imports nothing it does not show:

* ``where`` maps a name to the module that defines it: the names (for choices and ``--help``) are known without an
  import, and looking a name up imports only its module. With ``whole_modules`` the module itself is the thing
  (the verbs: each is a module with ``register`` and ``run``).
* ``package`` names a package whose every module is imported on the first lookup (the importers): a new module
  in it that registers something is found with no other change.

Looking up an unknown or misspelt name is a ``UsageError`` that names the nearest registered one. A name that
the registry was told about but whose module is missing, or does not register it, is a ``RegistryError``: a
fault of this tool, never silently skipped.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, Generic, TypeVar

from judge.errors import UsageError

T = TypeVar("T")


class RegistryError(Exception):
    """A registry is inconsistent with the code: a module it names is missing, or a name is registered twice, or
    without the thing it names. A fault of this tool (a developer's mistake), not of the user's input."""


def nearest(word: str, options: Sequence[str]) -> str | None:
    """The option a typo most likely meant: underscores for dashes first, then the closest spelling (None when
    ``word`` is itself an option or nothing is close)."""
    if word in options:
        return None
    dashed = word.replace("_", "-")
    if dashed in options:
        return dashed
    near = difflib.get_close_matches(dashed, list(options), n=1, cutoff=0.6)
    return near[0] if near else None


def _qualname(thing: object) -> str:
    """``module.Name`` of a function, class or module; ``a <Type> value`` of anything else."""
    if isinstance(thing, ModuleType):
        return thing.__name__
    name = getattr(thing, "__qualname__", None)
    return f"{getattr(thing, '__module__', '?')}.{name}" if name else f"a {type(thing).__name__} value"


def _same(old: object, new: object) -> bool:
    """The same definition: the very object, an equal value, or a function or class of the same module and name
    (its module was reloaded)."""
    if old is new or old == new:
        return True
    return hasattr(new, "__qualname__") and _qualname(old) == _qualname(new)


class Registry(Generic[T]):
    """Names -> things of one kind (see the module docstring).

    Args:
        what: what a name names, for messages ("report format").
        where: name -> module that defines it (looked up lazily; the order is the order of ``names()``).
        package: a package whose modules are all imported before the first lookup.
        whole_modules: the module named by ``where`` is itself the thing.
        accepts: a check of a thing being registered, and ``requirement`` says what it must be.
    """

    def __init__(
        self,
        what: str,
        *,
        where: Mapping[str, str] | None = None,
        package: str | None = None,
        whole_modules: bool = False,
        accepts: Callable[[Any], bool] = callable,
        requirement: str = "a callable",
    ) -> None:
        self.what = what
        self.where: dict[str, str] = dict(where or {})
        self.package = package
        self.whole_modules = whole_modules
        self._accepts = accepts
        self._requirement = requirement
        self._things: dict[str, T] = {}
        self._discovered = package is None

    # -- filling ------------------------------------------------------------------------------------------------

    def add(self, name: str, thing: T) -> T:
        """Register ``thing`` as ``name``; a second, different thing under the same name is a ``RegistryError``.

        Re-registering the same definition (its module reloaded) replaces it.
        """
        if not name or not isinstance(name, str):
            raise RegistryError(f"a {self.what} needs a name, got {name!r}")
        if thing is None or not self._accepts(thing):
            raise RegistryError(f"{self.what} {name!r} cannot register without {self._requirement} (got {thing!r})")
        old = self._things.get(name)
        if old is not None and not _same(old, thing):
            a, b = _qualname(old), _qualname(thing)
            both = f"{a} and {b}" if a != b else f"two different definitions ({a})"
            raise RegistryError(f"{self.what} {name!r} is registered twice: by {both}")
        self._things[name] = thing
        return thing

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of ``add``: ``@REGISTRY.register("name")`` above the definition."""

        def decorate(thing: T) -> T:
            return self.add(name, thing)

        return decorate

    def remove(self, name: str) -> None:
        """Forget ``name`` (tests that register a toy thing clean up with it)."""
        self._things.pop(name, None)
        self.where.pop(name, None)

    # -- looking up ---------------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every registered name: those of ``where`` first, in its order, then those registered otherwise (after
        importing ``package``, if there is one)."""
        self._discover()
        return [*self.where, *(n for n in self._things if n not in self.where)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        if name in self.where or name in self._things:
            return True
        self._discover()
        return name in self._things

    def get(self, name: str, *, flag: str | None = None) -> T:
        """The thing registered as ``name``; an unknown name is a ``UsageError`` naming the nearest (``flag``, e.g.
        ``--format``, says where the user gave it)."""
        if name not in self._things and name in self.where:
            self._load(name)
        if name not in self._things:
            self._discover()
        if name not in self._things:
            raise self.unknown(name, flag=flag)
        return self._things[name]

    def items(self) -> list[tuple[str, T]]:
        """``(name, thing)`` for every name (imports every module of ``where``)."""
        return [(n, self.get(n)) for n in self.names()]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def values(self) -> list[T]:
        """Every registered thing, in the order of ``names()``."""
        return [thing for _, thing in self.items()]

    def check(self, names: Sequence[str], *, flag: str | None = None) -> None:
        """Raise ``unknown`` for the names that are not registered (all of them in one message)."""
        bad = [n for n in dict.fromkeys(names) if n not in self]
        if bad:
            raise self.unknown(*bad, flag=flag)

    def unknown(self, *names: str, flag: str | None = None) -> UsageError:
        """The error for names that are not registered: each with the nearest registered name, and all of them."""
        known = self.names()
        shown = []
        for name in names:
            near = nearest(name, known)
            shown.append(f"{name!r}" + (f" (did you mean {near!r}?)" if near else ""))
        where = f"{flag}: " if flag else ""
        plural = "s" if len(names) > 1 else ""
        return UsageError(
            f"{where}unknown {self.what}{plural} {', '.join(shown)}; the {self.what}s are: {', '.join(known)}"
        )

    # -- internals ----------------------------------------------------------------------------------------------

    def _load(self, name: str) -> None:
        module_name = self.where[name]
        module = _import(module_name, f"{self.what} {name!r}")
        if self.whole_modules:
            self.add(name, module)  # type: ignore[arg-type]
        elif name not in self._things:
            raise RegistryError(
                f"{self.what} {name!r} is said to be defined in {module_name}, which does not register it "
                f"(a {self.what} registers itself there, with {self._requirement})"
            )

    def _discover(self) -> None:
        if self._discovered or self.package is None:
            return
        import pkgutil  # only here: `judge --help` never discovers

        package = _import(self.package, f"the {self.what}s")
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            _import(f"{self.package}.{info.name}", f"the {self.what}s")
        # only once every module imported: a module that failed fails again on the next lookup, never skipped
        self._discovered = True


def _import(module_name: str, what: str) -> ModuleType:
    """Import ``module_name``; a missing module is a ``RegistryError`` naming what needed it (a module that exists
    but fails on a missing dependency of its own raises as it is, with that dependency's name)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise RegistryError(f"{what}: module {module_name} does not exist (misspelt, or not written yet?)") from exc
        raise

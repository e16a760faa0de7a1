"""The argument parser of every verb: a misspelt flag, choice or verb gets "did you mean ...?", under the usage of
the verb it was given to.

argparse hands a verb's unknown flags up to the top-level parser, which then prints ``judge``'s own usage and
"unrecognized arguments" with no hint. Here each parser checks what it was left with itself, so the message is
the verb's (``judge run: error: unrecognized arguments: --rated_only; did you mean --rated-only?``), and an
invalid choice or verb names the nearest valid one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, cast

from judge.registry import nearest as _nearest  # the one "did you mean", shared with the registries


def _flags(args: Sequence[str]) -> list[str]:
    """The ``--long`` flags among ``args`` (up to a bare ``--``, after which everything is a value)."""
    out = []
    for a in args:
        if a == "--":
            break
        if a.startswith("--"):
            out.append(a)
    return out


class JudgeParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` that suggests the flag, choice or verb a typo meant (see the module docstring).

    Sub-parsers made by ``add_subparsers`` are of this class too, so every verb and sub-verb reports its own
    unknown arguments.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if args is not None and self._subparsers is None:
            # A verb's own flags, checked before argparse looks for the required ones: "--benchmrk" must be named
            # as the typo it is, not reported as a missing --benchmark.
            unknown = [a for a in _flags(args) if not self._known_flag(a.split("=", 1)[0])]
            if unknown:
                self.error(self._unrecognized(unknown))
        ns, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self._unrecognized(extras))
        return ns, extras

    def _known_flag(self, flag: str) -> bool:
        """A flag this parser takes, or a prefix of some (argparse expands it, or says it is ambiguous)."""
        if flag in self._option_string_actions:
            return True
        return self.allow_abbrev and any(s.startswith(flag) for s in self._option_string_actions)

    def _unrecognized(self, extras: list[str]) -> str:
        options = [s for s in self._option_string_actions if s.startswith("--")]
        shown = []
        for arg in extras:
            near = _nearest(arg.split("=", 1)[0], options) if arg.startswith("-") else None
            shown.append(f"{arg} (did you mean {near}?)" if near else arg)
        return "unrecognized arguments: " + " ".join(shown) + f"; see '{self.prog} --help'"

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if isinstance(action, LazySubParsers):
            action.fill_now()
        choices = action.choices
        if choices is not None and value not in choices:
            names = [str(c) for c in choices]
            near = _nearest(str(value), names)
            what = "choice"
            if isinstance(action, argparse._SubParsersAction):  # named as its metavar: verb, kind (judge import)
                what = action.metavar.lower() if isinstance(action.metavar, str) else "verb"
            msg = f"invalid {what}: {value!r} (choose from {', '.join(names)})"
            if near:
                msg += f"; did you mean {near}?"
            raise argparse.ArgumentError(action, msg)


class LazySubParsers(argparse._SubParsersAction):
    """Sub-commands of which some are added only when this level is used (``fill``, called once): the kinds of
    ``judge import`` come from the importers' registry, which ``judge --help`` must not import.

    Use: ``kinds = add_lazy_subparsers(p, add_the_rest, dest=..., metavar=...)``.
    """

    fill: Callable[[LazySubParsers], None] | None = None

    def fill_now(self) -> None:
        fill, self.fill = self.fill, None
        if fill is not None:
            fill(self)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:  # fmt: skip
        self.fill_now()
        super().__call__(parser, namespace, values, option_string)

    def _get_subactions(self) -> list[argparse.Action]:  # what --help lists
        self.fill_now()
        return super()._get_subactions()


def add_lazy_subparsers(
    parser: argparse.ArgumentParser, fill: Callable[[LazySubParsers], None], **kwargs: Any
) -> LazySubParsers:
    """``parser.add_subparsers(**kwargs)`` whose ``fill`` adds more sub-commands when this level is first used."""
    action = cast(LazySubParsers, parser.add_subparsers(action=LazySubParsers, **kwargs))
    action.fill = fill
    return action

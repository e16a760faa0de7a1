"""Exception hierarchy. Every error a user can fix says where (file, line, field), what, and what was expected.

The CLI maps these to exit codes: ``InputError``/``UsageError`` -> 2, ``RunIncomplete`` -> 1.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The most problems an ``InputError`` message lists (all stay in ``InputError.problems``).
MAX_LISTED = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what was found, what was expected."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class JudgeError(Exception):
    """Base class of every error raised on purpose by reappraisal-judge."""


class UsageError(JudgeError):
    """The command was called wrongly (exit code 2)."""


class InputError(JudgeError):
    """An input file is malformed. Carries every problem found, not just the first (exit code 2)."""

    def __init__(self, problems: list[Problem] | Problem | str, *, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(source or "input", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        head = f"{len(self.problems)} problem(s) in {source}" if source else f"{len(self.problems)} problem(s)"
        # A file of 10,000 bad lines is one message of readable length: the first problems, and a count of the rest.
        # (One problem more than the cap is shown whole: the count would take its line.)
        cut = len(self.problems) > MAX_LISTED + 1
        shown = [f"  - {p}" for p in (self.problems[:MAX_LISTED] if cut else self.problems)]
        if cut:
            shown.append(f"  ... and {len(self.problems) - MAX_LISTED:,} more problem(s)")
        body = "\n".join(shown)
        super().__init__(f"{head}:\n{body}" if len(self.problems) > 1 or source else str(self.problems[0]))


class ProviderError(JudgeError):
    """A permanent provider failure (bad key, bad request, unknown model): the run cannot go on."""


class RunIncomplete(JudgeError):
    """The run stopped before finishing (budget reached, permanent provider error); exit code 1."""


class StaleArtifact(JudgeError):
    """An artifact (calibrator, baseline) does not match what it is applied to."""


class Interrupted(JudgeError):
    """Ctrl-C, with what it left said truthfully (e.g. which outputs are unchanged); exit code 130."""

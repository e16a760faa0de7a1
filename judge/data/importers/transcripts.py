"""A whole conversation in one table cell ("Seeker: ...\\nSupporter: ..."), split into turns.

A line that starts with a speaker's name and a colon opens a turn; every other line continues the turn before it
(a speaker who wrote two paragraphs). The speakers are named by the user (``--speakers Seeker=seeker,Supporter=
supporter``: the prefix as written -> the role) or detected: a name counts as a speaker when it opens the first line
of some transcript, or opens lines in at least half of them. Detection is reported, with how many transcripts
each speaker appears in, so a wrong guess ("Note:" taken for a speaker) is seen and fixed with ``--speakers``.

Example::

    speakers = parse_speakers("Seeker=seeker,Supporter=supporter")
    split_transcript("Seeker: hi\\nSupporter: hello\\nhow are you?", speakers)
    # Split(turns=[Turn(role='seeker', text='hi'), Turn(role='supporter', text='hello\\nhow are you?')],
    #       continuations=1, before="")
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from judge.data.benchmark import ROLE_PATTERN, Turn
from judge.errors import UsageError

# "Name: text": a name of at most four words that starts with a letter, before the first colon of the line
_PREFIX = re.compile(r"^\s*(?P<name>[^\W\d_][\w.'-]*(?: [\w.'-]+){0,3})\s*:[ \t]?(?P<rest>.*)$")


def role_of(name: str) -> str:
    """The role a speaker's name becomes when none is given: lower case, runs of other characters as ``_``."""
    return re.sub(r"[^a-z0-9_-]+", "_", name.strip().lower()).strip("_")


def parse_speakers(spec: str) -> dict[str, str]:
    """``Seeker=seeker,Supporter=supporter`` (or ``Seeker,Supporter``) -> prefix -> role.

    Raises:
        UsageError: an empty name, a role that is not a word, or a prefix given twice.
    """
    out: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, _, role = part.partition("=")
        name, role = name.strip(), (role.strip() or role_of(name))
        if not name:
            raise UsageError(
                f"--speakers {spec!r}: {part!r} names no speaker; expected PREFIX=ROLE, e.g. Seeker=seeker"
            )
        if not re.fullmatch(ROLE_PATTERN, role):
            raise UsageError(f"--speakers {spec!r}: role {role!r} must be a word such as seeker or supporter")
        if name.lower() in {n.lower() for n in out}:
            raise UsageError(f"--speakers {spec!r}: speaker {name!r} is named twice")
        out[name] = role
    if not out:
        raise UsageError(f"--speakers {spec!r}: expected PREFIX=ROLE pairs, e.g. Seeker=seeker,Supporter=supporter")
    return out


@dataclass
class Split:
    """One transcript split into turns: ``continuations`` counts the lines kept with the turn before them;
    ``before`` is any text before the first speaker (a problem for the caller to report)."""

    turns: list[Turn] = field(default_factory=list)
    continuations: int = 0
    before: str = ""


def split_transcript(text: str, speakers: dict[str, str]) -> Split:
    """Split ``text`` into turns at lines opening with a speaker of ``speakers`` (prefix -> role, any case).

    Blank lines at the start and end of a turn are dropped; blank lines inside a turn are kept.
    """
    by_lower = {name.lower(): role for name, role in speakers.items()}
    out = Split()
    lines: list[str] = []
    role: str | None = None
    before: list[str] = []

    def close() -> None:
        if role is not None:
            out.turns.append(Turn(role=role, text="\n".join(lines).strip("\n").strip()))

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        m = _PREFIX.match(line)
        speaker = by_lower.get(m["name"].lower()) if m else None
        if m and speaker is not None:
            close()
            role, lines = speaker, [m["rest"]]
        elif role is None:
            before.append(line)
        else:
            lines.append(line)
            out.continuations += bool(line.strip())
    close()
    out.before = "\n".join(before).strip()
    return out


@dataclass
class Detected:
    """Speakers found in a column of transcripts: prefix -> role, and prefix -> transcripts it appears in."""

    speakers: dict[str, str]
    seen_in: dict[str, int]


def detect_speakers(texts: Sequence[str]) -> Detected:
    """The speaker prefixes of a column of transcripts (see the module docstring for the rule).

    Spellings of one name that differ only in case are one speaker, written as most often seen.
    """
    seen_in: Counter[str] = Counter()
    opens: set[str] = set()
    spelled: dict[str, Counter[str]] = {}
    for text in texts:
        names: set[str] = set()
        first = True
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if not line.strip():
                continue
            m = _PREFIX.match(line)
            if m:
                key = m["name"].lower()
                names.add(key)
                spelled.setdefault(key, Counter())[m["name"]] += 1
                if first:
                    opens.add(key)
            first = False
        seen_in.update(names)
    need = max(1, (len(texts) + 1) // 2)
    chosen = sorted(k for k, n in seen_in.items() if k in opens or n >= need)
    speakers: dict[str, str] = {}
    counts: dict[str, int] = {}
    for key in chosen:
        name = spelled[key].most_common(1)[0][0]
        speakers[name] = role_of(name)
        counts[name] = seen_in[key]
    return Detected(speakers=speakers, seen_in=counts)

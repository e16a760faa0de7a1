"""What reaches a terminal: its width, lines that fit it, and text that cannot drive it.

Two dangers, two tools:

- **Width.** A line longer than the terminal wraps, and a live line (``\\r`` then the new text) can then no longer
  be redrawn: each update stacks a new row. ``width`` measures the terminal a stream is attached to and ``fit``
  shortens a line to it.
- **Control characters.** A rationale, a system name or a post is text anyone can write. Printed raw, an escape
  sequence in it can set the window title, clear the screen or rewrite what was printed before (``\\r``, cursor
  moves), and bidirectional overrides can reorder what is shown. ``visible`` writes every such character as an
  escape (``\\x1b``, ``\\u202e``) instead; ``guard_terminal`` (called by ``judge``'s ``main``) puts that filter on
  stdout and stderr whenever they are terminals, so every verb's output is covered, whatever it prints. Output
  that is not a terminal (a pipe, a file, ``--json`` read by a script) is left exactly as it is.

Code that draws on the terminal on purpose (the live progress line's ``\\r``) writes to ``raw(stream)``.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from typing import Any, TextIO

DEFAULT_WIDTH = 80
# Text sent to a pipe or a file (a CI log, `judge agree > out.txt`) has no terminal to fit: it is laid out for a
# wide window, so that little is left out; $COLUMNS still sets it.
PIPE_WIDTH = 160

# C0 controls but tab and newline, DEL, C1 controls, the Unicode line/paragraph separators and the bidirectional
# embeddings, overrides and isolates (the "Trojan Source" characters).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every character that could control a terminal written as an escape (``"\\x1b"``); newlines
    and tabs stay.

    Example::

        visible("ok\\x1b]0;pwned\\x07")  # 'ok\\\\x1b]0;pwned\\\\x07'
    """
    return _CONTROL.sub(_escape, text)


def has_control(text: str) -> bool:
    """True when ``visible`` would change ``text``."""
    return _CONTROL.search(text) is not None


class SafeStream:
    """A text stream that writes through ``visible``: what is printed cannot drive the terminal it goes to.

    Every other attribute (``fileno``, ``isatty``, ``encoding``, ``flush``...) is the wrapped stream's;
    ``raw_stream`` is the wrapped stream itself, for code that draws on the terminal on purpose.
    """

    def __init__(self, stream: TextIO) -> None:
        self.raw_stream = stream

    def write(self, text: str) -> int:
        self.raw_stream.write(visible(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw_stream, name)


def is_terminal(stream: Any) -> bool:
    """True when ``stream`` is attached to a terminal (False for pipes, files and anything that cannot say)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def guard_terminal() -> None:
    """Put ``SafeStream`` on ``sys.stdout`` and ``sys.stderr`` where they are terminals (once; idempotent)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, SafeStream) and is_terminal(stream):
            setattr(sys, name, SafeStream(stream))


def raw(stream: Any) -> Any:
    """The stream under a ``SafeStream`` (or ``stream`` itself): for writing deliberate control characters."""
    return getattr(stream, "raw_stream", stream) if isinstance(stream, SafeStream) else stream


def width(stream: Any = None, default: int = DEFAULT_WIDTH) -> int:
    """The width in columns of the terminal ``stream`` (default stdout) is attached to.

    ``$COLUMNS`` wins when set (as in ``shutil.get_terminal_size``); then the terminal itself; else ``default``
    (a pipe or a file has no width).
    """
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    stream = raw(stream if stream is not None else sys.stdout)
    try:
        cols = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return default
    return cols if cols > 0 else default


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (CJK, most emoji) characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def output_width(stream: Any = None) -> int:
    """The width to lay text out for on ``stream`` (default stdout): its terminal's, or ``PIPE_WIDTH`` off a
    terminal (``$COLUMNS`` wins in both cases)."""
    return width(stream, default=PIPE_WIDTH)


def fit(line: str, cols: int) -> str:
    """``line`` cut to at most ``cols`` terminal columns, an ellipsis marking the cut."""
    if text_width(line) <= cols:
        return line
    if cols < 1:
        return ""
    out, used = [], 0
    for ch in line:
        w = _char_width(ch)
        if used + w > cols - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"

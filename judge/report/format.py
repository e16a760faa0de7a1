"""Number formatting shared by every report: one place decides how a missing value, a CI or a sign is written.

Example::

    from judge.report.format import num, with_ci
    num(0.2712)                          # '0.27'
    num(-1e-16)                          # '0.00' (no '-0.00' for a value that is zero up to rounding)
    with_ci(0.27, (0.18, 0.36))          # '0.27 [0.18, 0.36]'
    with_ci(4.71, None, note="too few")  # '4.71 [too few]'
"""

from __future__ import annotations

DASH = "–"


def fmt(x: float | None, spec: str, missing: str = "n/a") -> str:
    """``format(x, spec)``, or ``missing`` for None (no other change: for outputs that must keep their bytes)."""
    return missing if x is None else format(x, spec)


def num(x: float | None, digits: int = 2, *, sign: bool = False, missing: str = DASH) -> str:
    """``x`` with ``digits`` decimals (``+`` for positive values when ``sign``); a rounded zero never shows a minus."""
    if x is None:
        return missing
    r = round(float(x), digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{r:+.{digits}f}" if sign else f"{r:.{digits}f}"


def interval(ci: tuple[float, float], digits: int = 2, *, sign: bool = False) -> str:
    """``[low, high]``."""
    return f"[{num(ci[0], digits, sign=sign)}, {num(ci[1], digits, sign=sign)}]"


def with_ci(
    x: float | None,
    ci: tuple[float, float] | None,
    digits: int = 2,
    *,
    sign: bool = False,
    missing: str = "n/a",
    note: str | None = None,
) -> str:
    """``value [low, high]``; ``value [too few]`` when a note says the sample was too thin for a CI; the value alone
    when there is no CI; ``missing`` when there is no value."""
    if x is None:
        return missing
    text = num(x, digits, sign=sign)
    if ci is not None:
        return f"{text} {interval(ci, digits, sign=sign)}"
    if note and note.startswith("too few"):
        return f"{text} [too few]"
    return text


def pct(x: float | None, digits: int = 1, missing: str = DASH) -> str:
    """A share as a percentage: ``0.125`` -> ``12.5%``."""
    return missing if x is None else f"{x:.{digits}%}"

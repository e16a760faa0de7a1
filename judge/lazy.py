"""Lazy public faces: a stage's ``__init__`` names what it exports, and each name's module is imported on first
use, so importing a stage (or ``judge --help``) loads nothing heavy.

A face defines ``_WHERE`` (name -> defining module) and::

    def __getattr__(name: str) -> Any:
        return load_attribute(__name__, _WHERE, name)
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def load_attribute(face: str, where: Mapping[str, str], name: str) -> Any:
    """``name`` from the module ``where`` says defines it; ``AttributeError`` (as Python expects) for any other."""
    if name in where:
        return getattr(importlib.import_module(where[name]), name)
    raise AttributeError(f"module {face!r} has no attribute {name!r}")

"""Test doubles shared by the test suite and the benchmarks: an OpenAI-compatible stub server with faults.

Names are loaded lazily, so ``python -m tests.support.stub`` does not import the module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.stub import FAULT_KINDS, Faults, StubServer, StubStats, default_responder, stub_process

__all__ = ["FAULT_KINDS", "Faults", "StubServer", "StubStats", "default_responder", "stub_process"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("tests.support.stub"), name)
    raise AttributeError(f"module 'tests.support' has no attribute {name!r}")

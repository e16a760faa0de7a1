"""Helpers shared by the verb modules: common options and JSON printing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any, name: str, help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """Add a verb parser whose epilog teaches by example."""
    from judge.cli import HelpFormatter

    return sub.add_parser(
        name, help=help, description=description, epilog="examples:\n" + examples, formatter_class=HelpFormatter
    )


def print_json(data: Any) -> None:
    """Print one JSON object on stdout (for scripts)."""
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")

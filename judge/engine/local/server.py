"""Serve an embedded model over HTTP with llama.cpp's own OpenAI-compatible server (``python -m llama_cpp.server``).

Used for judge pools (several servers behind a LiteLLM Router) and by the tests and benchmarks that start real
servers on 127.0.0.1. Judge it as ``openai/<alias>`` with ``--api-base http://127.0.0.1:<port>/v1``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from judge.errors import JudgeError


def start_server(
    model: Path,
    port: int,
    *,
    threads: int = 2,
    alias: str = "qwen2.5-0.5b",
    n_ctx: int = 2048,
    log: IO[bytes] | int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start ``llama_cpp.server`` for ``model`` on 127.0.0.1:``port`` (returns at once; see ``wait_ready``)."""
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        alias,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_ctx",
        str(n_ctx),
    ]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    """Block until the server answers ``GET /v1/models``.

    Raises:
        JudgeError: the server exited, or did not answer within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise JudgeError(f"llama.cpp server on port {port} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise JudgeError(f"llama.cpp server on port {port} did not answer within {timeout_s:.0f} s")

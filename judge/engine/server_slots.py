"""How many requests a self-hosted OpenAI-compatible server works on at once, where it says so.

A server that decodes N requests in parallel queues the rest. Sending it more than N at once does not make a run
faster; it makes the queued requests wait, and a request that waits longer than the client's timeout is abandoned
and sent again, while the server still works on the first copy: measured with llama-cpp-python's server (one
request at a time) and the default concurrency 8, 8 judgments took 33 calls and 25 retries. So before the calls,
the run asks each server given by ``api_base`` how many slots it has, and sends it at most that many at once.

What servers say:

- llama.cpp's ``llama-server``: ``GET /props`` -> ``{"total_slots": N, ...}`` (also ``GET /slots``, one entry per
  slot, when started with ``--slots``);
- llama-cpp-python's server (``python -m llama_cpp.server``, the one docs/local-judge.md starts): no slot endpoint,
  but it serves one request at a time by design (a global lock around its model), and names itself in its OpenAPI
  description (``GET /openapi.json``: title "llama.cpp Python API"): 1 slot;
- vLLM, Ollama, hosted APIs: nothing that says it. No cap; ``--concurrency`` is what is sent (docs/local-judge.md).

Only a judge with one ``api_base`` is probed: a pool's deployments are spread by LiteLLM's Router, whose
per-deployment limits (``rpm``/``tpm``) are the way to bound them (docs/scale.md).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PROBE_TIMEOUT_S = 3.0
LLAMA_CPP_PYTHON_TITLE = "llama.cpp Python API"


@dataclass(frozen=True)
class Slots:
    """A server's parallel slots and how they were learned (for the run's note)."""

    n: int
    source: str


def _roots(api_base: str) -> list[str]:
    """The server's root (``http://host:8080`` for ``http://host:8080/v1``), then the base itself."""
    parts = urlsplit(api_base.rstrip("/"))
    path = parts.path
    root_path = path[: -len("/v1")] if path.endswith("/v1") else path
    root = urlunsplit((parts.scheme, parts.netloc, root_path, "", ""))
    return list(dict.fromkeys([root, api_base.rstrip("/")]))


class _Unreachable(Exception):
    """The server did not answer at all (refused, timed out): probing further would only wait longer."""


def _get_json(url: str, timeout_s: float, api_key: str | None) -> Any:
    """The JSON at ``url``, or None (not found, not JSON); raises ``_Unreachable`` when nothing answered."""
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    if api_key:
        req.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # the user's own server
            return json.loads(resp.read(1_000_000)) if resp.status == 200 else None
    except urllib.error.HTTPError:
        return None  # it answered: just not this endpoint
    except (urllib.error.URLError, OSError) as exc:
        raise _Unreachable(str(exc)) from None
    except ValueError:
        return None


def server_slots(api_base: str, *, api_key: str | None = None, timeout_s: float = PROBE_TIMEOUT_S) -> Slots | None:
    """The slots the server at ``api_base`` says it has (see the module docstring), or None when it does not say.

    Never raises: a server that does not answer these requests is simply not capped (its first call will say
    what is wrong with it, as before).
    """
    if urlsplit(api_base).scheme not in ("http", "https"):
        return None
    try:
        for root in _roots(api_base):
            props = _get_json(f"{root}/props", timeout_s, api_key)
            if isinstance(props, dict) and isinstance(props.get("total_slots"), int) and props["total_slots"] > 0:
                return Slots(props["total_slots"], "its /props: total_slots")
            slots = _get_json(f"{root}/slots", timeout_s, api_key)
            if isinstance(slots, list) and slots:
                return Slots(len(slots), "its /slots")
            api = _get_json(f"{root}/openapi.json", timeout_s, api_key)
            info = api.get("info") if isinstance(api, dict) else None
            title = info.get("title") if isinstance(info, dict) else None
            if isinstance(title, str) and LLAMA_CPP_PYTHON_TITLE in title:
                return Slots(1, "llama-cpp-python's server, which serves one request at a time")
    except _Unreachable:
        return None
    return None

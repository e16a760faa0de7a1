"""A durable, content-addressed cache of model replies (SQLite, WAL).

The key covers everything that changes the answer: the judge's identity (model, params, and where the answers come
from: the server it is sent to, a declared pool's deployments, or the embedded model's weights, see
``JudgeSpec.identity``), the messages, response format, rubric version and hash, sample index and seed. It leaves
out what does not (concurrency, timeouts, retries, keys). Two servers that answer under the same model name never
share answers; the deployments of one declared pool do. One row per reply, inserted when the reply arrives: an
interrupted run loses at most the calls in flight. The cache stores replies, never credentials.

Besides replies the cache keeps a few *facts* the engine learnt from the provider layer (e.g. whether LiteLLM says a
model supports JSON-schema answers), so a run the cache can answer never needs to load LiteLLM to plan its keys.

Location: ``--cache-dir``, else ``$JUDGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/reappraisal-judge``, else
``~/.cache/reappraisal-judge``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from judge.errors import InputError, JudgeError, Problem, UsageError

CACHE_FORMAT = 2  # 2: the judge identity includes the endpoint (old entries simply miss)


class CachedReply(BaseModel):
    """What a model call returned, enough to re-parse it without calling again."""

    content: str | None
    finish_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = Field(default=0.0, description="USD; None when the model has no known price.")
    latency_s: float = 0.0
    choice_probs: dict[str, float] | None = Field(
        default=None, description="Exact probability of each answer choice (the embedded judge's score-only answers)."
    )
    logprobs: list[dict[str, Any]] | None = Field(
        default=None, description="Token log-probabilities of the answer (OpenAI's logprobs.content), when asked for."
    )


def default_cache_dir() -> Path:
    env = os.environ.get("JUDGE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reappraisal-judge"


class CacheUnwritable(JudgeError):
    """The default reply cache cannot be written (a fault of the machine, exit 1; a cache directory the user set
    is refused as bad input instead)."""


def unwritable_cache(directory: Path, *, given: bool, exc: BaseException) -> JudgeError:
    """A permanent error naming the cache directory, why it cannot be written, and where the setting came from."""
    why = next(
        (f"{p} is a file, not a directory" for p in (directory, *directory.parents) if p.exists() and not p.is_dir()),
        getattr(exc, "strerror", None) or str(exc),
    )
    if given:
        return UsageError(f"--cache-dir {directory}: the reply cache cannot be written there ({why})")
    if env := os.environ.get("JUDGE_CACHE_DIR"):
        return UsageError(f"JUDGE_CACHE_DIR={env}: the reply cache cannot be written there ({why})")
    return CacheUnwritable(
        f"reply cache {directory}: cannot be written ({why}); set JUDGE_CACHE_DIR or pass --cache-dir to a "
        "directory you can write"
    )


def cache_key(
    *,
    model_identity: dict[str, Any],
    messages: list[dict[str, str]],
    response_format: Any,
    rubric_ref: str,
    sample: int,
    seed: int | None,
) -> str:
    """sha256 over the canonical JSON of everything that changes the answer."""
    payload = {
        "v": CACHE_FORMAT,
        "judge": model_identity,
        "messages": messages,
        "response_format": response_format,
        "rubric": rubric_ref,
        "sample": sample,
        "seed": seed,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Cache:
    """SQLite-backed reply cache, safe to share between the threads of one process.

    Args:
        directory: where ``cache.sqlite`` lives (created with private permissions).
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self.path = self.directory / "cache.sqlite"
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            # Several processes may share one cache (runs in parallel, the generator and a run): SQLite serialises
            # their writes; a writer waits up to 30 s for another's (each holds it for one row, microseconds).
            # Set before switching to WAL, which itself needs a moment of exclusive access.
            self._db.execute("PRAGMA busy_timeout=30000")
            # WAL + synchronous=NORMAL: a committed row survives the process being killed (not an OS crash, which
            # would cost at most a re-paid call); much faster than a full fsync per reply.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS facts (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute("BEGIN IMMEDIATE")  # can this process write at all? (a read-only file or directory)
            self._db.execute("ROLLBACK")
            os.chmod(self.path, 0o600)
        except (OSError, sqlite3.OperationalError) as exc:
            raise unwritable_cache(self.directory, given=directory is not None, exc=exc) from None
        except sqlite3.DatabaseError as exc:  # a file that is not a database (the cache only holds re-askable replies)
            raise InputError(
                Problem(
                    str(self.path),
                    f"not a usable reply cache (SQLite: {exc}). The reply cache lives here (--cache-dir, else "
                    "$JUDGE_CACHE_DIR, else the user cache): give another directory, or move this file away (cached "
                    "replies are then asked again)",
                )
            ) from None

    def get(self, key: str) -> CachedReply | None:
        with self._lock:
            row = self._db.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        return CachedReply.model_validate_json(row[0]) if row else None

    def get_many(self, keys: list[str]) -> dict[str, CachedReply]:
        """Look up many keys in one query per 500 (the fast path of a fully cached run)."""
        out: dict[str, CachedReply] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(f"SELECT key, reply FROM replies WHERE key IN ({marks})", chunk).fetchall()
            out.update((k, CachedReply.model_validate_json(v)) for k, v in rows)
        return out

    def put(self, key: str, reply: CachedReply) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO replies (key, reply) VALUES (?, ?)", (key, reply.model_dump_json())
            )

    def get_fact(self, name: str) -> Any:
        """A fact learnt earlier (JSON value), or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM facts WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def put_fact(self, name: str, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO facts (name, value) VALUES (?, ?)", (name, json.dumps(value)))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

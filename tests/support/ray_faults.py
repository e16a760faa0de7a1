"""Ray task bodies that fail on purpose, injected through ``judge_with_ray(task_body=...)``."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any


def dying_shard(marker: Path) -> Callable[[list[dict[str, Any]], int], list[dict[str, Any]]]:
    """A task body that, the first time any task runs it, makes one paid call and then SIGKILLs its own worker.

    ``marker`` records that the kill happened (and its pid). The body is a closure, so Ray pickles it by value and
    its workers need not import the test suite.
    """
    where = str(marker)

    def body(requests: list[dict[str, Any]], concurrency: int) -> list[dict[str, Any]]:
        from judge.engine.calls.ray_shards import judge_shard

        if not Path(where).exists():
            judge_shard(requests[:1], concurrency)  # a paid call: the retried task pays it again, as after a crash
            Path(where).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return judge_shard(requests, concurrency)

    return body

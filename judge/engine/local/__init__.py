"""The embedded local judge: llama.cpp models that run offline, called through LiteLLM as ``local/<name>``.

Importing this package is cheap (no LiteLLM, no llama.cpp). The weights are verified files assembled from the
``local`` extra's part packages (``judge.engine.local.models``); ``judge.engine.local.provider`` registers the
LiteLLM provider.

Example::

    from judge.engine.local import register_local_provider
    register_local_provider()
    # litellm.acompletion(model="local/qwen2.5-1.5b", ...) now runs in-process.
"""

from __future__ import annotations

from typing import Any

from judge.engine.local import user_models as _user_models  # noqa: F401  (connects MODELS to the user's registry)
from judge.engine.local.models import (
    DEFAULT_MODEL,
    MODELS,
    LocalModel,
    ModelFileError,
    ModelStatus,
    cache_dir,
    get_model,
    is_local_model,
    model_path,
    model_status,
    model_string,
)

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "LocalModel",
    "ModelFileError",
    "ModelStatus",
    "cache_dir",
    "get_model",
    "is_local_model",
    "model_path",
    "model_status",
    "model_string",
    "register_local_provider",
]


def register_local_provider() -> None:
    """Register the ``local/<name>`` LiteLLM provider (imports LiteLLM; idempotent)."""
    from judge.engine.local.provider import register_local_provider as _register

    _register()


def __getattr__(name: str) -> Any:  # lazy access to provider symbols without importing LiteLLM eagerly
    if name in ("load_engine", "LocalEngine", "LocalLLM"):
        from judge.engine.local import provider

        return getattr(provider, name)
    raise AttributeError(name)

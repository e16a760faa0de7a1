"""Judge pools: one judge served by several deployments of the same model, behind a ``litellm.Router``.

A pool is a judge with ``deployments`` in its TOML config::

    [judges.qwen-pool]
    model = "openai/qwen2.5-1.5b"
    routing_strategy = "simple-shuffle"      # any litellm.Router strategy
    deployments = [ { api_base = "http://127.0.0.1:8081/v1" }, { api_base = "http://127.0.0.1:8082/v1", rpm = 60 } ]

The Router picks a deployment per call, honours each one's rpm/tpm, and puts a failing deployment in cooldown so
the next attempt goes elsewhere. Retries stay ours: the Router is built with ``num_retries=0`` (and the provider
SDK with ``max_retries=0``), so every HTTP attempt is one attempt of ``call_judge``'s counted, backed-off loop,
which may land on another deployment. A pool declares its deployments equivalent: the cache key carries the pool
(its deployments' ``api_base`` and ``model``, see ``JudgeSpec.identity()``), so which deployment served a reply
changes nothing downstream, while a pool and a single server (or another pool) never share answers.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from judge.engine.judge_spec import Deployment, JudgeSpec
from judge.errors import UsageError

COOLDOWN_S = 30.0  # how long a failing deployment is skipped; a restarted server is used again after this
ALLOWED_FAILS = 1  # failures (per minute) before a deployment is cooled down: a dead server is dropped at once

_routers: dict[tuple[int, str], Any] = {}


def _deployment_key(dep: Deployment, spec: JudgeSpec) -> str | None:
    env = dep.api_key_env or spec.api_key_env
    if not env:
        return None
    key = os.environ.get(env)
    if not key:
        raise UsageError(f"judge {spec.name!r}: environment variable {env} (a deployment's API key) is not set")
    return key


def model_list(spec: JudgeSpec) -> list[dict[str, Any]]:
    """The Router's ``model_list``: every deployment under one model group named after the judge."""
    if not spec.deployments:
        raise UsageError(f"judge {spec.name!r} has no deployments: it is not a pool")
    out = []
    for n, dep in enumerate(spec.deployments):
        key = _deployment_key(dep, spec)
        params: dict[str, Any] = {
            "model": dep.model or spec.model,
            "timeout": spec.timeout,
            "max_retries": 0,  # the SDK's retries would be invisible to our counts
            # OpenAI-compatible servers without auth still want a value
            "api_key": key or ("none" if dep.api_base else None),
        }
        if dep.api_base:
            params["api_base"] = dep.api_base
        if dep.rpm:
            params["rpm"] = dep.rpm
        if dep.tpm:
            params["tpm"] = dep.tpm
        out.append(
            {
                "model_name": spec.name,
                "litellm_params": {k: v for k, v in params.items() if v is not None},
                "model_info": {"id": f"{spec.name}-{n}"},
            }
        )
    return out


def router_for(spec: JudgeSpec, litellm: Any) -> Any:
    """The pool's Router, built once per judge definition and event loop (its HTTP clients belong to a loop).

    Args:
        litellm: the configured LiteLLM module (``judge.engine.client`` owns its import and settings).
    """
    config = json.dumps(
        [spec.model, spec.routing_strategy, spec.timeout, [d.model_dump() for d in spec.deployments]], sort_keys=True
    )
    cache_key = (id(asyncio.get_running_loop()), f"{spec.name}:{config}")
    router = _routers.get(cache_key)
    if router is None:
        router = litellm.Router(
            model_list=model_list(spec),
            routing_strategy=spec.routing_strategy,
            num_retries=0,  # call_judge's loop retries (counted); each attempt may go to another deployment
            allowed_fails=ALLOWED_FAILS,
            cooldown_time=COOLDOWN_S,
            timeout=spec.timeout,
        )
        _routers[cache_key] = router
    return router


def pool_keys(spec: JudgeSpec) -> list[str]:
    """Every deployment's API key (to scrub them from error messages)."""
    return [k for d in spec.deployments if (k := _deployment_key(d, spec))]


async def pool_completion(spec: JudgeSpec, kwargs: dict[str, Any], litellm: Any) -> Any:
    """One attempt through the pool: ``kwargs`` are ``call_judge``'s, minus what the Router decides per deployment."""
    request = {k: v for k, v in kwargs.items() if k not in ("model", "api_base", "api_key", "max_retries", "timeout")}
    return await router_for(spec, litellm).acompletion(model=spec.name, **request)

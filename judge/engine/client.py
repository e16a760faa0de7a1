"""The one seam to LiteLLM: every judge call, hosted or local, goes through ``call_judge``.

LiteLLM is imported lazily, on the first real call, so a run served entirely from the cache never loads it.
Retries are ours (LiteLLM's own are turned off) so they are counted, use exponential backoff with full jitter,
and honour ``Retry-After``. Permanent errors (auth, bad request, unknown model) raise ``ProviderError`` at once.
Error messages are scrubbed of the API key before they are recorded or shown; an authentication failure says which
variable the key came from (never the key).

Costs: a model priced in LiteLLM's offline map is priced from it; a judge config can give its own prices
(``input_price_per_mtok``, ``output_price_per_mtok``); any other model is *unpriced*: its replies carry
``cost_usd=None``, never a made-up $0, and a ``--budget`` refuses it before any call (``price_known``).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from judge.engine.cache import Cache, CachedReply
from judge.engine.judge_spec import JudgeSpec
from judge.errors import JudgeError, ProviderError

_litellm: Any = None
_PRICE_CHECKED: set[str] = set()  # models whose price lookup was settled (see _settle_unknown_price)
_UNPRICED: set[str] = set()  # of those, the models LiteLLM has no price for (their replies are unpriced)


def litellm_module() -> Any:
    """Import and configure LiteLLM once (offline cost map, no telemetry, no per-call logging)."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_LOG", "ERROR")
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        # Not ``turn_off_message_logging``: with no logging callbacks it only adds work (a deepcopy of every
        # request and response to redact them, ~0.5 ms per call) and nothing is logged either way.
        litellm.turn_off_message_logging = False
        litellm.drop_params = True  # providers that lack e.g. `seed` still answer instead of failing
        litellm.num_retries = 0
        _litellm = litellm
    return _litellm


def load_provider_layer(note: Callable[[str], None] | None = None) -> Any:
    """``litellm_module()``, telling ``note`` before and after when this call is the one that imports it (the import
    takes seconds on a small machine: a run should never look stuck while it happens)."""
    if _litellm is not None or note is None:
        return litellm_module()
    note("loading the provider layer (LiteLLM) ...")
    t0 = time.perf_counter()
    module = litellm_module()
    note(f"provider layer loaded in {time.perf_counter() - t0:.1f}s")
    return module


class RetryableError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationFailed(ProviderError):
    """The provider refused the key (401/403); the message says which variable the key came from."""


class ContextOverflow(Exception):
    """The prompt does not fit the model's context window (recorded as unscored ``context_overflow``)."""


@dataclass
class CallResult:
    reply: CachedReply | None
    attempts: int
    error: str | None = None  # set when the call failed after all retries (-> unscored api_error)
    overflow: bool = False


def response_format_for(spec: JudgeSpec, schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The ``response_format`` to send: strict JSON schema where supported, llama.cpp's schema form otherwise.

    llama.cpp (in-process and its server) ignores or rejects ``json_schema`` but honours
    ``{"type": "json_object", "schema": ...}``; hosted OpenAI-style APIs take ``json_schema``.
    """
    mode = spec.response_format
    if mode == "auto":
        if spec.is_local or spec.api_base or any(d.api_base for d in spec.deployments):
            mode = "json_object"
        else:
            mode = "json_schema" if _supports_schema(spec.model) else "none"
    if mode == "none":
        return None
    if mode == "json_object":
        # llama.cpp grammars enforce maxLength: a rationale cannot run on until max_tokens cuts the JSON off, and
        # on a CPU the generated tokens are a third of the time of a judgment (~40 words is plenty for a reason).
        return {"type": "json_object", "schema": _bounded_rationales(schema)}
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _bounded_rationales(schema: dict[str, Any], max_chars: int = 200) -> dict[str, Any]:
    """A copy of ``schema`` whose ``rationale`` strings have a ``maxLength`` (nested answers included)."""
    out = dict(schema)
    props = {}
    for name, sub in (schema.get("properties") or {}).items():
        if name == "rationale" and isinstance(sub, dict) and sub.get("type") == "string":
            sub = {**sub, "maxLength": max_chars}
        elif isinstance(sub, dict) and sub.get("type") == "object":
            sub = _bounded_rationales(sub, max_chars)
        props[name] = sub
    if props:
        out["properties"] = props
    return out


def _supports_schema(model: str) -> bool:
    try:
        return bool(litellm_module().supports_response_schema(model=model))
    except Exception:  # unknown model in the local cost map: fall back to prompt + tolerant parser
        return False


def settle_response_format(spec: JudgeSpec, cache: Cache) -> JudgeSpec:
    """The judge with its ``response_format`` 'auto' decided, without loading LiteLLM when the cache knows.

    For a hosted judge 'auto' depends on whether LiteLLM says the model supports JSON-schema answers, and the
    answer is part of every cache key. It is asked once per LiteLLM version and kept in the cache as a fact, so a
    run the cache can answer plans its keys without importing LiteLLM.
    """
    if spec.response_format != "auto" or spec.is_local or spec.api_base or any(d.api_base for d in spec.deployments):
        return spec  # decided without LiteLLM (response_format_for)
    from importlib.metadata import PackageNotFoundError, version

    try:
        fact = f"supports_response_schema litellm={version('litellm')} model={spec.model}"
    except PackageNotFoundError:
        return spec
    supported = cache.get_fact(fact)
    if supported is None:
        supported = _supports_schema(spec.model)
        cache.put_fact(fact, supported)
    return spec.model_copy(update={"response_format": "json_schema" if supported else "none"})


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if code is None:
        resp = getattr(exc, "response", None)
        code = getattr(resp, "status_code", None)
    return int(code) if isinstance(code, int) else None


def _retry_after(exc: BaseException) -> float | None:
    headers: Any = None
    for attr in ("headers", "litellm_response_headers"):
        headers = getattr(exc, attr, None)
        if headers:
            break
    if not headers:
        resp = getattr(exc, "response", None)
        headers = getattr(resp, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return min(float(value), 120.0) if value is not None else None
    except (TypeError, ValueError):
        return None


def classify(exc: BaseException, secret: str | list[str] | None) -> Exception:
    """Map a provider exception to RetryableError, ContextOverflow or ProviderError (permanent)."""
    name = type(exc).__name__
    cause = _our_error(exc)
    if cause is not None:  # e.g. the embedded judge's model cannot be loaded: permanent, and already well said
        return ProviderError(scrub(str(cause), secret))
    msg = scrub(f"{name}: {exc}", secret)
    if "ContextWindowExceeded" in name or "context length" in msg.lower() or "context window" in msg.lower():
        return ContextOverflow(msg)
    code = _status(exc)
    if code in (401, 403) or name in ("AuthenticationError", "PermissionDeniedError"):
        return AuthenticationFailed(f"authentication failed: {msg[:300]}")
    if code in (400, 404, 422) or name in (
        "BadRequestError",
        "NotFoundError",
        "UnsupportedParamsError",
        "LiteLLMUnknownProvider",
        "UnprocessableEntityError",
    ):
        return ProviderError(f"the provider rejected the request (not retried): {msg[:300]}")
    # 408/409/429/5xx, timeouts, connection errors and anything unknown: transient.
    return RetryableError(msg[:500], _retry_after(exc))


def _our_error(exc: BaseException) -> JudgeError | None:
    """A ``JudgeError`` behind a provider exception (LiteLLM wraps what a custom provider raises), if any."""
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if isinstance(cur, JudgeError):
            return cur
        cur = cur.__cause__
        seen += 1
    return None


def scrub(text: str, secret: str | list[str] | None) -> str:
    """Remove the API key(s) (and any bearer token) from a message before it is logged or recorded."""
    for s in [secret] if isinstance(secret, str) else secret or []:
        if s:
            text = text.replace(s, "***")
    import re

    return re.sub(r"(?i)(bearer\s+|api[_-]?key[\"'=:\s]+)[A-Za-z0-9._\-]{8,}", r"\1***", text)


def backoff_delay(attempt: int, retry_after: float | None, base: float = 0.5, cap: float = 30.0) -> float:
    """Full-jitter exponential backoff; a server's Retry-After is a floor."""
    delay = random.uniform(0, min(cap, base * 2**attempt))
    return max(delay, retry_after) if retry_after is not None else delay


async def call_judge(
    spec: JudgeSpec,
    messages: list[dict[str, str]],
    response_format: dict[str, Any] | None,
    seed: int | None,
    *,
    sleep: Any = asyncio.sleep,
) -> CallResult:
    """Call the judge's model once (with retries); return the reply or the final transient error.

    Raises:
        ProviderError: a permanent error (bad key, bad request, unknown model) — the run cannot go on.
    """
    litellm = litellm_module()
    if spec.is_local:
        from judge.engine.local.provider import register_local_provider

        register_local_provider()
    else:
        for model in _models(spec):
            _settle_unknown_price(litellm, model)
    key = spec.api_key()
    secrets = [key] if key else []
    if spec.deployments:
        from judge.engine.pool import pool_keys

        secrets += pool_keys(spec)  # a deployment's own key can appear in an error too
    kwargs: dict[str, Any] = {
        "model": "local/qwen2.5-1.5b" if spec.model == "local" else spec.model,
        "messages": messages,
        "timeout": spec.timeout,
        "max_retries": 0,  # the provider SDK's own retries would be invisible to our counts and backoff
        **spec.params,
    }
    if seed is not None:
        kwargs["seed"] = seed
    if spec.expected_scores and not spec.is_local:  # the embedded judge returns exact answer probabilities
        from judge.engine.judge_spec import TOP_LOGPROBS

        kwargs["logprobs"] = True
        kwargs["top_logprobs"] = TOP_LOGPROBS
    if response_format is not None:
        kwargs["response_format"] = response_format
    if spec.api_base:
        kwargs["api_base"] = spec.api_base
    if key:
        kwargs["api_key"] = key
    elif spec.api_base:
        kwargs["api_key"] = "none"  # OpenAI-compatible servers without auth still want a value
    last = ""
    for attempt in range(spec.max_retries + 1):
        t0 = time.perf_counter()
        try:
            if spec.deployments:  # a pool (judge.engine.pool): the Router picks the deployment of each attempt
                from judge.engine.pool import pool_completion

                resp = await pool_completion(spec, kwargs, litellm)
            else:
                resp = await call_unlogged(litellm.acompletion, **kwargs)
        except Exception as exc:
            err = classify(exc, secrets)
            if isinstance(err, AuthenticationFailed):
                raise AuthenticationFailed(f"{err} ({spec.key_source()})") from None
            if isinstance(err, ProviderError):
                raise err from None
            if isinstance(err, ContextOverflow):
                return CallResult(None, attempt + 1, error=str(err), overflow=True)
            last = str(err)
            if attempt < spec.max_retries:
                await sleep(backoff_delay(attempt, getattr(err, "retry_after", None)))
            continue
        return CallResult(reply_from_response(litellm, resp, time.perf_counter() - t0, spec), attempt + 1)
    return CallResult(None, spec.max_retries + 1, error=last)


def _settle_unknown_price(litellm: Any, model: str) -> None:
    """Give a model LiteLLM has no price for (self-hosted, a stub) an explicit zero price, once per process, and
    remember it as unpriced.

    LiteLLM prices every response. For a model missing from its cost map it walks its fallback "generalizations"
    over the whole map before giving up with 0, on every call: ~0.25 ms of CPU per call (7% of a bare
    ``acompletion``, measured in benchmarks/perf). Registering the zero it would arrive at anyway makes that a
    dict lookup. Models with a known price are left alone, so hosted APIs are still priced from the cost map. The
    zero is only for LiteLLM's bookkeeping: the engine records such replies as unpriced (``reply_from_response``).
    """
    if model in _PRICE_CHECKED:
        return
    _PRICE_CHECKED.add(model)
    try:
        litellm.get_model_info(model)
        return  # priced (or at least mapped): LiteLLM's own numbers stand
    except Exception:
        _UNPRICED.add(model)  # its replies are recorded unpriced (cost None), whatever the zero below says
    try:
        provider = litellm.get_llm_provider(model)[1]
        litellm.register_model(
            {
                model: {
                    "input_cost_per_token": 0.0,
                    "output_cost_per_token": 0.0,
                    "litellm_provider": provider,
                    "mode": "chat",
                }
            }
        )
    except Exception:  # an internal detail of LiteLLM moved: pricing is only slower, never wrong
        return


def _internal_call_flag() -> Any:
    """LiteLLM's own "internal call" context flag (how its RAG and file-search layers keep nested calls out of the
    success logging), or None if this LiteLLM lacks it."""
    try:
        from litellm._internal_context import is_internal_call
    except ImportError:
        return None
    return is_internal_call


async def call_unlogged(fn: Any, /, **kwargs: Any) -> Any:
    """Await the LiteLLM coroutine function ``fn(**kwargs)`` without the per-call success logging we never read.

    With no callbacks registered LiteLLM still queues one success handler per call on its logging worker, and that
    handler recomputes cost, model info and a logging payload (about a third of LiteLLM's CPU per call). Marking
    the call internal skips the queueing; the cost we record is the ``response_cost`` LiteLLM already put in the
    response's hidden params, so nothing we use is lost. The flag is a ContextVar: set in this task only.

    For the batch API it matters more: the success handler of a *completed* ``aretrieve_batch`` downloads the whole
    output file a second time (to price the batch) in a background task; when the run ends first, that task is
    cancelled half-way and Python warns "coroutine 'OpenAIFilesAPI.afile_content' was never awaited".
    """
    flag = _internal_call_flag()
    if flag is None:
        return await fn(**kwargs)
    token = flag.set(True)
    try:
        return await fn(**kwargs)
    finally:
        flag.reset(token)


async def shutdown_background() -> None:
    """Stop LiteLLM's background logging worker: it holds one success-callback task per call (logging and cost
    bookkeeping we don't use), which otherwise makes the event loop's shutdown drain them one by one."""
    if _litellm is None:
        return
    try:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

        await GLOBAL_LOGGING_WORKER.stop()
    except Exception:  # an internal of LiteLLM: if it moves, shutdown is only slower
        return


def reply_from_response(litellm: Any, resp: Any, latency: float, spec: JudgeSpec) -> CachedReply:
    """What is kept of a provider's response (LiteLLM ``ModelResponse``): content, finish reason, usage, cost."""
    choice = resp.choices[0]
    usage = getattr(resp, "usage", None)
    tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
    tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
    extra = getattr(choice.message, "provider_specific_fields", None) or {}
    return CachedReply(
        choice_probs=extra.get("choice_probs"),
        logprobs=_token_logprobs(choice),
        content=choice.message.content,
        finish_reason=getattr(choice, "finish_reason", None),
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=_cost(litellm, resp, spec, tokens_in, tokens_out),
        latency_s=round(latency, 4),
    )


def _token_logprobs(choice: Any) -> list[dict[str, Any]] | None:
    """The answer's tokens with their top alternatives (OpenAI's ``logprobs.content``), trimmed to what the
    distribution needs (token text and log-probability), or None."""
    lp = getattr(choice, "logprobs", None)
    content = lp.get("content") if isinstance(lp, dict) else getattr(lp, "content", None)
    if not content:
        return None
    out = []
    for entry in content:
        e = entry if isinstance(entry, dict) else entry.model_dump()
        tops = [{"token": t.get("token", ""), "logprob": t.get("logprob")} for t in e.get("top_logprobs") or []]
        out.append({"token": e.get("token", ""), "logprob": e.get("logprob"), "top_logprobs": tops})
    return out


def _cost(litellm: Any, resp: Any, spec: JudgeSpec, tokens_in: int, tokens_out: int) -> float | None:
    """USD of one reply: the judge config's prices, else LiteLLM's; None when the model has no known price."""
    if spec.is_local:
        return 0.0
    if spec.price_per_mtok is not None:
        p_in, p_out = spec.price_per_mtok
        return (tokens_in * p_in + tokens_out * p_out) / 1e6
    if spec.model in _UNPRICED or (spec.deployments and all(m in _UNPRICED for m in _models(spec))):
        return None
    hidden = getattr(resp, "_hidden_params", {}) or {}
    # LiteLLM has already priced the response when the key is there (None: no price known); pricing it again only
    # repeats the cost-map walk. Without the key (e.g. a Router reply) price it here.
    if "response_cost" in hidden:
        cost = hidden.get("response_cost")
        return None if cost is None else float(cost)
    try:
        return float(litellm.completion_cost(completion_response=resp))
    except Exception:  # no price known
        return None


def _models(spec: JudgeSpec) -> set[str]:
    return {spec.model, *(d.model for d in spec.deployments if d.model)}


def price_known(spec: JudgeSpec) -> bool:
    """Whether a judge's calls can be priced: local (free), prices in its config, or every model it calls priced in
    LiteLLM's offline map (loads LiteLLM)."""
    if spec.is_local or spec.price_per_mtok is not None:
        return True
    litellm = litellm_module()
    for model in _models(spec):
        _settle_unknown_price(litellm, model)
    return not (_models(spec) & _UNPRICED)


def estimate_cost(spec: JudgeSpec, messages: list[dict[str, str]]) -> float:
    """Upper estimate of one call's cost (prompt ~ chars/4 tokens, completion = max_tokens) for ``--budget``.

    Only for judges whose price is known (``price_known``): an unpriced judge is refused a budget up front.
    """
    if spec.is_local:
        return 0.0
    prompt_tokens = sum(len(m["content"]) for m in messages) // 4 + 8
    completion_tokens = int(spec.params.get("max_tokens", 400))
    if spec.price_per_mtok is not None:
        p_in, p_out = spec.price_per_mtok
        return (prompt_tokens * p_in + completion_tokens * p_out) / 1e6
    try:
        p, c = litellm_module().cost_per_token(
            model=spec.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
        return float(p) + float(c)
    except Exception:
        return 0.0

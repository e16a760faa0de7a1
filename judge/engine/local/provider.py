"""The embedded local judge as a LiteLLM provider: ``litellm.acompletion(model="local/qwen2.5-1.5b", ...)``.

A ``litellm.CustomLLM`` that runs a GGUF model in-process with llama.cpp, so the whole job runs offline with no
API key and goes through the same LiteLLM seam (retries, caching, usage accounting) as hosted judges.

Why it is built the way it is:

* One ``Llama`` per model per process, loaded lazily on the first call (loading takes seconds and ~1 GB).
* ``Llama`` is not thread-safe (concurrent calls abort the process), so every call holds the model's lock.
* Reusing the prompt cache of a warm instance was seen to change a temperature-0 answer, so each call resets
  the model state and sets the seed: the same request gives the same answer, in any order, in any process.
* llama.cpp ignores ``response_format={"type": "json_schema"}`` in-process; it honours
  ``{"type": "json_object", "schema": ...}`` (compiled to a grammar, which ignores minimum/maximum: rubric
  schemas use ``enum``). ``json_schema`` requests are converted. Answers are still validated downstream.
* The blocking call runs in a worker thread from ``acompletion`` so the event loop stays live.

Example::

    from judge.engine.local.provider import register_local_provider
    import litellm
    register_local_provider()
    r = await litellm.acompletion(model="local/qwen2.5-1.5b", messages=[...], temperature=0, seed=1,
                                  response_format={"type": "json_object", "schema": single_answer_schema(rubric)})
"""

from __future__ import annotations

import os

# LiteLLM fetches a remote cost map at import unless told otherwise; the local judge must work offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio
import atexit
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import litellm
from litellm import CustomLLM
from litellm.types.utils import Choices, Message, ModelResponse, Usage

from judge.engine.local.models import MODELS, LocalModel, ModelFileError, Progress, get_model, model_path
from judge.errors import JudgeError

PROVIDER = "local"
DEFAULT_SEED = 0
DEFAULT_MAX_TOKENS = 512
LLAMA_INSTALL_HINT = "the local judge needs llama-cpp-python; install with: pip install 'reappraisal-judge[local]'"


def default_threads() -> int:
    """Threads for llama.cpp: the cores this process may use that are not busy with other work right now
    (``$JUDGE_LOCAL_THREADS`` overrides).

    llama.cpp's threads wait for each other at every layer, so one thread that shares its core with another busy
    process slows all of them (the demo once took 27 minutes instead of 13.5 with other work on the 2 cores).
    The busy cores are read from ``/proc/stat`` over a tenth of a second when the model loads.
    """
    if env := os.environ.get("JUDGE_LOCAL_THREADS"):
        return max(1, int(env))
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
    busy = _busy_cores()
    return max(1, cores - int(busy + 0.25)) if busy is not None else cores


def _busy_cores(interval: float = 0.1) -> float | None:
    """How many cores other processes keep busy (from /proc/stat), or None where it cannot be read."""

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                fields = [int(x) for x in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    a = sample()
    time.sleep(interval)
    b = sample()
    if a is None or b is None or b[0] <= a[0]:
        return None
    total, idle = b[0] - a[0], b[1] - a[1]
    return (os.cpu_count() or 1) * (1 - idle / total)


class LocalEngine:
    """One loaded llama.cpp model with the lock that serialises calls to it."""

    def __init__(self, model: LocalModel, llama: Any, load_seconds: float) -> None:
        self.model = model
        self.llama = llama
        self.load_seconds = load_seconds
        self.lock = threading.Lock()
        self._prefixes: dict[str, list[int]] = {}
        self._formatters: tuple[Any, Any] | None = None  # the chat template, with and without the answer prompt
        self._cached_segments: list[list[int]] = []  # what the KV cache holds, piece by piece (score_choices)

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        response_format: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run one chat completion; returns llama.cpp's OpenAI-shaped dict. Thread-safe, deterministic."""
        with self.lock:
            self._cached_segments = []  # generation leaves the KV cache in a state score_choices cannot name
            self._start_from_system_prefix(messages)
            self.llama.set_seed(seed)
            out: dict[str, Any] = self.llama.create_chat_completion(
                messages=messages,
                temperature=temperature,
                seed=seed,
                max_tokens=max_tokens,
                response_format=response_format,
            )
            return out

    def score_choices(self, messages: list[dict[str, Any]], choices: list[str]) -> tuple[dict[str, float], int]:
        """The model's probability of each complete answer in ``choices``, read from its logits (no sampling).

        The prompt is the chat of ``messages``; a final ``assistant`` message is a prefill the answer continues
        (e.g. ``"Empathy:"``, the answers then being ``" 1"`` ... ``" 5"``). Answers that span several tokens
        (``" 10"`` is ``" "``, ``"1"``, ``"0"`` for Qwen) are scored through a trie: an answer's probability is
        the product of its tokens' probabilities, times the probability of stopping there when a longer answer
        continues it (``"1"`` is a complete answer only if ``"0"`` does not follow).

        The prompt is evaluated message by message (``_evaluate_segments``): the system message once per process,
        an item's message once for all of its criteria, only the question and prefill per call.

        Returns:
            (answer -> probability, not normalised: the rest went to other text), prompt tokens.
        """
        import numpy as np

        with self.lock:
            segments = self._segments(messages)
            self._evaluate_segments(segments)
            base = self.llama.n_tokens
            prefill = segments[-1] if segments else []
            trie: dict[tuple[int, ...], set[int]] = {}
            paths: dict[str, list[tuple[int, ...]]] = {}
            for choice in choices:
                paths[choice] = self._spellings(prefill, choice)
                for path in paths[choice]:
                    for i in range(len(path)):
                        trie.setdefault(path[:i], set()).add(path[i])
            logprob: dict[tuple[int, ...], np.ndarray] = {}
            for node in sorted(trie, key=len):  # parents before children
                if node:
                    self._ctx_truncate(base)
                    self.llama.eval(list(node))
                logprob[node] = _log_softmax(self._last_logits())
            self._ctx_truncate(base)
            probs: dict[str, float] = {}
            for choice, spellings in paths.items():
                total = 0.0
                for path in spellings:
                    lp = sum(float(logprob[path[:i]][path[i]]) for i in range(len(path)))
                    longer = trie.get(path, set())  # tokens that continue this answer into a longer one
                    stop = 1.0 - sum(float(np.exp(logprob[path][t])) for t in longer) if longer else 1.0
                    total += float(np.exp(lp)) * max(0.0, stop)
                probs[choice] = total
            return probs, base

    # -- deterministic prompt evaluation ------------------------------------------------------------------------

    def _segments(self, messages: list[dict[str, Any]]) -> list[list[int]]:
        """The prompt's tokens cut at message boundaries, each piece tokenized on its own.

        Cutting is canonical (it depends on the messages only), so a piece is always evaluated from the same
        position after the same tokens: reusing the KV cache of an earlier call then gives bit-identical logits to a
        fresh evaluation, and an answer does not depend on what ran before (see ``_start_from_system_prefix``).
        """
        with_prompt, without = self._chat_formatters()
        prefill = ""
        chat = list(messages)
        if chat and chat[-1].get("role") == "assistant":
            prefill = str(chat.pop().get("content") or "")
        texts = [without(messages=chat[: i + 1]).prompt for i in range(len(chat) - 1)]
        full = with_prompt(messages=chat)
        texts.append(full.prompt)
        pieces: list[str] = []
        done = ""
        for text in texts:
            if not text.startswith(done):  # a template that rewrites earlier turns: one piece
                pieces, done = [], ""
                break
            pieces.append(text[len(done) :])
            done = text
        if not pieces:
            pieces = [full.prompt]
        pieces.append(prefill)
        segments = []
        for i, piece in enumerate(pieces):
            bos = i == 0 and not full.added_special
            segments.append(list(self.llama.tokenize(piece.encode("utf-8"), add_bos=bos, special=True)))
        return segments

    def _spellings(self, prefill: list[int], choice: str) -> list[tuple[int, ...]]:
        """The token sequences that write ``choice`` after the prefill: as the tokenizer would cut it (tokenized
        together with the prefill, so a leading space merges as it would), and, for an answer with a leading space,
        the space as a token of its own followed by the word (small models often take that path: ``" "`` then
        ``"Not"`` instead of ``" Not"``; counting only one spelling would lose that probability)."""
        tokenize = self.llama.tokenize
        text = self.llama.detokenize(prefill).decode("utf-8", errors="replace") + choice
        together = list(tokenize(text.encode("utf-8"), add_bos=False, special=False))
        if together[: len(prefill)] == prefill:
            canonical = tuple(together[len(prefill) :])
        else:
            canonical = tuple(tokenize(choice.encode("utf-8"), add_bos=False, special=False))
        out = [canonical]
        word = choice.lstrip(" ")
        if word != choice and word:
            split = tuple(tokenize(b" ", add_bos=False, special=False)) + tuple(
                tokenize(word.encode("utf-8"), add_bos=False, special=False)
            )
            if split != canonical:
                out.append(split)
        return out

    def _evaluate_segments(self, segments: list[list[int]]) -> None:
        """Bring the KV cache to exactly ``segments``, keeping the longest run of whole segments already there."""
        llama = self.llama
        total = sum(len(seg) for seg in segments) + 4  # + the longest answer path, a few tokens
        if total > llama.n_ctx():
            raise ValueError(f"Requested tokens ({total}) exceed context window of {llama.n_ctx()}")
        pos = 0
        keep = 0
        # The last non-empty piece is always evaluated again: its logits are the ones read next.
        last = max((i for i, seg in enumerate(segments) if seg), default=0)
        for seg, cached in zip(segments[:last], self._cached_segments, strict=False):
            if seg != cached or llama.n_tokens < pos + len(seg):
                break
            pos += len(seg)
            keep += 1
        self._ctx_truncate(pos)
        self._cached_segments = self._cached_segments[:keep]
        for seg in segments[keep:]:
            if seg:
                llama.eval(seg)
            self._cached_segments.append(seg)
        if not llama.n_tokens:
            raise ValueError("local provider: empty prompt")

    def _ctx_truncate(self, n: int) -> None:
        if n == 0:
            self.llama.reset()
        self.llama._ctx.kv_cache_seq_rm(-1, n, -1)
        self.llama.n_tokens = n

    def _last_logits(self) -> Any:
        import numpy as np

        return np.ctypeslib.as_array(self.llama._ctx.get_logits(), shape=(self.llama.n_vocab(),)).copy()

    def _start_from_system_prefix(self, messages: list[dict[str, Any]]) -> None:
        """Put the KV cache in a canonical state: exactly the tokens of the system prompt, evaluated on their own.

        A judge sends the same long system prompt (rubric, scale, instructions) with every item, so evaluating it
        once saves most of the prompt time. Reusing whatever the previous call left behind would make an answer
        depend on call order (a warm cache once changed a temperature-0 answer); here the reused prefix is always
        computed the same way (alone, from position 0) and everything after it is evaluated fresh from the same
        position, so a prompt gets the same answer whatever ran before it.
        """
        llama = self.llama
        prefix = self._system_tokens(messages)
        if not prefix:
            llama.reset()
            return
        k = len(prefix)
        if llama.n_tokens >= k and list(llama.input_ids[:k]) == prefix:
            llama._ctx.kv_cache_seq_rm(-1, k, -1)  # drop the previous call's user turn and answer
            llama.n_tokens = k
        else:
            llama.reset()
            llama.eval(prefix)

    def _system_tokens(self, messages: list[dict[str, Any]]) -> list[int]:
        """Tokens shared by every prompt with this system message (empty when there is none or it is short)."""
        if not messages or messages[0].get("role") != "system":
            return []
        key = str(messages[0].get("content", ""))
        cached = self._prefixes.get(key)
        if cached is None:
            try:
                a = self._prompt_tokens([messages[0], {"role": "user", "content": "a"}])
                b = self._prompt_tokens([messages[0], {"role": "user", "content": "z"}])
            except Exception:  # an unusual chat template: fall back to a clean state per call
                return []
            n = 0
            while n < min(len(a), len(b)) and a[n] == b[n]:
                n += 1
            cached = a[: max(0, n - 2)] if n > 64 else []  # 2 tokens of margin before the user text
            if len(self._prefixes) >= 8:
                self._prefixes.pop(next(iter(self._prefixes)))
            self._prefixes[key] = cached
        return cached

    def _chat_formatters(self) -> tuple[Any, Any]:
        """The model's chat template as llama.cpp renders it: (with the answer prompt, without it)."""
        from llama_cpp import llama_chat_format

        if self._formatters is None:
            template = self.llama.metadata["tokenizer.chat_template"]
            self._formatters = (
                llama_chat_format.Jinja2ChatFormatter(template=template, eos_token="", bos_token=""),
                llama_chat_format.Jinja2ChatFormatter(
                    template=template, eos_token="", bos_token="", add_generation_prompt=False
                ),
            )
        return self._formatters

    def _prompt_tokens(self, messages: list[dict[str, Any]]) -> list[int]:
        result = self._chat_formatters()[0](messages=messages)
        return list(self.llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True))


def _log_softmax(logits: Any) -> Any:
    import numpy as np

    x = logits.astype(np.float64)
    x -= x.max()
    return x - np.log(np.exp(x).sum())


_ENGINES: dict[str, LocalEngine] = {}
_LOAD_LOCK = threading.Lock()


@atexit.register
def _close_engines() -> None:
    """Free the models before the interpreter tears down llama_cpp's module globals (otherwise ``Llama.__del__``
    runs late and prints an ignored TypeError at exit)."""
    for engine in _ENGINES.values():
        close = getattr(engine.llama, "close", None)
        if close is not None:
            close()
    _ENGINES.clear()


def load_engine(name: str | None = None, *, progress: Progress | None = None) -> LocalEngine:
    """The process-wide engine for a model, assembling and loading it on first use.

    Every failure here is permanent (retrying cannot fix it) and says what is wrong and where.

    Raises:
        ModelFileError: the weights are not installed or do not verify, the model directory cannot be written (the
            default one), or llama.cpp cannot load the file.
        UsageError: ``$JUDGE_MODEL_DIR`` cannot be written.
        ProviderError: llama-cpp-python is not installed.
    """
    model = get_model(name)
    with _LOAD_LOCK:
        engine = _ENGINES.get(model.name)
        if engine is None:
            engine = _load(model, progress)
            _ENGINES[model.name] = engine
        return engine


def _load(model: LocalModel, progress: Progress | None) -> LocalEngine:
    from judge.errors import ProviderError

    try:
        from llama_cpp import Llama
    except ImportError:
        raise ProviderError(LLAMA_INSTALL_HINT) from None
    path = model_path(model, progress=progress)
    start = time.perf_counter()
    try:
        llama = Llama(
            model_path=str(path), n_ctx=model.n_ctx, n_threads=default_threads(), seed=DEFAULT_SEED, verbose=False
        )
    except (ValueError, RuntimeError, OSError) as exc:  # llama.cpp's "Failed to load model from file": permanent
        raise ModelFileError(
            f"local model {model.name!r}: llama.cpp could not load {path} ({exc}); the file is not a model this "
            "llama.cpp can run" + (f" (remove it with `judge models remove {model.name}`)" if model.is_user else "")
        ) from None
    return LocalEngine(model, llama, time.perf_counter() - start)


def llama_response_format(response_format: Any) -> dict[str, Any] | None:
    """Translate an OpenAI ``response_format`` into the form llama.cpp honours in-process.

    ``{"type": "json_schema", "json_schema": {"schema": S}}`` -> ``{"type": "json_object", "schema": S}``;
    ``json_object`` passes through; ``text`` or ``None`` -> ``None``.

    Raises:
        litellm.BadRequestError: an unsupported type.
    """
    if response_format is None:
        return None
    if hasattr(response_format, "model_json_schema"):  # a pydantic class, as LiteLLM allows
        return {"type": "json_object", "schema": response_format.model_json_schema()}
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {k: v for k, v in response_format.items() if k in ("type", "schema")}
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    raise litellm.BadRequestError(
        message=f"local provider: unsupported response_format {response_format!r}; expected type json_object, "
        "json_schema or text",
        model="local",
        llm_provider=PROVIDER,
    )


def _to_model_response(out: dict[str, Any], model_name: str, model_response: ModelResponse) -> ModelResponse:
    choice = out["choices"][0]
    usage = out.get("usage") or {}
    model_response.id = out.get("id") or f"chatcmpl-local-{uuid.uuid4().hex}"
    model_response.created = int(out.get("created") or time.time())
    model_response.model = f"{PROVIDER}/{model_name}"
    model_response.choices = [
        Choices(
            index=0,
            finish_reason=choice.get("finish_reason") or "stop",
            message=Message(role="assistant", content=choice["message"].get("content") or ""),
        )
    ]
    if "choice_probs" in out:  # read by judge.engine.client.reply_from_response
        model_response.choices[0].message.provider_specific_fields = {"choice_probs": out["choice_probs"]}
    prompt = int(usage.get("prompt_tokens", 0))
    completion = int(usage.get("completion_tokens", 0))
    model_response.usage = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
    return model_response


def _context_error(exc: ValueError, model_name: str) -> Exception:
    """llama.cpp says 'Requested tokens (N) exceed context window of M': map it to LiteLLM's error type."""
    if "exceed context window" in str(exc):
        return litellm.ContextWindowExceededError(
            message=f"local/{model_name}: {exc}", model=f"{PROVIDER}/{model_name}", llm_provider=PROVIDER
        )
    return exc


def choice_schema(response_format: Any) -> list[Any] | None:
    """The answers of a response format whose whole answer is one value of a list (a JSON Schema that is just an
    ``enum``, as ``judge.engine.answer.choice_answer_schema`` writes it), else None."""
    if not isinstance(response_format, dict):
        return None
    schema = response_format.get("schema")
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
    if isinstance(schema, dict) and set(schema) == {"enum"} and isinstance(schema["enum"], list) and schema["enum"]:
        return list(schema["enum"])
    return None


def choice_text(choice: Any) -> str:
    """How an answer choice is written after the prefill: a space, then the value (``7``, ``0.5``, ``Yes``)."""
    return " " + (choice if isinstance(choice, str) else json.dumps(choice))


def score_completion(engine: LocalEngine, messages: list[dict[str, Any]], choices: list[Any]) -> dict[str, Any]:
    """A completion whose answer is the most probable of ``choices``, with the probability of every choice.

    The OpenAI-shaped dict carries ``choice_probs`` (answer text -> probability) beside the message: the engine
    turns it into the judgment's distribution over the scale (``judge.engine.distribution``).
    """
    texts = {choice_text(c).strip(): choice_text(c) for c in choices}
    start = time.perf_counter()
    probs, prompt_tokens = engine.score_choices(messages, list(texts.values()))
    by_answer = {answer: probs[text] for answer, text in texts.items()}
    best = max(by_answer, key=lambda a: by_answer[a])
    return {
        "id": f"chatcmpl-local-{uuid.uuid4().hex}",
        "created": int(time.time()),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": best}}],
        "choice_probs": by_answer,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 1},
        "seconds": time.perf_counter() - start,
    }


def run_completion(model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> dict[str, Any]:
    """Call a local model with OpenAI-style parameters (used by the provider and by the benchmark).

    A response format that is a bare ``enum`` is not sampled: the answer is the most probable choice and the
    reply carries every choice's probability (``score_completion``).
    """
    engine = load_engine(model)
    choices = choice_schema(optional_params.get("response_format"))
    if choices is not None:
        try:
            return score_completion(engine, messages, choices)
        except ValueError as exc:
            raise _context_error(exc, engine.model.name) from exc
    seed = optional_params.get("seed")
    max_tokens = optional_params.get("max_tokens") or optional_params.get("max_completion_tokens")
    temperature = optional_params.get("temperature")
    try:
        return engine.chat(
            messages,
            temperature=float(0.0 if temperature is None else temperature),
            seed=int(DEFAULT_SEED if seed is None else seed),
            max_tokens=int(max_tokens or DEFAULT_MAX_TOKENS),
            response_format=llama_response_format(optional_params.get("response_format")),
        )
    except ValueError as exc:
        raise _context_error(exc, engine.model.name) from exc


class LocalLLM(CustomLLM):
    """LiteLLM handler for ``local/<name>`` model strings."""

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        optional_params: dict[str, Any] = kwargs.get("optional_params") or {}
        model_response: ModelResponse = kwargs.get("model_response") or ModelResponse()
        try:
            out = run_completion(model, messages, optional_params)
        except JudgeError as exc:
            # Unknown model, weights or llama.cpp missing: permanent. LiteLLM would report any other exception
            # type as a (retryable) connection error.
            raise litellm.BadRequestError(message=str(exc), model=f"{PROVIDER}/{model}", llm_provider=PROVIDER) from exc
        return _to_model_response(out, get_model(model).name, model_response)

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        # The call blocks for seconds: run it in a worker thread so other coroutines (progress, timers) keep going.
        return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)


_HANDLER = LocalLLM()
_REGISTERED = False
_REGISTER_LOCK = threading.Lock()


def register_local_provider() -> None:
    """Make ``local/<name>`` model strings callable through LiteLLM, at zero cost. Idempotent."""
    global _REGISTERED
    with _REGISTER_LOCK:
        if not any(entry.get("provider") == PROVIDER for entry in litellm.custom_provider_map):
            litellm.custom_provider_map = [
                *litellm.custom_provider_map,
                {"provider": PROVIDER, "custom_handler": _HANDLER},
            ]
        # custom_provider_map is read when a call is dispatched; this registers the provider name right away.
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
        if not _REGISTERED:
            # LiteLLM warns that these names are not in its built-in cost map: expected, they are ours.
            with _quiet_litellm():
                _register_costs(MODELS.values())
            _REGISTERED = True


@contextmanager
def _quiet_litellm() -> Iterator[None]:
    log = logging.getLogger("LiteLLM")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _register_costs(models: Iterable[LocalModel]) -> None:
    """Zero cost per token, and the context window, for every local model string."""
    litellm.register_model(
        {
            f"{PROVIDER}/{m.name}": {
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "litellm_provider": PROVIDER,
                "mode": "chat",
                "max_input_tokens": m.n_ctx,
                "max_output_tokens": m.n_ctx,
                "max_tokens": m.n_ctx,
            }
            for m in models
        }
    )

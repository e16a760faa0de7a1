"""Judge definitions: a LiteLLM model string plus its parameters, or a panel of them from a config file.

A judge config file (TOML) defines one or more judges::

    [judges.gpt4o]
    model = "openai/gpt-4o"
    api_key_env = "OPENAI_API_KEY"        # the *name* of the variable; keys never live in files
    params = { temperature = 0.0, max_tokens = 300 }

    [judges.qwen]
    model = "openai/qwen2.5-7b"
    api_base = "http://gpu-1:8000/v1"
    api_key_env = "VLLM_KEY"             # optional: a server that wants a key
    input_price_per_mtok = 0.10          # optional: USD per million tokens, for models LiteLLM has no price for
    output_price_per_mtok = 0.40

    [judges.local]
    model = "local/qwen2.5-1.5b"

API keys come from the environment only: a spec records which variable holds its key, never the key.

A judge's *identity* (``JudgeSpec.identity``) is everything that changes its answers: the model string, the
params, and where the answers come from (the server at ``api_base``, the deployments of a declared pool, or the
embedded model's weights). It is part of every cache key, so two servers serving different models under the same
alias never share answers; the deployments of one declared pool are equivalent by declaration and do.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judge.data.exemplars import ExemplarSet
from judge.data.names import Name
from judge.errors import InputError, Problem, UsageError
from judge.fileio import read_document, validated

ResponseFormatMode = Literal["auto", "json_schema", "json_object", "none"]

DEFAULT_LOCAL = "local/qwen2.5-1.5b"
TOP_LOGPROBS = 20  # alternatives per token asked of a provider for expected scores (OpenAI's maximum)


RoutingStrategy = Literal[
    "simple-shuffle", "least-busy", "usage-based-routing", "usage-based-routing-v2", "latency-based-routing"
]


def api_base_problem(url: str) -> str | None:
    """Why ``url`` cannot be a server's base URL (no http:// or https:// scheme, or no host), or None.

    Without a scheme the provider layer takes the URL for a path and every call fails as a "connection error",
    retried again and again: a permanent mistake, refused before any call.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        return f"expected a URL starting with http:// or https:// (e.g. http://{url.split('://')[-1]})"
    if not parts.netloc:
        return "expected a URL with a host (e.g. http://127.0.0.1:8080/v1)"
    return None


def _check_api_base(url: str | None) -> str | None:
    if url is not None and (why := api_base_problem(url)) is not None:
        raise ValueError(why)
    return url


class Deployment(BaseModel):
    """One server (or key/region) of a judge pool; see docs/scale.md. The pool's deployments (their ``api_base``
    and ``model``, not keys or rate limits) are part of its identity: the answers of one pool are shared by its
    deployments, never with another pool or a single server."""

    model_config = ConfigDict(extra="forbid")

    api_base: str | None = Field(default=None, description="Base URL of this deployment.")
    api_key_env: str | None = Field(default=None, description="Environment variable holding this deployment's key.")
    rpm: int | None = Field(default=None, gt=0, description="Requests per minute this deployment accepts.")
    tpm: int | None = Field(default=None, gt=0, description="Tokens per minute this deployment accepts.")
    model: str | None = Field(
        default=None, description="LiteLLM model string here, if the same model has another name."
    )

    _api_base = field_validator("api_base")(_check_api_base)


class JudgeSpec(BaseModel):
    """One judge: what to call and how. ``identity()`` (model, params, endpoint or weights) is in the cache key."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(min_length=1, description="Name used in records and reports.")
    model: str = Field(min_length=1, description="LiteLLM model string, e.g. 'openai/gpt-4o', 'local/qwen2.5-1.5b'.")
    api_base: str | None = Field(default=None, description="Base URL of an OpenAI-compatible server.")
    api_key_env: str | None = Field(default=None, description="Name of the environment variable holding the key.")
    params: dict[str, Any] = Field(default_factory=dict, description="temperature, max_tokens, top_p, seed...")
    response_format: ResponseFormatMode = "auto"
    criteria_per_call: Literal["auto", "one", "all"] = Field(
        default="auto",
        description="'one': a call per criterion; 'all': every criterion in one call (one copy of the post and "
        "response per item: fewer tokens, but a small model then judges the criteria less independently); "
        "'auto': 'one'.",
    )
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=6, ge=0)
    deployments: list[Deployment] = Field(
        default_factory=list, description="A pool: several deployments of this model behind a LiteLLM Router."
    )
    routing_strategy: RoutingStrategy = "simple-shuffle"
    scoring: Literal["auto", "answer", "expected"] = Field(
        default="auto",
        description="Which score a judgment records: 'answer', the value the judge wrote; 'expected', the mean of "
        "the scale under the judge's own probabilities (judge.engine.distribution; the mode for a nominal "
        "criterion), read from logprobs, which are then requested; 'auto': 'expected' for the embedded judge, "
        "'answer' otherwise. The answer and the distribution are recorded either way.",
    )
    prompt_style: Literal["auto", "standard", "compact"] = Field(
        default="auto",
        description="'standard': the instructions and a JSON answer with a rationale; 'compact': a score-only "
        "answer to a short question per criterion after a prefix shared by the item's criteria (made for small "
        "models, judge.engine.prompt); 'auto': 'compact' for the embedded judge, 'standard' otherwise.",
    )
    prompt_variant: str | None = Field(
        default=None,
        description="How a compact prompt describes the criteria: a key of judge.engine.prompt.COMPACT_VARIANTS "
        "(default: the variant chosen on held-out posts, reports/validity/).",
    )
    exemplars: ExemplarSet | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="Few-shot: rated items of other posts shown after the instructions (judge.data.exemplars; "
        "'judge run --exemplars FILE'). Part of the prompt hash; items of the exemplars' posts are not judged.",
    )
    input_price_per_mtok: float | None = Field(
        default=None,
        ge=0,
        description="USD per million prompt tokens, for a model LiteLLM has no price for (needed with --budget).",
    )
    output_price_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million completion tokens (set both prices, or neither)."
    )

    _api_base = field_validator("api_base")(_check_api_base)

    @model_validator(mode="after")
    def _known_variant(self) -> JudgeSpec:
        from judge.engine.prompt import COMPACT_VARIANTS

        if self.prompt_variant is not None and self.prompt_variant not in COMPACT_VARIANTS:
            raise ValueError(f"prompt_variant {self.prompt_variant!r}: expected one of {sorted(COMPACT_VARIANTS)}")
        return self

    @model_validator(mode="after")
    def _both_prices(self) -> JudgeSpec:
        if (self.input_price_per_mtok is None) != (self.output_price_per_mtok is None):
            raise ValueError("set both input_price_per_mtok and output_price_per_mtok, or neither")
        return self

    @property
    def price_per_mtok(self) -> tuple[float, float] | None:
        """(input, output) USD per million tokens when the config gives them, else None (LiteLLM's price map)."""
        if self.input_price_per_mtok is None or self.output_price_per_mtok is None:
            return None
        return self.input_price_per_mtok, self.output_price_per_mtok

    @property
    def is_local(self) -> bool:
        return self.model == "local" or self.model.startswith("local/")

    def api_key(self) -> str | None:
        """The key from the environment (never stored). Raises ``UsageError`` if the named variable is unset."""
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise UsageError(f"judge {self.name!r}: environment variable {self.api_key_env} (its API key) is not set")
        return key

    @property
    def expected_scores(self) -> bool:
        """True when judgments record the expected score (``scoring``)."""
        return self.scoring == "expected" or (self.scoring == "auto" and self.is_local)

    @property
    def compact_prompt(self) -> bool:
        """True when the judge is sent compact, score-only prompts (``prompt_style``)."""
        return self.prompt_style == "compact" or (self.prompt_style == "auto" and self.is_local)

    @property
    def all_criteria_in_one_call(self) -> bool:
        # Measured on the demo with the embedded 1.5B model: in one call it anchored every criterion on its first
        # verdict (all 1s or all 5s per item), so 'auto' keeps one call per criterion.
        return self.criteria_per_call == "all"

    def identity(self) -> dict[str, Any]:
        """What identifies the judge's answers: model, params and endpoint (not timeouts, retries, keys or prices).

        The endpoint is the server at ``api_base``; for a pool, the sorted deployments (``api_base`` and ``model``);
        for the embedded judge, the sha256 of its weights; for a hosted model, None (the provider's own API), or
        the base URL the environment points the provider at (``OPENAI_BASE_URL`` and the like, which LiteLLM
        follows).
        """
        out = {"model": self.model, "params": dict(sorted(self.params.items())), "endpoint": self.endpoint()}
        if self.expected_scores and not self.is_local:
            out["logprobs"] = TOP_LOGPROBS  # the request asks for them: another answer than without
        return out

    def endpoint(self) -> Any:
        """Where the answers come from (see ``identity``)."""
        if self.is_local:
            from judge.engine.local.models import get_model

            return {"weights_sha256": get_model(self.model).sha256}
        if self.deployments:
            deps = {(_base(d.api_base), d.model or self.model) for d in self.deployments}
            return {"pool": [{"api_base": b, "model": m} for b, m in sorted(deps, key=lambda t: (t[0] or "", t[1]))]}
        if self.api_base:
            return {"api_base": _base(self.api_base)}
        provider = (self.model.split("/", 1)[0] if "/" in self.model else "openai").upper()
        for var in (f"{provider}_BASE_URL", f"{provider}_API_BASE"):  # LiteLLM's order
            if os.environ.get(var):
                return {"api_base": _base(os.environ[var]), "from": var}
        return None

    def key_source(self) -> str:
        """Which key the judge sends, for an authentication error (the variable's name only, never the key)."""
        if self.api_key_env:
            return f"the key was read from ${self.api_key_env}"
        if self.api_base or any(d.api_base for d in self.deployments):
            return (
                "no key was sent (a server given by api_base gets none unless the judge names the variable that "
                "holds it: --api-key-env NAME, or api_key_env in the judge config)"
            )
        return "no key variable is configured for this provider (set api_key_env in the judge config)"

    def identity_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True, default=str).encode()).hexdigest()[:16]

    def public(self) -> dict[str, Any]:
        """A JSON-safe description for manifests and reports (no secrets: only the variable's name)."""
        return self.model_dump(mode="json")


def _base(url: str | None) -> str | None:
    """An API base URL in one spelling (a trailing slash changes nothing)."""
    return url.rstrip("/") if url else url


def judge_from_model(
    model: str, api_base: str | None = None, params: dict[str, Any] | None = None, api_key_env: str | None = None
) -> JudgeSpec:
    """A judge from a model string given on the command line (``local`` means the embedded default).

    Args:
        api_key_env: the variable holding the key (``--api-key-env``); default: the provider's usual variable
            (``OPENAI_API_KEY``...), none for a server given by ``api_base``.
    """
    if model == "local":
        model = DEFAULT_LOCAL
    if api_base is not None and (why := api_base_problem(api_base)) is not None:
        raise UsageError(f"--api-base: {why}, got {api_base!r}")
    key_env = api_key_env or _default_key_env(model, api_base)
    return JudgeSpec(name=model, model=model, api_base=api_base, api_key_env=key_env, params=params or {})


def _default_key_env(model: str, api_base: str | None) -> str | None:
    provider = model.split("/", 1)[0] if "/" in model else "openai"
    if provider == "local" or api_base:
        # A self-hosted server usually needs no key; one that does is given --api-key-env (or api_key_env).
        return None
    return {
        "openai": "OPENAI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "gemini": "GEMINI_API_KEY",
        "mistral": "MISTRAL_API_KEY",
        "groq": "GROQ_API_KEY",
        "together_ai": "TOGETHERAI_API_KEY",
        "deepseek": "DEEPSEEK_API_KEY",
        "openrouter": "OPENROUTER_API_KEY",
    }.get(provider)


def load_judges_file(path: str | Path) -> list[JudgeSpec]:
    """Read a TOML judge config (``[judges.<name>]`` tables); every problem is reported with its place."""
    p = Path(path)
    data = read_document(p, "judge config", fmt="toml")
    tables = data.get("judges")
    if not isinstance(tables, dict) or not tables:
        raise InputError(Problem(f"{p}: judges", "expected one or more [judges.<name>] tables"))
    specs, problems = [], []
    for name, table in tables.items():
        if not isinstance(table, dict):
            problems.append(Problem(f"{p}: judges.{name}", f"expected a table, got {type(table).__name__}"))
            continue
        try:
            specs.append(validated(JudgeSpec, {"name": name, **table}, f"{p}: judges.{name}"))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems, source=str(p))
    return specs


def resolve_judges(
    values: list[str],
    api_base: str | None = None,
    params: dict[str, Any] | None = None,
    api_key_env: str | None = None,
    timeout: float | None = None,
) -> list[JudgeSpec]:
    """Turn ``--judge`` values (model strings or ``.toml`` config files) into judge specs, names unique.

    ``api_base``, ``params`` and ``api_key_env`` apply to the model strings; a config file says its own.
    ``timeout`` (``--timeout``, seconds per call attempt) applies to every judge whose config does not set one. A model
    string that cannot be called (an unknown provider or model, a typo) is refused here, before anything else, with
    the nearest names that would work (``judge.engine.model_names``).
    """
    specs: list[JudgeSpec] = []
    typed: list[bool] = []
    for v in values or ["local"]:
        if v.endswith(".toml"):
            got = load_judges_file(v)
            specs.extend(got)
            typed += [False] * len(got)
        else:
            specs.append(judge_from_model(v, api_base, params, api_key_env))
            typed.append(True)
    check_model_names(specs, typed=typed)
    if timeout is not None:
        specs = [s if "timeout" in s.model_fields_set else s.model_copy(update={"timeout": timeout}) for s in specs]
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"judge names must be unique, repeated: {dup}")
    return specs


def check_model_names(specs: Sequence[JudgeSpec], *, typed: Sequence[bool] | None = None) -> None:
    """Refuse judges whose model strings cannot be called (see the module docstring), all of them in one message.

    Args:
        typed: per spec, whether it came from the command line (default: all did).

    Raises:
        UsageError: naming each bad judge, what is wrong and the nearest names that would work.
    """
    from judge.engine.model_names import model_problem  # loads LiteLLM's offline lists: only when judges are made

    bad = []
    for n, spec in enumerate(specs):
        was_typed = typed[n] if typed is not None else True
        strings = {(spec.model, spec.api_base)}
        strings |= {(d.model or spec.model, d.api_base or spec.api_base) for d in spec.deployments}
        for model, base in sorted(strings, key=lambda t: (t[0], t[1] or "")):
            why = model_problem(model, api_base=base, typed=was_typed)
            if why:
                bad.append(f"judge {spec.name!r}: {why}" if spec.name != model else why)
    if bad:
        raise UsageError("; ".join(bad))

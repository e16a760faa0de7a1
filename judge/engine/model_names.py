"""Is a judge's model string one that can be called? Checked before anything is written or any key is asked for.

A typo in ``--judge`` used to surface late and wrong: ``--judge loacl`` or ``--judge gpt4o`` named no provider
LiteLLM can route, yet the run first asked for ``OPENAI_API_KEY`` (the default provider's key) and, with the key
set, failed at the first call. ``judge.engine.judge_spec.check_model_names`` refuses such a string at once
(``model_problem`` here says what is wrong), with the nearest names that would work ("did you mean local?"), from
lists that need no network and no import of LiteLLM:

- LiteLLM's offline lists, read from the files it ships: the price map (``model_prices_and_context_window_backup
  .json``: every model it knows, with its provider) and the provider list (``provider_endpoints_support_backup
  .json``), plus ``litellm.provider_list`` when LiteLLM is already loaded;
- the embedded models (``local/<name>``), built in or added with ``judge models add`` (the user's registry).

What is refused:

- a string with no provider that LiteLLM does not know (it could not route it): ``loacl``, ``gpt4o``;
- an unknown provider: ``opnai/gpt-4o``;
- an unknown local model: ``local/qwen``;
- a model of a hosted catalogue (OpenAI, Anthropic, Gemini, Mistral, DeepSeek, Groq) that the price map does not
  know but that is one typo away from one it knows (``openai/gpt4o``), when given on the command line. A model too
  new for the installed LiteLLM's list is taken from a judge config file as written (``model = "openai/..."``).

Anything else passes: a server given by ``api_base`` names its models as it likes, and providers whose catalogues
are open (Ollama, vLLM, OpenRouter, Together...) are not second-guessed.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import importlib.util
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

# Providers whose model names are a closed, published catalogue that LiteLLM's price map follows: an unknown name
# one typo away from a known one is a typo there. (Open catalogues, e.g. ollama or openrouter, are not checked.)
CLOSED_CATALOGUES = frozenset({"openai", "anthropic", "gemini", "mistral", "deepseek", "groq"})
_CLOSE = 0.85  # how alike a name must be to a known one to be called a typo of it (difflib ratio)


def _litellm_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("litellm")  # finds the package without importing it (seconds)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _read_json(name: str) -> dict[str, object]:
    root = _litellm_dir()
    if root is None or not (root / name).is_file():
        return {}
    try:
        data = json.loads((root / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@functools.lru_cache(maxsize=1)
def known_models() -> dict[str, str]:
    """Every model in LiteLLM's offline price map -> its provider (``{"gpt-4o": "openai", ...}``)."""
    out = {}
    for name, entry in _read_json("model_prices_and_context_window_backup.json").items():
        if isinstance(entry, dict) and isinstance(entry.get("litellm_provider"), str):
            out[name] = entry["litellm_provider"]
    return out


@functools.lru_cache(maxsize=1)
def known_providers() -> frozenset[str]:
    """LiteLLM's providers (its offline provider list, the price map's providers, and ``litellm.provider_list``
    when LiteLLM is loaded), and ``local``."""
    providers = _read_json("provider_endpoints_support_backup.json").get("providers")
    names = set(providers) if isinstance(providers, dict) else set()
    names |= set(known_models().values())
    litellm = sys.modules.get("litellm")
    for p in getattr(litellm, "provider_list", None) or ():
        names.add(str(getattr(p, "value", p)))
    names.add("local")
    return frozenset(names)


def _local_names() -> list[str]:
    from judge.engine.local.models import MODELS

    names = []
    for m in MODELS.builtins.values():
        names += [m.name, *m.aliases]
    with contextlib.suppress(Exception):  # a malformed registry is reported when a model is looked up, with its file
        names += list(MODELS.user())
    return sorted(set(names))


def suggestions(
    word: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6, prefixes: bool = False
) -> list[str]:
    """The candidates nearest ``word`` (case-insensitive), best first; with ``prefixes``, candidates that start
    with ``word`` come first (``qwen`` -> ``qwen2.5-1.5b``)."""
    cands = list(dict.fromkeys(candidates))
    lower = {c.lower(): c for c in cands}
    w = word.lower()
    first = sorted((c for c in lower if c.startswith(w)), key=len) if prefixes and w else []
    near = difflib.get_close_matches(w, list(lower), n=n, cutoff=cutoff)
    return [lower[m] for m in dict.fromkeys([*first, *near])][:n]


def _did_you_mean(names: Sequence[str]) -> str:
    if not names:
        return ""
    return "; did you mean " + " or ".join(names) + "?"


def model_problem(model: str, *, api_base: str | None = None, typed: bool = True) -> str | None:
    """Why ``model`` cannot be a judge's model string (with suggestions), or None when it can.

    Args:
        api_base: the server the model is called at, if any (its names are its own).
        typed: the string was typed on the command line (a near-miss of a known hosted model is a typo); False for
            a judge config file, whose names are taken as written.
    """
    if model == "local" or model.startswith("local/"):
        from judge.engine.local.models import builtin_model, model_key

        key = model_key(model)
        if builtin_model(key) is not None or key in _user_names():
            return None
        near = [f"local/{s}" for s in suggestions(key, _local_names(), prefixes=True)]
        return (
            f"unknown local model {model!r}{_did_you_mean(near)} (known: "
            f"{', '.join('local/' + n for n in _local_names())}; add your own GGUF file with judge models add)"
        )
    models = known_models()
    if not models:  # LiteLLM is not installed (or ships no lists): nothing to check against
        return None
    if "/" not in model:
        if model in models:
            return None
        near = suggestions(model, ["local", *(f"local/{n}" for n in _local_names()), *_bare(models)])
        return (
            f"unknown model {model!r}: it names no provider and LiteLLM does not know it, so no call could be "
            f"routed{_did_you_mean(near)} (expected provider/model, e.g. openai/gpt-4o, or local)"
        )
    provider, name = model.split("/", 1)
    if provider not in known_providers():
        near = [f"{p}/{name}" if p != "local" else "local" for p in suggestions(provider, known_providers())]
        return f"unknown provider {provider!r} in {model!r}{_did_you_mean(near)}"
    if api_base or not typed or provider not in CLOSED_CATALOGUES or _knows(models, provider, name):
        return None
    near = suggestions(name, _catalogue(models, provider), cutoff=_CLOSE)
    if not near:
        return None  # no near miss: perhaps a model newer than this LiteLLM's list; the provider will say
    return (
        f"unknown model {model!r}: LiteLLM's offline list has no {name!r} for {provider}"
        f"{_did_you_mean([f'{provider}/{n}' for n in near])} (a model newer than the installed LiteLLM: name it "
        "in a judge config file, which is taken as written)"
    )


def _user_names() -> set[str]:
    from judge.engine.local.models import MODELS

    return set(MODELS.user())


def _bare(models: dict[str, str]) -> list[str]:
    return [m for m in models if "/" not in m]


def _knows(models: dict[str, str], provider: str, name: str) -> bool:
    return f"{provider}/{name}" in models or models.get(name) == provider


def _catalogue(models: dict[str, str], provider: str) -> list[str]:
    """The provider's model names as they follow ``provider/``."""
    out = []
    for m, p in models.items():
        if p != provider:
            continue
        out.append(m.split("/", 1)[1] if m.startswith(provider + "/") else m)
    return out

"""Generation configurations ("systems"): which model writes candidate reappraisals, and with which prompts.

A system file is YAML validated by :class:`SystemConfig`. The built-in ones (this directory) restate the RESORT
strategies (Zhan et al., COLM 2024, arXiv 2404.01288) in our own words:

* ``vanilla``: one response per post from a plain instruction.
* ``indv``, ``indv+appr``, ``indv+cons``, ``indv+appr+cons``: one response per appraisal dimension (1, 4, 6, 7, 8,
  23), optionally after the model rates the narrator's appraisal on that dimension (``+appr``) and/or with the
  dimension's guidance in the instruction (``+cons``).
* ``iter+appr``, ``iter+cons``, ``iter+appr+cons``: start from a plain response and revise it dimension by
  dimension through the six.
* ``self-refine``: a plain response, then rounds of feedback and revision.

Example::

    from judge.data.systems import load_system
    cfg = load_system("indv+cons")          # a built-in name, or a path to a YAML file
"""

from __future__ import annotations

import hashlib
import json
import string
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judge.errors import InputError, Problem
from judge.fileio import read_document, validated

Strategy = Literal["single", "individual", "iterative", "self_refine"]
RESORT_DIMENSIONS = [1, 4, 6, 7, 8, 23]

# The appraisal question for each dimension, written for the "+appr" step: the model first says how the narrator
# sees the situation along the dimension (a 1-9 rating with a reason), then reappraises with that in view.
APPRAISAL_QUESTIONS: dict[int, str] = {
    1: "How much does the narrator believe they themselves caused what happened? "
    "(1 = not at all their doing, 9 = entirely their doing)",
    4: "How able does the narrator feel to deal with the practical consequences of what happened? "
    "(1 = completely unable, 9 = fully able)",
    6: "How strongly does the narrator feel the situation demands more of their attention? "
    "(1 = needs no further attention, 9 = needs their full attention)",
    7: "How able does the narrator feel to handle the emotions the event left them with? "
    "(1 = completely unable, 9 = fully able)",
    8: "How much control does the narrator believe they have over what is happening? "
    "(1 = none at all, 9 = complete control)",
    23: "How well does the situation fit with what the narrator personally values? "
    "(1 = clashes completely, 9 = fits completely)",
}


ALLOWED_FIELDS = {"post", "dimension_name", "aim", "standards", "question", "appraisal", "response", "feedback"}
TEMPLATE_FIELDS = (
    "appraisal_template",
    "dimension_template",
    "revise_template",
    "feedback_template",
    "refine_template",
)


def _unknown_fields(template: str) -> list[str]:
    """Placeholders of a ``str.format`` template that no step provides (or a malformed template)."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        return [f"<malformed: {exc}; write literal braces as {{{{ }}}}>"]
    return sorted(names - ALLOWED_FIELDS)


class SystemConfig(BaseModel):
    """A prompt configuration that produces candidate responses.

    Templates are Python ``str.format`` strings. Fields available: ``{post}`` everywhere; ``{dimension_name}``,
    ``{aim}``, ``{standards}``, ``{question}`` in per-dimension steps; ``{appraisal}`` after an appraisal step;
    ``{response}`` in revision/feedback steps; ``{feedback}`` in the self-refine revision step.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$", description="Used in item ids and system fields.")
    description: str = ""
    model: str = Field(default="local", description="LiteLLM model string, or 'local' for the embedded model.")
    api_base: str | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = Field(default_factory=lambda: {"temperature": 0.0, "max_tokens": 256})
    seed: int = 0
    timeout: float = Field(default=120.0, gt=0, description="Seconds per call (does not change the responses).")
    max_retries: int = Field(default=6, ge=0, description="Retries of transient errors (429, 5xx, timeouts).")
    strategy: Strategy = "single"
    dimensions: list[int] = Field(default_factory=lambda: list(RESORT_DIMENSIONS))
    appraisal_step: bool = Field(default=False, description="+appr: ask for the narrator's appraisal first.")
    constitution_step: bool = Field(default=False, description="+cons: give the dimension's guidance.")
    rounds: int = Field(default=2, ge=1, le=10, description="self_refine: feedback/revision rounds.")
    system_prompt: str = Field(default="", description="Optional system message sent with every step.")
    template: str = Field(description="The first response: a plain reappraisal of {post}.")
    appraisal_template: str = ""
    dimension_template: str = Field(default="", description="individual: reappraise {post} along one dimension.")
    revise_template: str = Field(default="", description="iterative: revise {response} along one dimension.")
    feedback_template: str = Field(default="", description="self_refine: critique {response}.")
    refine_template: str = Field(default="", description="self_refine: revise {response} given {feedback}.")

    @model_validator(mode="after")
    def _check(self) -> SystemConfig:
        need = {
            "single": [],
            "individual": ["dimension_template"],
            "iterative": ["revise_template"],
            "self_refine": ["feedback_template", "refine_template"],
        }[self.strategy]
        if self.appraisal_step and self.strategy in ("individual", "iterative"):
            need.append("appraisal_template")
        missing = [f for f in need if not getattr(self, f).strip()]
        problems = [f"strategy {self.strategy!r} needs {missing}"] if missing else []
        for f in ("template", *TEMPLATE_FIELDS):
            bad = _unknown_fields(getattr(self, f))
            if bad:
                problems.append(f"{f}: unknown placeholder(s) {bad}; allowed: {sorted(ALLOWED_FIELDS)}")
        if problems:
            raise ValueError("; ".join(problems))
        unknown = [d for d in self.dimensions if d not in APPRAISAL_QUESTIONS]
        if unknown:
            raise ValueError(f"unknown dimension ids {unknown}; expected some of {RESORT_DIMENSIONS}")
        return self

    @property
    def per_dimension_items(self) -> bool:
        """Whether each post yields one item per dimension (individual) or one item (the others)."""
        return self.strategy == "individual"

    def content_hash(self) -> str:
        """sha256 (16 hex) of everything that changes the responses (not the name or description)."""
        data = self.model_dump(
            mode="json", exclude={"name", "description", "api_base", "api_key_env", "timeout", "max_retries"}
        )
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def builtin_dir() -> Path:
    return Path(__file__).resolve().parent


def builtin_names() -> list[str]:
    """Names of the built-in systems (file stems in this package)."""
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def parse_system(data: Any, source: str) -> SystemConfig:
    """Validate parsed YAML as a system config; ``InputError`` names every bad field."""
    return validated(SystemConfig, data, source, what="a system file")


def load_system(name_or_path: str | Path) -> SystemConfig:
    """Load a built-in system by name (``vanilla``, ``indv+cons``...) or a YAML file by path."""
    p = Path(name_or_path)
    if not p.exists() and str(name_or_path) in builtin_names():
        p = builtin_dir() / f"{name_or_path}.yaml"
    if not p.is_file():
        raise InputError(
            Problem(str(name_or_path), f"no such system file or built-in; built-ins are {builtin_names()}")
        )
    return parse_system(read_document(p, "system file", fmt="yaml"), str(p))

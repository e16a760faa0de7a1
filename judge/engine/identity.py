"""Who a judge in a report is: a typed value carried from the run to every report, never parsed back from a name.

A run records each judge's specification in its manifest (``run.json``: model, endpoint, parameters, scoring
mode). The analyses read a judge's scores together with its ``JudgeIdentity``; a calibrated copy of the scores
carries the same identity with a ``CalibrationRef`` (which calibrator, its method and version, and whether each
rated item was scored by a map fitted without its post). A display name is rendered from the identity
(``label``): ``gpt-4o``, ``gpt-4o (calibrated)``, ``gpt-4o (calibrated, cross-fitted)``; code that needs to know
whether a judge is calibrated, or what model it is, reads the identity, not the name.

Example::

    from judge.engine.identity import CalibrationRef, identity_from_manifest
    ident = identity_from_manifest(manifest, "gpt-4o")
    ident.model, ident.label                                   # 'openai/gpt-4o', 'gpt-4o'
    cal = ident.calibrated(CalibrationRef(path="cal.json", method="isotonic", how="cross-fitted"))
    cal.label, cal.calibration.how                             # 'gpt-4o (calibrated, cross-fitted)', 'cross-fitted'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judge.engine.store import RunManifest

CalibrationHow = Literal["applied", "cross-fitted", "in-sample"]


class CalibrationRef(BaseModel):
    """The calibrator applied to a judge's scores, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The calibrator file.")
    method: str = Field(description="isotonic or linear.")
    how: CalibrationHow = Field(
        description="'applied': the map as fitted (a system leaderboard); 'cross-fitted': each rated item scored by "
        "the map refitted without its post (agreement); 'in-sample': the calibrator has no record of its folds."
    )
    format_version: int = Field(default=1, description="The calibrator file's format version.")
    tool_version: str = Field(default="", description="The version of the tool that fitted it.")
    created_at: str = Field(default="", description="When it was fitted (UTC, ISO 8601).")


class JudgeIdentity(BaseModel):
    """One judge of one run: what it is (model, endpoint, scoring mode, parameters) and what was done to its scores.

    ``name`` is the judge's name in its run; ``label`` is how reports name it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="The judge's name in its run.")
    model: str = Field(description="The model string (LiteLLM's), or the name an imported judge was given.")
    endpoint: str | None = Field(default=None, description="The API base URL of a server, None for a provider's own.")
    scoring: str | None = Field(default=None, description="answer, expected or auto; None for imported judgments.")
    params: dict[str, Any] = Field(default_factory=dict, description="temperature, max_tokens, ...")
    source: Literal["live", "imported"] = "live"
    calibration: CalibrationRef | None = None

    @property
    def label(self) -> str:
        """The name reports show: the run's name, and how its scores were calibrated."""
        if self.calibration is None:
            return self.name
        if self.calibration.how == "applied":
            return f"{self.name} (calibrated)"
        return f"{self.name} (calibrated, {self.calibration.how})"

    @property
    def imported(self) -> bool:
        """Scores imported from precomputed outputs: no calls were made, so no cost or time was measured."""
        return self.source == "imported"

    def calibrated(self, ref: CalibrationRef) -> JudgeIdentity:
        """The same judge with its scores calibrated as ``ref`` says."""
        return self.model_copy(update={"calibration": ref})


def identity_from_manifest(manifest: RunManifest, name: str) -> JudgeIdentity:
    """The identity of judge ``name`` as its run recorded it (an unknown judge keeps its name as its model)."""
    spec = manifest.judges.get(name, {})
    scoring = spec.get("scoring")
    source = manifest.source if manifest.source in ("live", "imported") else "live"
    return JudgeIdentity(
        name=str(spec.get("name", name)),
        model=str(spec.get("model", name)),
        endpoint=spec.get("api_base"),
        scoring=None if scoring is None else str(scoring),
        params=dict(spec.get("params", {})),
        source=source,  # type: ignore[arg-type]
    )

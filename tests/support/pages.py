"""One page of every HTML report kind, built from the project's own example data through the real CLI.

The demo (original text) judged by the loopback stub: its leaderboard and item viewer, and a probes report; the
support-chats example (original text, invented numbers): the agreement report, a calibration report, and the judge
board with a calibrated judge and its viewer (which then has reliability diagrams). No RESORT text: the pages can
be shot and committed (``python -m benchmarks.screenshots``).

Example::

    with StubServer() as url:
        pages = build_pages(tmp_path, url)
    pages["viewer"]  # Path of demo/viewer.html
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHATS = ROOT / "datasets" / "support-chats"
KINDS = ("leaderboard", "viewer", "rated-viewer", "judges", "judges-viewer", "agreement", "calibration", "probes")
# Invented expert ratings for the demo (two fictional raters), so that a viewer of its judgments has a judge-expert
# gap to show: per system, (empathy, alignment) of the first and second rater.
_DEMO_RATINGS = {"careful": ((4, 8), (5, 9)), "generic": ((3, 4), (3, 5)), "dismissive": ((1, 2), (2, 1))}


def _judge(*argv: str) -> None:
    from judge.cli import main

    saved = sys.argv
    sys.argv = ["judge", *argv]  # what the reports record as the command that made them
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
            rc = main(list(argv))
    finally:
        sys.argv = saved
    if rc != 0:
        raise RuntimeError(f"judge {' '.join(argv)} exited {rc}:\n{out.getvalue()}\n{err.getvalue()}")


def build_pages(out: Path, stub_url: str) -> dict[str, Path]:
    """Write every report kind under ``out`` (judging through the stub at ``stub_url``); kind -> HTML page."""
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("JUDGE_CACHE_DIR", str(out / "cache"))
    rub = str(CHATS / "rubrics")
    _judge("demo", "--judge", "openai/stub-judge", "--api-base", stub_url, "--out", str(out / "demo"),
           "--no-progress")  # fmt: skip
    _judge("probe", "--benchmark", str(ROOT / "datasets" / "demo"), "--judge", "openai/stub-judge", "--api-base",
           stub_url, "--criteria", "empathy", "alignment_with_standards", "--n-boot", "200", "--no-progress",
           "--out", str(out / "probes"))  # fmt: skip
    rated = rated_demo(out / "demo-rated")
    _judge("view", "--benchmark", str(rated), "--run", str(out / "demo" / "runs" / "openai-stub-judge"), "--out",
           str(out / "demo-rated" / "viewer.html"))  # fmt: skip
    sheet, run = out / "sheet", out / "runs" / "sheet"
    _judge("import", "table", str(CHATS / "judge-scores.csv"), "--scores", "{rater}_{criterion}",
           *[a for j in "abcd" for a in ("--as-judge", f"judge-{j}")], "--items", str(CHATS / "conversations.csv"),
           "--judged-role", "supporter", "--rubrics", rub, "--out", str(sheet), "--run-out", str(run))  # fmt: skip
    cal = out / "cal" / "judge-b.json"
    _judge("calibrate", "--benchmark", str(sheet), "--rubrics", rub, "--run", str(run), "--judge", "judge-b",
           "--out", str(cal), "--folds", "3", "--n-boot", "200", "--report", str(out / "cal"))  # fmt: skip
    _judge("agree", "--benchmark", str(sheet), "--rubrics", rub, "--run", str(run), "--n-boot", "200", "--out",
           str(out / "agree"), "--format", "html")  # fmt: skip
    _judge("leaderboard", "--judges", "--benchmark", str(sheet), "--rubrics", rub, "--run", str(run),
           "--calibrator", str(cal), "--viewer", "--n-boot", "200", "--out", str(out / "judges"),
           "--format", "html")  # fmt: skip
    return {
        "leaderboard": out / "demo" / "leaderboard.html",
        "viewer": out / "demo" / "viewer.html",
        "rated-viewer": out / "demo-rated" / "viewer.html",
        "judges": out / "judges" / "judges.html",
        "judges-viewer": out / "judges" / "viewer.html",
        "agreement": out / "agree" / "agreement.html",
        "calibration": out / "cal" / "calibration.html",
        "probes": out / "probes" / "probes.html",
    }


def rated_demo(out: Path) -> Path:
    """The demo benchmark with the invented ratings of ``_DEMO_RATINGS``."""
    from judge.data.benchmark import ExpertRating, load_benchmark, save_benchmark

    bench = load_benchmark(ROOT / "datasets" / "demo")
    ratings = []
    for item_id in bench.items:
        pairs = zip(("rater-a", "rater-b"), _DEMO_RATINGS[item_id.rsplit("-", 1)[1]], strict=True)
        for rater, (empathy, alignment) in pairs:
            ratings.append(ExpertRating(item_id=item_id, rater=rater, criterion="empathy", value=empathy))
            ratings.append(ExpertRating(item_id=item_id, rater=rater, criterion="alignment_with_standards",
                                        value=alignment))  # fmt: skip
    manifest = bench.manifest.model_copy(update={"name": "demo-invented-ratings"})  # never taken for real ones
    save_benchmark(bench.model_copy(update={"ratings": ratings, "path": None, "manifest": manifest}), out)
    return out

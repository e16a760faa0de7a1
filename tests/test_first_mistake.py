"""The first mistake a new user makes gets a useful answer, at once (issue 29, point 3): an unknown provider or model
is refused before anything is written or asked for, with the nearest names that would work; a missing key is only
reported for a model string that is valid; a misspelt flag, choice or verb gets "did you mean ...?" under the usage
of the verb it was given to."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from judge.cli import main
from judge.engine.judge_spec import JudgeSpec, check_model_names, resolve_judges
from judge.engine.model_names import known_models, known_providers, model_problem
from judge.errors import UsageError
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(var, raising=False)


def _run(tmp_path: Path, judge: str, *extra: str) -> list[str]:
    return ["run", "--benchmark", str(DEMO), "--judge", judge, "--out", str(tmp_path / "run"), "--limit", "1",
            "--no-progress", *extra]  # fmt: skip


def test_litellm_offline_lists_are_read_without_importing_litellm() -> None:
    code = (
        "import sys; from judge.engine.model_names import known_models, known_providers; "
        "m = known_models(); p = known_providers(); "
        "print(len(m), m.get('gpt-4o'), 'openai' in p, 'anthropic' in p, 'litellm' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, provider, has_openai, has_anthropic, imported = done.stdout.split()
    assert int(n) > 1000 and provider == "openai" and has_openai == has_anthropic == "True"
    assert imported == "False"  # seconds saved: the lists are LiteLLM's shipped JSON files
    assert "local" in known_providers() and known_models()["gpt-4o"] == "openai"


# -- one test per first mistake --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("judge", "suggested", "what"),
    [
        pytest.param("loacl", "did you mean local?", "unknown model 'loacl'", id="local-typo"),
        pytest.param("gpt4o", "did you mean gpt-4o", "unknown model 'gpt4o'", id="model-without-provider"),
        pytest.param("qwen2.5-1.5b", "did you mean local/qwen2.5-1.5b", "names no provider", id="local-without-prefix"),
        pytest.param("opnai/gpt-4o", "did you mean openai/gpt-4o", "unknown provider 'opnai'", id="provider-typo"),
        pytest.param("local/qwen", "did you mean local/qwen2.5-", "unknown local model 'local/qwen'", id="local-name"),
        pytest.param("openai/gpt4o", "did you mean openai/gpt-4o?", "has no 'gpt4o' for openai", id="hosted-typo"),
    ],
)
def test_unknown_names_are_refused_at_once_with_a_suggestion(
    judge: str, suggested: str, what: str, tmp_path: Path, no_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    t0 = time.monotonic()
    rc = main(_run(tmp_path, judge))
    err = capsys.readouterr().err
    assert rc == 2 and suggested in err and what in err, err
    assert "API_KEY" not in err  # not a missing key: the name is what is wrong
    assert not (tmp_path / "run").exists()  # refused before anything was written: the corrected command just works
    assert time.monotonic() - t0 < 5  # no LiteLLM import, no call


def test_users_registry_is_searched_for_local_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from judge.engine.local.user_models import REGISTRY_FILE, UserModelRecord, UserRegistry

    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(models))
    record = UserModelRecord(
        name="my-qwen7b", path=str(tmp_path / "w.gguf"), size=1, sha256="0" * 64, added_at=datetime.now(UTC)
    )
    (models / REGISTRY_FILE).write_text(UserRegistry(models=[record]).model_dump_json(), encoding="utf-8")
    assert model_problem("local/my-qwen7b") is None
    assert main(_run(tmp_path, "local/my-qwen7")) == 2
    assert "did you mean local/my-qwen7b?" in capsys.readouterr().err
    assert main(_run(tmp_path, "my-qwen7b")) == 2  # the user's name without local/
    assert "did you mean local/my-qwen7b" in capsys.readouterr().err


def test_a_missing_key_is_reported_only_for_a_valid_model(
    tmp_path: Path, no_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_run(tmp_path, "openai/gpt-4o")) == 2
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY" in err and "is not set" in err and "did you mean" not in err
    # the same typo'd name is a name problem first, whatever the key
    assert main(_run(tmp_path / "b", "openai/gpt4o")) == 2
    assert "OPENAI_API_KEY" not in capsys.readouterr().err


def test_config_files_and_servers_name_models_as_they_like(tmp_path: Path, no_keys: None) -> None:
    # A model newer than the installed LiteLLM's list: taken as written from a judge config file...
    cfg = tmp_path / "judges.toml"
    cfg.write_text('[judges.new]\nmodel = "openai/gpt4o"\n', encoding="utf-8")
    (spec,) = resolve_judges([str(cfg)])
    assert spec.model == "openai/gpt4o"
    # ... and any name at a server given by --api-base, or under a provider with an open catalogue
    assert [s.model for s in resolve_judges(["openai/my-finetune"], api_base="http://127.0.0.1:1/v1")] == [
        "openai/my-finetune"
    ]
    assert model_problem("ollama/llama3") is None and model_problem("openrouter/some/new-model") is None
    assert model_problem("openai/a-model-with-no-near-name-at-all") is None  # the provider will say
    # a config file's unknown provider can never work: refused too
    cfg.write_text('[judges.bad]\nmodel = "opnai/gpt-4o"\n', encoding="utf-8")
    with pytest.raises(UsageError, match="judge 'bad': unknown provider 'opnai'"):
        resolve_judges([str(cfg)])


def test_pool_deployments_are_checked_too() -> None:
    spec = JudgeSpec.model_validate(
        {"name": "pool", "model": "openai/gpt-4o", "deployments": [{"model": "azrue/gpt-4o"}, {"api_base": "http://x"}]}
    )
    with pytest.raises(UsageError, match=r"unknown provider 'azrue'.*did you mean azure/gpt-4o"):
        check_model_names([spec])


def test_a_valid_run_is_unchanged(tmp_path: Path) -> None:
    with StubServer() as url:
        assert main(_run(tmp_path, "openai/stub-judge", "--api-base", url, "--criteria", "empathy")) == 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["judgments"] == 1


# -- flags, choices and verbs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "usage", "hint"),
    [
        pytest.param(["run", "--benchmark", "b", "--out", "o", "--rated_only"], "usage: judge run ",
                     "--rated_only (did you mean --rated-only?)", id="underscore"),
        pytest.param(["run", "--benchmrk", "b", "--out", "o"], "usage: judge run ",
                     "--benchmrk (did you mean --benchmark?)", id="typo-of-a-required-flag"),
        pytest.param(["import", "table", "x.csv", "--itmes", "y.csv"], "usage: judge import table ",
                     "--itmes (did you mean --items?)", id="sub-verb"),
        pytest.param(["run", "--benchmark", "b", "--out", "o", "--scoring", "expeted"], "usage: judge run ",
                     "invalid choice: 'expeted' (choose from auto, answer, expected); did you mean expected?",
                     id="choice"),
        pytest.param(["leaderbord"], "usage: judge ", "did you mean leaderboard?", id="verb"),
        pytest.param(["import", "tabel", "x"], "usage: judge import ", "did you mean table?", id="import-kind"),
    ],
)  # fmt: skip
def test_misspelt_flags_get_a_suggestion_under_the_verbs_usage(
    argv: list[str], usage: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith(usage) and hint in err, err


def test_abbreviations_argparse_accepts_are_not_typos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer() as url:
        argv = ["run", "--bench", str(DEMO), "--judge", "openai/stub-judge", "--api-base", url, "--criter", "x",
                "--out", str(tmp_path / "r"), "--limit", "1", "--no-progress"]  # fmt: skip
        with pytest.raises(SystemExit):  # --criter: --criteria or --criteria-per-call? argparse says so itself
            main(argv)
        assert "ambiguous option: --criter could match --criteria, --criteria-per-call" in capsys.readouterr().err
        argv[argv.index("--criter") : argv.index("--criter") + 2] = ["--criteria", "empathy"]
        assert main(argv) == 0

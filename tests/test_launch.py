"""A Ctrl-C while the tool is still loading ends with one line and exit 130, never Python's traceback (issue 25:
4 of 30 random SIGINTs of the reliability benchmark's interrupt run landed while `judge` imported its modules)."""

from __future__ import annotations

import signal
import subprocess
import sys
from importlib.metadata import entry_points

from judge.cli import STARTUP_INTERRUPT as SAID_BY_THE_CLI
from judge.launch import STARTUP_INTERRUPT


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_a_ctrl_c_while_loading_exits_130_with_one_line() -> None:
    # armed as the console script arms it, then interrupted in the middle of loading the CLI's modules
    got = _python(
        "import os, signal, judge.launch as l; l.arm(); os.kill(os.getpid(), signal.SIGINT); import judge.cli; "
        "import time; time.sleep(30)"
    )
    assert got.returncode == 130
    assert got.stderr == STARTUP_INTERRUPT + "\n" and "Traceback" not in got.stderr


def test_the_cli_takes_ctrl_c_back_when_its_boundary_is_entered() -> None:
    got = _python(
        "import signal, judge.launch as l; l.arm(); from judge.cli import main; main([]); "
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    )
    assert got.returncode == 0 and got.stdout.splitlines()[-1] == "True"  # main([]) printed the help
    # a host program's own handler is left alone
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    got = _python(
        "import signal; h = lambda *a: None; signal.signal(signal.SIGINT, h); from judge.cli import main; main([]); "
        "print(signal.getsignal(signal.SIGINT) is h)"
    )
    assert got.stdout.splitlines()[-1] == "True"


def test_the_launcher_and_the_cli_say_the_same_words() -> None:
    assert STARTUP_INTERRUPT == SAID_BY_THE_CLI


def test_the_console_script_starts_in_the_launcher() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "judge"]
    assert script.value == "judge.launch:main"

"""Lint, format and type checks run as part of the test suite."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint():
    res = _run(sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "examples")
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_format():
    res = _run(sys.executable, "-m", "ruff", "format", "--check", "src", "tests", "benchmarks",
               "examples")  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy():
    res = _run(sys.executable, "-m", "mypy")
    assert res.returncode == 0, res.stdout + res.stderr

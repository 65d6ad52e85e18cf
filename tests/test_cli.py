"""The command line, run the way a user runs it."""

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradmix", *args], capture_output=True, text=True, timeout=300
    )


def test_demo_tells_the_lecture_example():
    res = run("demo")
    assert res.returncode == 0, res.stderr
    assert "w5 = w3 + w4" in res.stdout
    assert "df/dx2 = w5' = 1.5000000000" in res.stdout
    assert "df/dx1 = 2.0707372017" in res.stdout


def test_unknown_subcommand_exits_2():
    res = run("nonsense")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr

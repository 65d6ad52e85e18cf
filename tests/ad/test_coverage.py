"""The sweeps of numpy's API (docs/coverage.py, docs/sparsity_coverage.py,
docs/compile_coverage.py) find no defect and their tables are current."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "coverage.py"


def test_every_swept_numpy_function_is_right_or_refused_and_the_table_is_current():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


SPARSITY_SCRIPT = SCRIPT.with_name("sparsity_coverage.py")


def test_every_detected_sparsity_pattern_contains_the_jacobian_and_the_table_is_current():
    done = subprocess.run(
        [sys.executable, str(SPARSITY_SCRIPT), "--check"], capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


COMPILE_SCRIPT = SCRIPT.with_name("compile_coverage.py")


def test_every_compiled_program_agrees_with_eager_mode_and_the_table_is_current():
    done = subprocess.run(
        [sys.executable, str(COMPILE_SCRIPT), "--check"], capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

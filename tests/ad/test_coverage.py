"""The sweep of numpy's API (docs/coverage.py) finds no defect and its table is current."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "coverage.py"


def test_every_swept_numpy_function_is_right_or_refused_and_the_table_is_current():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr

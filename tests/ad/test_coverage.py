"""The sweeps of numpy's API find no defect and their tables are current: derivatives
against central differences (docs/coverage.py), sparsity patterns against the dense
Jacobian's nonzeros (docs/sparsity_coverage.py), compiled programs against eager mode
(docs/compile_coverage.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("script", ["coverage.py", "sparsity_coverage.py", "compile_coverage.py"])
def test_the_sweep_finds_no_defect_and_its_table_is_current(script):
    done = subprocess.run(
        [sys.executable, str(DOCS / script), "--check"], capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

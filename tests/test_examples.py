"""Every script in examples/ runs to completion (at its quick size)."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted(p for p in (Path(__file__).resolve().parents[1] / "examples").glob("*.py")
                  if not p.name.startswith("_"))  # fmt: skip
#: the examples that take over five seconds at their quick size run with the slow tests
LONG = {"faithful_inference.py", "bic_models.py", "dask_fit.py"}
EXAMPLES = [pytest.param(p, marks=pytest.mark.slow) if p.name in LONG else p for p in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADMIX_EXAMPLES_OUT", str(tmp_path))
    monkeypatch.delenv("GRADMIX_FULL", raising=False)
    monkeypatch.setattr(sys, "path", [str(path.parent), *sys.path])
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert out.strip()
    # every example draws its picture (the gallery shows it on the example's page)
    assert any(p.read_bytes()[:4] == b"\x89PNG" for p in tmp_path.glob("*.png")), path.name
    if path.name == "neural_net.py":
        acc = float(out.split("training accuracy ")[1].split("%")[0])
        assert acc > 95.0
        assert (tmp_path / "neural_net.png").exists()
    if path.name == "newton.py":
        assert "converged = True" in out
    if path.name == "trimmed_regression.py":
        # the compiled gradient of a sorted objective equals eager mode's, and the fit
        # finds the true line where least squares follows the outliers
        assert "|compiled - eager| = 0.0e+00" in out
        lts = [float(v) for v in out.split("LTS:   intercept ")[1].split(" (")[0].split(", slope ")]
        ols = [float(v) for v in out.split("OLS:   intercept ")[1].split("\n")[0].split(", slope ")]
        assert abs(lts[0] - 2.0) < 0.3 and abs(lts[1] - 0.5) < 0.05
        assert abs(ols[1] - 0.5) > 0.3

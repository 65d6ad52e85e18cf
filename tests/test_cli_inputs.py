"""The command line never fits or predicts on the wrong data, and never writes unasked."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import gradmix as gm
from gradmix.datasets import load_old_faithful
from tests.cli_runner import run


def one_line_error(res: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def faithful_text(columns=("eruptions", "waiting")) -> str:
    X = load_old_faithful()
    cols = {"eruptions": X[:, 0], "waiting": X[:, 1]}
    rows = zip(*(cols[c] for c in columns), strict=True)
    return ",".join(columns) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)


def write(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


# ------------------------------------------------------------------ cells and columns
@pytest.mark.parametrize("cell, shown", [("oops", "'oops'"), ('"1,000"', "'1,000'"),
                                         ("1_000", "'1_000'"), ("inf", "'inf'")])  # fmt: skip
def test_a_bad_cell_is_an_error_naming_line_column_and_text(tmp_path, cell, shown):
    text = "a,b\n1,2\n3,4\n5," + cell + "\n6,7\n8,9\n"
    res = run("fit", str(write(tmp_path, text)), "-k", "1", "--out", str(tmp_path / "m.npz"))
    one_line_error(res, "data.csv line 4, column b: ", shown, "is not a number")
    assert not (tmp_path / "m.npz").exists()


def test_text_columns_are_left_out_with_a_note(tmp_path):
    X = load_old_faithful()
    text = "id,eruptions,kind,waiting\n" + "".join(
        f"row{i},{a},{'long' if a > 3 else 'short'},{b}\n" for i, (a, b) in enumerate(X)
    )
    res = run("fit", str(write(tmp_path, text)), "-k", "2", "--seed", "0")
    assert res.returncode == 0, res.stderr
    assert "text columns left out: id, kind" in res.stderr
    assert "2 features, 272 samples" in res.stdout


def test_a_column_mixing_numbers_and_text_is_an_error(tmp_path):
    res = run("fit", str(write(tmp_path, "a,b\n1,x\n2,y\n3,4\n")), "-k", "1")
    one_line_error(res, "column b mixes numbers (1) and text (2)")


def test_missing_values_are_an_error_unless_dropped(tmp_path):
    text = (
        faithful_text()
        .replace("\n3.333,74.0\n", "\n3.333,\n")
        .replace("\n2.283,62.0\n", "\n2.283,NaN\n")
    )
    path = write(tmp_path, text)
    one_line_error(run("fit", str(path), "-k", "2"), "2 missing values", "line ",
                   "column waiting", "--drop-missing")  # fmt: skip
    res = run("fit", str(path), "-k", "2", "--drop-missing", "--seed", "0")
    assert res.returncode == 0, res.stderr
    assert "dropped 2 rows with missing values" in res.stderr
    assert "270 samples" in res.stdout


def test_a_byte_order_mark_does_not_rename_the_first_column(tmp_path):
    path = write(tmp_path, faithful_text(), encoding="utf-8-sig")
    res = run("fit", str(path), "-k", "2", "--columns", "eruptions,waiting", "--seed", "0")
    assert res.returncode == 0, res.stderr


def test_file_paths_that_are_directories_or_too_short(tmp_path):
    one_line_error(run("fit", str(tmp_path), "-k", "2"), "is a directory")
    one_line_error(run("fit", str(write(tmp_path, "a,b\n1,2\n")), "-k", "1"),
                   "1 data row", "needs at least 2")  # fmt: skip


# ---------------------------------------------------------------------------- predict
def test_predict_matches_columns_by_name(tmp_path):
    pd = pytest.importorskip("pandas")
    X = load_old_faithful()
    df = pd.DataFrame(X, columns=["a", "b"])
    model = gm.GaussianMixture(2, random_state=0).fit(df)
    path = model.save(tmp_path / "m.npz")
    swapped = write(tmp_path, "b,a\n" + "".join(f"{w},{e}\n" for e, w in X))
    res = run("predict", str(path), str(swapped))
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # no raw warnings
    np.testing.assert_array_equal(np.array(res.stdout.split(), dtype=int), model.predict(df))
    only_a = write(tmp_path, "a\n" + "".join(f"{e}\n" for e, _ in X), "a.csv")
    one_line_error(run("predict", str(path), str(only_a)), "has no column 'b'")


def test_predict_uses_the_columns_fit_saved(tmp_path):
    path = write(tmp_path, faithful_text())
    model = tmp_path / "m.npz"
    assert run("fit", str(path), "-k", "2", "--seed", "0", "--out", str(model)).returncode == 0
    swapped = write(tmp_path, faithful_text(("waiting", "eruptions")), "swapped.csv")
    a, b = run("predict", str(model), str(path)), run("predict", str(model), str(swapped))
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout


# ----------------------------------------------------------------------------- outputs
def test_outputs_are_checked_before_the_fit(tmp_path):
    data = write(tmp_path, faithful_text())
    existing = tmp_path / "m.npz"
    existing.write_bytes(b"keep me")
    one_line_error(run("fit", str(data), "-k", "2", "--out", str(existing)), "--force")
    assert existing.read_bytes() == b"keep me"
    one_line_error(run("fit", str(data), "-k", "2", "--out", str(tmp_path / "no" / "m.npz")),
                   "does not exist")  # fmt: skip
    # a bad picture path fails before the model file is written
    model = tmp_path / "new.npz"
    one_line_error(run("fit", str(data), "-k", "2", "--out", str(model), "--plot",
                       str(tmp_path / "nowhere" / "fit.png")), "does not exist")  # fmt: skip
    one_line_error(run("fit", str(data), "-k", "2", "--out", str(model), "--plot",
                       str(tmp_path / "fit.xyz")), "unknown picture format")  # fmt: skip
    assert not model.exists()


def test_outputs_never_write_through_a_symlink(tmp_path):
    data = write(tmp_path, faithful_text())
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    link = tmp_path / "m.npz"
    os.symlink(target, link)
    one_line_error(run("fit", str(data), "-k", "2", "--out", str(link)), "exists")
    res = run("fit", str(data), "-k", "2", "--out", str(link), "--force")
    assert res.returncode == 0, res.stderr
    assert target.read_text() == "precious"  # the link was replaced, its target untouched
    assert not link.is_symlink() and gm.load(link).n_components == 2


# -------------------------------------------------------------------------------- diff
@pytest.mark.parametrize(
    "expr, args, needle",
    [
        ("-" * 1500 + "x", ["--at", "x=1"], "nests deeper than 100 levels"),
        ("(" * 300 + "x" + ")" * 300, ["--at", "x=1"], "too many nested parentheses"),
        ("1" * 400 + "*x", ["--at", "x=1"], "too large for a float"),
        ("x**2", ["--at", "x=1", "--order", "500"], "between 1 and 170"),
        ("x**2", ["--at", "x=1", "--order", "100000"], "between 1 and 170"),
        ("x**2", ["--at", "x=1", "--h", "0"], "positive, finite step"),
        ("x**2", ["--at", "x=1,x=2"], "gives x twice"),
        ("x*y", ["--at", "x=1,y=2", "--order", "3"], "one variable"),
        ("log(x)", ["--at", "x=-1"], "value at x = -1.0 is nan"),
        ("x**9**9**9", ["--at", "x=1.0000001"], "value at x = 1.0000001 is inf"),
        ("x", ["--at", "x=inf"], "not a finite number"),
    ],
)
def test_diff_gives_one_line_for_every_input(expr, args, needle):
    one_line_error(run("diff", expr, *args), needle)


def test_diff_order_two_of_several_variables_prints_the_hessian():
    res = run("diff", "x*y + x**2", "--at", "x=1,y=2", "--order", "2")
    assert res.returncode == 0, res.stderr
    hessian = res.stdout.split("Hessian")[1].splitlines()[1:3]
    assert [[float(v) for v in row.strip(" []").split()] for row in hessian] == [[2, 1], [1, 0]]
    assert "at x = 1.0, y = 2.0" in res.stdout


def test_diff_long_products_negative_formulas_and_unicode_names():
    res = run("diff", "*".join(["x"] * 1000), "--at", "x=1.0001")
    assert res.returncode == 0, res.stderr
    value = float(res.stdout.split("value")[1].split()[0])
    assert value == pytest.approx(1.0001**1000, rel=1e-10)
    res = run("diff", "-x*y", "--at", "x=2,y=3")
    assert res.returncode == 0, res.stderr
    assert "value          -6" in res.stdout
    res = run("diff", "xµ**2", "--at", "xµ=3")  # MICRO SIGN: Python reads it as μ
    assert res.returncode == 0, res.stderr
    assert "6" in res.stdout.split("gradient")[1]

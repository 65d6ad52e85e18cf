"""The command line, run as a user runs it: its output, files and exit code (see
:mod:`tests.cli_runner`: in this process, and as ``python -m gradmix`` where the entry
point itself is what is checked)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import gradmix as gm
from gradmix.datasets import load_old_faithful
from tests.cli_runner import run, run_subprocess


def assert_user_error(res: subprocess.CompletedProcess[str], needle: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert needle in lines[0], lines[0]


@pytest.fixture
def faithful_csv(tmp_path: Path) -> Path:
    path = tmp_path / "faithful.csv"
    X = load_old_faithful()
    path.write_text("eruptions,waiting,name\n" + "".join(
        f"{a},{b},row{i}\n" for i, (a, b) in enumerate(X)))  # fmt: skip
    return path


@pytest.mark.slow
# ---------------------------------------------------------------------------- demo
def test_demo_writes_the_pictures_and_tells_the_lecture(tmp_path):
    res = run_subprocess("demo", "--out", str(tmp_path / "pics"))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "w5 = w3 + w4" in out and "df/dx2 = w5' = 1.5000000000" in out
    assert "df/dx1 = 2.0707372017" in out
    assert "lowest BIC" in out and "EM iterations" in out
    assert "L-BFGS on AD gradients" in out and "standard errors" in out
    for name in ("divided_differences.png", "em_iterations.png", "kmeans_vs_gmm.png", "bic.png"):
        p = tmp_path / "pics" / name
        assert p.stat().st_size > 10_000 and p.read_bytes()[:4] == b"\x89PNG"
    again = run("demo", "--out", str(tmp_path / "pics"))
    assert_user_error(again, "--force")
    assert run("demo", "--out", str(tmp_path / "pics"), "--force").returncode == 0


# ----------------------------------------------------------------------------- fit
def test_fit_predict_round_trip(tmp_path, faithful_csv):
    model = tmp_path / "m.npz"
    fig = tmp_path / "fit.png"
    res = run("fit", str(faithful_csv), "-k", "2", "--seed", "0", "--out", str(model),
              "--plot", str(fig))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "2 components, full covariance, 2 features, 272 samples" in res.stdout
    assert "BIC" in res.stdout and "converged True" in res.stdout
    assert fig.read_bytes()[:4] == b"\x89PNG"
    X = load_old_faithful()
    ref = gm.GaussianMixture(2, random_state=0).fit(X)
    labels = run("predict", str(model), str(faithful_csv))
    assert labels.returncode == 0, labels.stderr
    np.testing.assert_array_equal(np.array(labels.stdout.split(), dtype=int), ref.predict(X))
    proba = run("predict", str(model), str(faithful_csv), "--proba")
    P = np.array([[float(v) for v in line.split(",")] for line in proba.stdout.splitlines()])
    np.testing.assert_allclose(P, ref.predict_proba(X), rtol=1e-8, atol=1e-12)
    # the model is never overwritten without --force
    again = run("fit", str(faithful_csv), "-k", "2", "--out", str(model))
    assert_user_error(again, "--force")


def test_fit_bayesian_reports_the_components_kept(tmp_path, faithful_csv):
    model, fig = tmp_path / "b.npz", tmp_path / "b.png"
    res = run("fit", str(faithful_csv), "-k", "8", "--bayesian", "--seed", "0", "--out",
              str(model), "--plot", str(fig))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "effective components 2 of 8" in res.stdout
    ref = gm.BayesianGaussianMixture(n_components=8, random_state=0).fit(load_old_faithful())
    assert f"lower bound {ref.lower_bound_:.4f}" in res.stdout
    loaded = gm.load(model)
    np.testing.assert_allclose(loaded.weights_, ref.weights_, rtol=1e-10)
    assert fig.read_bytes()[:4] == b"\x89PNG"
    bad = run("fit", str(faithful_csv), "-k", "3", "--bayesian", "--covariance", "VVV")
    assert_user_error(bad, "--bayesian takes the covariance models full, tied, diag, spherical")


def test_fit_with_missing_values(tmp_path):
    X = load_old_faithful()
    holes = np.random.default_rng(0).random(X.shape) < 0.2
    holes[holes.all(axis=1), 0] = False  # keep every row in the file
    Xm = np.where(holes, np.nan, X)
    path = tmp_path / "holes.csv"
    cells = [",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in Xm]
    path.write_text("eruptions,waiting\n" + "".join(line + "\n" for line in cells))
    refused = run("fit", str(path), "-k", "2")
    assert_user_error(refused, "--missing em fits with them")
    model = tmp_path / "m.npz"
    res = run("fit", str(path), "-k", "2", "--missing", "em", "--seed", "0", "--out", str(model),
              "--plot", str(tmp_path / "m.png"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"{int(holes.sum())} missing values" in res.stderr
    ref = gm.GaussianMixture(2, missing="em", random_state=0).fit(Xm)
    assert f"log-likelihood {ref.score(Xm) * len(Xm):.4f}" in res.stdout
    labels = run("predict", str(model), str(path))
    assert labels.returncode == 0, labels.stderr
    np.testing.assert_array_equal(np.array(labels.stdout.split(), dtype=int), ref.predict(Xm))
    both = run("fit", str(path), "-k", "2", "--missing", "em", "--drop-missing")
    assert_user_error(both, "contradict")


def test_fit_selected_columns_and_options(tmp_path, faithful_csv):
    res = run("fit", str(faithful_csv), "-k", "3", "--columns", "waiting", "--covariance",
              "spherical", "--n-init", "2", "--seed", "1", "--quiet")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "3 components, spherical covariance, 1 feature," in res.stdout
    assert "model V: univariate, unequal variance" in res.stdout  # (mclust's name in 1-D)


def test_fit_high_dimensional_plot(tmp_path):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(60, 4)), rng.normal(size=(60, 4)) + 4])
    path = tmp_path / "d4.csv"
    path.write_text("a,b,c,d\n" + "".join(",".join(map(str, r)) + "\n" for r in X))
    res = run("fit", str(path), "-k", "2", "--plot", str(tmp_path / "pc.png"), "--seed", "0")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "pc.png").exists()


@pytest.mark.parametrize(
    ("content", "args", "needle"),
    [
        (None, ["-k", "2"], "no such file"),
        ("a,b\n", ["-k", "2"], "no data rows"),
        ("a,b\nx,y\nz,w\n", ["-k", "2"], "no numeric column"),
        ("a,b\n1,2\n3\n", ["-k", "2"], "line 3"),
        ("a,b\n1,2\n3,nan\n5,6\n", ["-k", "2"], "NaN"),
        ("a,b\n1,2\n3,4\n", ["-k", "5"], "too few"),
        ("a,b\n1,2\n3,4\n5,6\n", ["-k", "2", "--covariance", "round"], "invalid choice"),
        ("a,b\n1,2\n3,4\n5,6\n", ["-k", "2", "--columns", "c"], "no column 'c'"),
        (
            "a,b\n1,x\n3,4\n5,6\n",
            ["-k", "2", "--columns", "b"],
            "line 2, column b: 'x' is not a number",
        ),
        ("a,b\n1,2\n3,4\n5,6\n", ["-k", "0"], "at least 1"),
    ],
)
def test_fit_user_errors(tmp_path, content, args, needle):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    res = run("fit", str(path), *args)
    assert_user_error(res, needle)


def test_predict_user_errors(tmp_path, faithful_csv):
    not_model = tmp_path / "x.npz"
    np.savez(not_model, a=np.ones(2))
    assert_user_error(run("predict", str(not_model), str(faithful_csv)), "not a gradmix model")
    assert_user_error(run("predict", str(tmp_path / "none.npz"), str(faithful_csv)),
                      "no such file")  # fmt: skip
    model = tmp_path / "m.npz"
    run("fit", str(faithful_csv), "-k", "2", "--columns", "waiting", "--out", str(model))
    bad = tmp_path / "bad.csv"
    bad.write_text("eruptions\n1\n2\n")
    assert_user_error(run("predict", str(model), str(bad)), "no column 'waiting'")


# ---------------------------------------------------------------------------- diff
def test_diff_two_variables():
    res = run("diff", "x1*x2 + sin(x1)", "--at", "x1=1.5,x2=2")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert f"{1.5 * 2 + np.sin(1.5):.15g}"[:12] in out
    assert f"{2 + np.cos(1.5):.15g}"[:12] in out  # df/dx1
    assert "Hessian" in out and "forward divided difference" in out


def test_diff_one_variable_high_order():
    res = run("diff", "exp(2*x)", "--at", "x=0.5", "--order", "3")
    assert res.returncode == 0, res.stderr
    assert "derivative of order 3" in res.stdout
    assert f"{8 * np.exp(1.0):.12g}"[:10] in res.stdout


@pytest.mark.parametrize(
    ("expr", "at", "needle"),
    [
        ("__import__('os').system('touch /tmp/gradmix-pwned')", "x=1", "unknown function"),
        ("x.__class__", "x=1", "Attribute is not allowed"),
        ("x[0]", "x=1", "Subscript is not allowed"),
        ("(lambda: 1)()", "x=1", "unknown function"),
        ("'abc' * x", "x=1", "only numbers"),
        ("open('f')", "x=1", "unknown function 'open'"),
        ("sin(x, x)", "x=1", "exactly one argument"),
        ("x +", "x=1", "cannot parse"),
        ("x < 1", "x=1", "Compare is not allowed"),
        ("x + y", "x=1", "no value for 'y'"),
        ("x", "x=1,z=2", "does not use"),
        ("x", "x=abc", "not a number"),
        ("x", "x", "name=value"),
        ("sin", "x=1", "is a function"),
        ("x^2", "x=1", "write x**2"),
        ("pi * x", "x=1,pi=3", "pi is a constant"),
    ],
)
def test_diff_rejects_anything_outside_the_whitelist(expr, at, needle):
    marker = Path("/tmp/gradmix-pwned")
    marker.unlink(missing_ok=True)
    res = run("diff", expr, "--at", at)
    assert_user_error(res, needle)
    assert not marker.exists()


@pytest.mark.slow  # 12-14 s: starts Python twice / fits the BIC grid
def test_unknown_subcommand_and_debug(tmp_path):
    assert_user_error(run_subprocess("nonsense"), "invalid choice")
    assert_user_error(run("nonsense"), "invalid choice")
    res = run_subprocess("--debug", "fit", str(tmp_path / "missing.csv"), "-k", "2")
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_no_eval_or_exec_of_user_text():
    src = Path(gm.__file__).parent
    for path in src.rglob("*.py"):
        text = path.read_text()
        assert "eval(" not in text.replace("evaluate(", "").replace("_eval", ""), path
        assert "allow_pickle=True" not in text and "import pickle" not in text, path
        if path.name != "codegen.py":
            assert "exec(" not in text, path


def test_fit_takes_mclusts_models_and_the_hc_start(tmp_path, faithful_csv):
    res = run("fit", str(faithful_csv), "-k", "3", "--covariance", "EEE", "--init", "hc",
              "--out", str(tmp_path / "eee.npz"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "3 components, EEE covariance" in res.stdout
    assert "ellipsoidal, equal volume, shape, and orientation" in res.stdout
    pred = run("predict", str(tmp_path / "eee.npz"), str(faithful_csv))
    assert pred.returncode == 0 and len(pred.stdout.split()) == 272
    assert_user_error(run("fit", str(faithful_csv), "-k", "2", "--covariance", "XYZ"),
                      "invalid choice")  # fmt: skip


def test_fit_student_t_with_noise_and_predict_the_noise_rows(tmp_path, faithful_csv):
    model, picture = tmp_path / "t.npz", tmp_path / "t.png"
    res = run("fit", str(faithful_csv), "-k", "2", "--dof", "free", "--noise", "--seed", "0",
              "--out", str(model), "--plot", str(picture), "--quiet")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Student-t mixture" in res.stdout and "noise component: weight" in res.stdout
    assert picture.stat().st_size > 0
    fitted = gm.load(model)
    assert isinstance(fitted, gm.StudentTMixture) and fitted.noise_weight_ >= 0
    res = run("predict", str(model), str(faithful_csv))
    assert res.returncode == 0, res.stderr
    labels = np.array([int(v) for v in res.stdout.split()])
    np.testing.assert_array_equal(labels, fitted.predict(load_old_faithful()))
    assert set(labels) <= {-1, 0, 1}
    res = run("predict", str(model), str(faithful_csv), "--proba")
    assert len(res.stdout.splitlines()[0].split(",")) == 3  # the noise column last


@pytest.mark.parametrize("args, needle", [
    (("--dof", "-2"), "--dof must be 'free', 'shared' or a positive number"),
    (("--dof", "lots"), "--dof must be 'free', 'shared' or a positive number"),
    (("--dof", "free", "--bayesian"), "--dof and --noise are options of the EM fit"),
    (("--noise", "--missing", "em"), "--noise and --missing em cannot be combined"),
])  # fmt: skip
def test_fit_student_t_and_noise_user_errors(faithful_csv, args, needle):
    assert_user_error(run("fit", str(faithful_csv), "-k", "2", *args), needle)


@pytest.mark.slow  # 12-14 s: starts Python twice / fits the BIC grid
def test_fit_without_k_chooses_model_and_components_by_bic(tmp_path, faithful_csv):
    # mclust's Mclust(faithful) chooses EEE with 3 components; restricted to three models
    # here to keep the test short (the full grid is the same code)
    out = tmp_path / "chosen.npz"
    res = run("fit", str(faithful_csv), "--models", "EEE,VVV,VVE", "--seed", "0",
              "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    top = res.stdout.split("lower is better")[1].splitlines()[1:4]
    # the BIC at the optimum (2314.2957 with Newton's method on the exact Hessian; mclust's
    # EM stops 0.02 short of it, at 2314.316)
    assert top[0].strip().startswith("EEE,3: 2314.296")
    assert "3 components, EEE covariance" in res.stdout
    model = gm.load(out)
    assert model.n_components == 3 and model.covariance_type == "EEE"


def test_fit_with_a_range_of_components(tmp_path, faithful_csv):
    res = run("fit", str(faithful_csv), "-k", "2:3", "--covariance", "VVV", "--seed", "0")
    assert res.returncode == 0, res.stderr
    assert "VVV,2" in res.stdout and "VVV,3" in res.stdout


@pytest.mark.parametrize(
    "args, needle",
    [
        (["-k", "x"], "-k must be a number or a range"),
        (["-k", "3:1"], "-k must be at least 1"),
        (["--models", "EEE,XYZ"], "unknown: XYZ"),
        (["-k", "1:3", "--bayesian"], "need one -k"),
    ],
)
def test_fit_selection_user_errors(faithful_csv, args, needle):
    assert_user_error(run("fit", str(faithful_csv), *args), needle)


# ------------------------------------------------------------------------ classify
@pytest.fixture
def iris_csv(tmp_path: Path) -> Path:
    from sklearn.datasets import load_iris

    data = load_iris()
    path = tmp_path / "iris.csv"
    path.write_text("Species,sl,sw,pl,pw\n" + "".join(
        f"{data.target_names[t]},{','.join(map(str, row))}\n"
        for row, t in zip(data.data, data.target, strict=True)))  # fmt: skip
    return path


def test_classify_then_predict_labels_and_probabilities(tmp_path, iris_csv):
    out = tmp_path / "da.npz"
    res = run("classify", str(iris_csv), "--label", "Species", "--type", "EDDA",
              "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    # mclust's MclustDA(iris[, 1:4], iris$Species, modelType = "EDDA"): VEV, 3 errors
    assert "VEV" in res.stdout and "3 of 150 rows misclassified" in res.stdout
    clf = gm.load(out)
    assert clf.covariance_type_ == "VEV" and clf.classes_.tolist()[0] == "setosa"
    # the label column in the file is not read as data; columns are matched by name
    labels = run("predict", str(out), str(iris_csv))
    assert labels.returncode == 0, labels.stderr
    predicted = labels.stdout.split()
    truth = [line.split(",")[0] for line in iris_csv.read_text().splitlines()[1:]]
    assert sum(p != t for p, t in zip(predicted, truth, strict=True)) == 3
    proba = run("predict", str(out), str(iris_csv), "--proba").stdout.splitlines()
    assert proba[0] == "setosa,versicolor,virginica" and len(proba) == 151
    np.testing.assert_allclose([sum(map(float, r.split(","))) for r in proba[1:]], 1.0)


def test_classify_with_a_mixture_per_class(iris_csv):
    res = run("classify", str(iris_csv), "--label", "Species", "-k", "1:2",
              "--models", "VVV,EEE", "--seed", "0")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "MclustDA" in res.stdout and "Confusion" in res.stdout


@pytest.mark.parametrize("args, needle", [
    (["--label", "Nope"], "no label column 'Nope'"),
    (["--label", "Species", "--columns", "sl,Species"], "is the label column"),
    (["--label", "Species", "--type", "EDDA", "-k", "2"], "-k is MclustDA's"),
    (["--label", "Species", "--models", "XYZ"], "unknown: XYZ"),
])  # fmt: skip
def test_classify_user_errors(iris_csv, args, needle):
    assert_user_error(run("classify", str(iris_csv), *args), needle)


def test_classify_refuses_a_class_of_one_row_and_missing_labels(tmp_path, iris_csv):
    lines = iris_csv.read_text().splitlines()
    lonely = tmp_path / "lonely.csv"
    lonely.write_text("\n".join(lines[:51] + ["odd,5,3,1,0.2"]) + "\n")
    assert_user_error(run("classify", str(lonely), "--label", "Species", "--type", "EDDA"),
                      "class 'odd' has 1")  # fmt: skip
    holes = tmp_path / "holes.csv"
    holes.write_text("\n".join(lines[:3] + [",5,3,1,0.2"] + lines[3:]) + "\n")
    assert_user_error(run("classify", str(holes), "--label", "Species"), "column Species")
    # (only fit takes --missing em: the error offered it to classify too)
    res = run("classify", str(holes), "--label", "Species")
    assert "1 missing value in 1 row" in res.stderr and "--missing" not in res.stderr


def test_fit_with_mclusts_prior(tmp_path, faithful_csv):
    out = tmp_path / "prior.npz"
    res = run("fit", str(faithful_csv), "-k", "3", "--covariance", "VVV", "--prior", "default",
              "--seed", "0", "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    saved = gm.load(out)
    direct = gm.GaussianMixture(3, covariance_type="VVV", prior="default", random_state=0)
    np.testing.assert_allclose(saved.means_, direct.fit(load_old_faithful()).means_)
    assert_user_error(run("fit", str(faithful_csv), "-k", "3", "--prior", "default",
                          "--bayesian"), "--prior is mclust's prior")  # fmt: skip

"""gradmix.plot: each picture renders to a file and has the artists it promises."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

import gradmix as gm  # noqa: E402
from gradmix import plot  # noqa: E402
from gradmix.datasets import load_old_faithful  # noqa: E402

X = load_old_faithful()


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_plot_ellipses(tmp_path, covariance_type):
    model = gm.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    fig, ax = plt.subplots()
    patches = plot.plot_ellipses(ax, model, n_std=(1, 2))
    assert len(patches) == 4 and all(isinstance(p, Ellipse) for p in patches)
    # a 1-sd ellipse's axes are 2·sqrt of the covariance's eigenvalues
    vals = np.linalg.eigvalsh(plot.component_covariance(model, 0))
    assert sorted([patches[0].width, patches[0].height]) == pytest.approx(2 * np.sqrt(vals))
    fig.savefig(tmp_path / "e.png")
    assert (tmp_path / "e.png").stat().st_size > 1000
    plt.close(fig)


def test_plot_ellipses_of_a_mixture_model():
    # (a MixtureModel has no means_: an AttributeError for every family)
    fig, ax = plt.subplots()
    model = gm.MixtureModel("gaussian", 2, random_state=0).fit(X)
    patches = plot.plot_ellipses(ax, model, n_std=(1,))
    vals = np.linalg.eigvalsh(model.params_["covariance"][0])
    assert sorted([patches[0].width, patches[0].height]) == pytest.approx(2 * np.sqrt(vals))
    with pytest.raises(ValueError, match="not for a lognormal mixture"):
        plot.plot_ellipses(ax, gm.MixtureModel("lognormal", 2, random_state=0).fit(X))
    plt.close(fig)


def test_plot_em_iterations(tmp_path):
    fig = plot.plot_em_iterations(X, iterations=(0, 1, 5), ncols=3)
    axes = [a for a in fig.axes if a.get_visible()]
    assert len(axes) == 3
    assert [a.get_title().splitlines()[0] for a in axes] == [
        "start", "after iteration 1", "after iteration 5"]  # fmt: skip
    assert all(sum(isinstance(p, Ellipse) for p in a.patches) == 4 for a in axes)
    assert all(len(a.collections) == 1 for a in axes)  # one scatter per panel
    fig.savefig(tmp_path / "em.png")
    plt.close(fig)


def test_plot_bic():
    ax, table = plot.plot_bic(X, n_components=range(1, 4), covariance_types=("full", "diag"))
    assert set(table) == {"full", "diag"} and all(len(v) == 3 for v in table.values())
    expected = gm.GaussianMixture(2, random_state=0).fit(X).bic(X)
    assert table["full"][1] == pytest.approx(expected)
    assert len(ax.get_lines()) == 3  # two curves and the best-model marker
    assert ax.get_ylabel().startswith("BIC")
    plt.close(ax.figure)


def test_plot_divided_differences():
    ax, err = plot.plot_divided_differences(lambda x: x**3, 1.0, exact=3.0)
    assert err["ad"] == 0.0
    i = int(np.argmin(np.abs(err["h"] - 0.1)))
    assert err["h"][i] == pytest.approx(0.1)
    assert err["forward"][i] == pytest.approx(0.31)
    assert err["central"][i] == pytest.approx(0.01)
    assert len(ax.get_lines()) == 3 and ax.get_xscale() == "log"
    plt.close(ax.figure)


def test_plot_dual_program():
    ax = plot.plot_dual_program(1.5, 2.0)
    texts = "\n".join(t.get_text() for t in ax.texts)
    assert "ẇ = 1.5000" in texts and "w̄ = 2.0707" in texts
    plt.close(ax.figure)


def test_plot_weight_shrinkage(tmp_path):
    ax, model = plot.plot_weight_shrinkage(X, n_components=6, max_iter=400)
    assert model.converged_ and model.n_effective_components_ == 2
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    assert len(lines) == 6  # one per component, drawn over every update
    final = np.sort([ln.get_ydata()[-1] for ln in lines])
    np.testing.assert_allclose(final, np.sort(model.weights_))
    assert final[:4].max() < 0.01 and final[-2:].min() > 0.3
    # stepping one update at a time is the same fit as running them in one go
    whole = gm.BayesianGaussianMixture(n_components=6, weight_concentration_prior=1e-3,
                                       random_state=0, max_iter=len(lines[0].get_xdata()),
                                       tol=0.0).fit(X)  # fmt: skip
    np.testing.assert_allclose(whole.weights_, model.weights_, rtol=1e-9, atol=1e-12)
    ax.figure.savefig(tmp_path / "w.png")
    plt.close(ax.figure)

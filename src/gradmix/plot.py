"""Pictures of the lecture: covariance ellipses, EM iterations, BIC curves, error against h.

Every function draws with matplotlib onto an ``Axes`` (or a new figure) and
returns what it drew, so users can restyle or save it.  No display is needed:
import matplotlib with the Agg backend (``matplotlib.use("Agg")``) on a server.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradmix.mixture.arrays import to_host
from gradmix.mixture.covariance import DEFAULT_COVARIANCE
from gradmix.mixture.mixture_base import MixtureBase

__all__ = [
    "plot_ellipses",
    "plot_em_iterations",
    "plot_bic",
    "plot_selection",
    "plot_divided_differences",
    "plot_clusters",
    "plot_weight_shrinkage",
    "component_covariance",
    "responsibility_colours",
    "plot_dual_program",
    "plot_graph",
]

COLORS = ("tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown",
          "tab:pink", "tab:gray", "tab:olive", "tab:cyan")  # fmt: skip


def _pyplot() -> Any:
    import matplotlib.pyplot as plt

    return plt


def _elliptical(model: MixtureBase) -> MixtureBase:
    """The Gaussian or Student-t mixture behind ``model`` (a MixtureModel's estimator);
    another family's components have no covariance ellipses."""
    if hasattr(model, "means_"):
        return model
    estimator = getattr(model, "estimator_", None)
    if estimator is None:
        family = getattr(model, "family_", None)
        what = family.describe() if family is not None else type(model).__name__
        raise ValueError(f"covariance ellipses are drawn for Gaussian and Student-t "
                         f"components, not for a {what} mixture")  # fmt: skip
    return estimator


def component_covariance(model: MixtureBase, k: int, dims: Sequence[int] = (0, 1)) -> np.ndarray:
    """The 2x2 covariance of component ``k`` in the plane of features ``dims``.

    Works for every covariance model of a fitted GaussianMixture.
    """
    from gradmix.mixture.covariance import matrices

    model = _elliptical(model)
    K, d = np.shape(model.means_)
    full = matrices(model.covariance_type, to_host(model.covariances_), K, d)[k]
    i, j = dims
    return full[np.ix_([i, j], [i, j])]


def plot_ellipses(ax: Any, model: MixtureBase, *, n_std: Sequence[float] = (1.0, 2.0),
                  dims: Sequence[int] = (0, 1), colors: Sequence[str] = COLORS,
                  min_weight: float = 0.0, **kwargs: Any) -> list[Any]:  # fmt: skip
    """Draw each component's covariance ellipses at ``n_std`` standard deviations.

    Parameters
    ----------
    ax : matplotlib Axes
    model : fitted GaussianMixture, StudentTMixture or BayesianGaussianMixture, or a
        MixtureModel of Gaussian or t components
    n_std : sequence of float
        Radii in standard deviations (Mahalanobis distance).
    dims : pair of int
        The two features to draw.
    colors : sequence of str
        One colour per component (cycled).
    min_weight : float
        Components with a smaller weight are not drawn (the components a
        Bayesian mixture shrank away).
    **kwargs
        Passed to :class:`matplotlib.patches.Ellipse`.

    Returns
    -------
    list of Ellipse
        The patches added to ``ax``.
    """
    from matplotlib import patheffects
    from matplotlib.patches import Ellipse

    model = _elliptical(model)
    halo = [patheffects.withStroke(linewidth=4, foreground="white")]
    patches = []
    weights = to_host(model.weights_)
    for k in range(np.shape(model.means_)[0]):
        if weights[k] < min_weight:
            continue
        cov = component_covariance(model, k, dims)
        vals, vecs = np.linalg.eigh(cov)
        angle = np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1]))
        centre = to_host(model.means_)[k, list(dims)]
        colour = colors[k % len(colors)]
        for r in n_std:
            width, height = 2 * r * np.sqrt(np.maximum(vals[::-1], 0))
            style = {"fill": False, "lw": 2.0 if r == n_std[0] else 1.4,
                     "ls": "-" if r == n_std[0] else "--", "color": colour, "zorder": 3,
                     "path_effects": halo, **kwargs}  # fmt: skip
            e = Ellipse((float(centre[0]), float(centre[1])), width, height, angle=angle, **style)
            ax.add_patch(e)
            patches.append(e)
        ax.plot(*centre, marker="x", color=colour, ms=8, mew=2, zorder=4, path_effects=halo)
    return patches


def responsibility_colours(resp: np.ndarray, colors: Sequence[str] = COLORS) -> np.ndarray:
    """RGB colours mixing the components' colours by responsibility, shape (n, 3)."""
    from matplotlib.colors import to_rgb

    base = np.array([to_rgb(colors[k % len(colors)]) for k in range(resp.shape[1])])
    return np.clip(resp @ base, 0, 1)


def plot_em_iterations(X: np.ndarray, *, n_components: int = 2,
                       iterations: Sequence[int] = (0, 1, 2, 3, 4, 5, 6, 20),
                       covariance_type: str = DEFAULT_COVARIANCE, means_init: Any = None,
                       random_state: Any = 0, ncols: int = 4,
                       feature_names: Sequence[str] | None = None) -> Any:  # fmt: skip
    """EM on ``X`` one iteration at a time: a panel per requested iteration.

    Points are coloured by their responsibilities (a mix of the components'
    colours), with 1- and 2-standard-deviation ellipses per component.
    Iteration 0 is the starting point.

    Returns
    -------
    matplotlib Figure
    """
    from gradmix.mixture import GaussianMixture
    from gradmix.mixture.covariance import identity_precisions

    plt = _pyplot()
    X = np.asarray(X, dtype=float)
    its = sorted(set(int(i) for i in iterations))
    nrows = -(-len(its) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.1 * nrows),
                             sharex=True, sharey=True, squeeze=False)  # fmt: skip
    kw: dict[str, Any] = {"means_init": means_init}
    if means_init is not None:
        d = X.shape[1]
        kw.update(weights_init=np.full(n_components, 1 / n_components))
        kw.update(precisions_init=identity_precisions(covariance_type, n_components, d))
    model = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=0,
                            warm_start=True, random_state=random_state, tol=0, **kw)  # fmt: skip
    done = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
        model.set_params(max_iter=1)
        for ax, it in zip(axes.flat, its, strict=False):
            while done < it:
                model.fit(X)
                done += 1
            resp = model.predict_proba(X)
            ax.scatter(X[:, 0], X[:, 1], s=9, c=responsibility_colours(resp, COLORS),
                       edgecolors="none")  # fmt: skip
            plot_ellipses(ax, model)
            title = "start" if it == 0 else f"after iteration {it}"
            ll = model.score(X)
            ax.set_title(f"{title}\nmean log-lik {ll:.3f}", fontsize=9)
    for ax in axes.flat[len(its) :]:
        ax.set_visible(False)
    names = feature_names or ("feature 0", "feature 1")
    for ax in axes[-1]:
        ax.set_xlabel(names[0])
    for ax in axes[:, 0]:
        ax.set_ylabel(names[1])
    fig.suptitle(f"EM for a {n_components}-component {covariance_type}-covariance mixture: "
                 "colour = responsibility, ellipses at 1 and 2 standard deviations")  # fmt: skip
    fig.tight_layout()
    return fig


def plot_weight_shrinkage(X: Any, *, n_components: int = 10,
                          weight_concentration_prior: float = 1e-3, max_iter: int = 300,
                          covariance_type: str = DEFAULT_COVARIANCE, random_state: Any = 0,
                          ax: Any = None, **kw: Any) -> tuple[Any, Any]:  # fmt: skip
    """The weights of a variational (Dirichlet-process) mixture, update by update.

    A :class:`~gradmix.BayesianGaussianMixture` with ``n_components``
    components is fitted to ``X`` one variational update at a time; each
    component's expected weight is drawn against the update number on a log
    scale.  Components the data do not need shrink towards zero; the dotted
    line is the 1 % that ``n_effective_components_`` counts from.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_components, weight_concentration_prior, max_iter, covariance_type, random_state
        Passed to the estimator (``max_iter`` bounds the updates drawn).
    ax : matplotlib Axes, optional
    **kw
        Further estimator parameters.

    Returns
    -------
    ax : matplotlib Axes
    model : BayesianGaussianMixture
        Fitted (converged, or after ``max_iter`` updates).
    """
    from gradmix.mixture import BayesianGaussianMixture

    if ax is None:
        ax = _pyplot().subplots(figsize=(6.5, 4.2))[1]
    model = BayesianGaussianMixture(n_components=n_components, covariance_type=covariance_type,
                                    weight_concentration_prior=weight_concentration_prior,
                                    max_iter=1, warm_start=True, random_state=random_state,
                                    **kw)  # fmt: skip
    history = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(max_iter):
            model.fit(X)
            history.append(to_host(model.weights_))
            if model.converged_:
                break
    W = np.array(history)
    steps = np.arange(1, len(W) + 1)
    for k in range(n_components):
        ax.plot(steps, W[:, k], color=COLORS[k % len(COLORS)], lw=1.5)
    ax.axhline(0.01, color="0.4", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_ylim(max(float(W.min()), 1e-8) / 2, 1.5)
    ax.set_xlabel("variational update")
    ax.set_ylabel("expected weight")
    ax.set_title(f"{n_components} components offered, {model.n_effective_components_} kept "
                 "(weight ≥ 1 %)")  # fmt: skip
    return ax, model


def plot_clusters(ax: Any, X: np.ndarray, labels: np.ndarray, *, title: str = "",
                  centres: np.ndarray | None = None) -> Any:  # fmt: skip
    """Scatter ``X`` (first two features) coloured by ``labels`` (-1, noise: grey); mark
    ``centres``."""
    labels = np.asarray(labels)
    colours = np.where(labels < 0, "0.7", np.array(COLORS)[labels % len(COLORS)])
    sc = ax.scatter(X[:, 0], X[:, 1], s=9, c=colours, edgecolors="none")
    if centres is not None:
        ax.plot(centres[:, 0], centres[:, 1], "kx", ms=9, mew=2, label="centres")
    ax.set_title(title)
    return sc


def plot_bic(X: Any, *, n_components: Sequence[int] = range(1, 10),
             covariance_types: Sequence[str] | None = None, random_state: Any = 0,
             n_init: int = 1, ax: Any = None, **kwargs: Any) -> Any:  # fmt: skip
    """mclust's BIC picture: BIC against the number of components, one line per model.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_components : sequence of int, default=range(1, 10)
    covariance_types : sequence of str, optional
        Default: mclust's fourteen models (see :func:`gradmix.select_model`).
    **kwargs
        Passed to :func:`gradmix.select_model`.

    Returns
    -------
    (ax, table)
        The Axes and a dict ``{covariance_type: [bic per n_components]}``.
    """
    from gradmix.mixture.selection import select_model

    result = select_model(X, n_components, covariance_types, "bic", n_init, random_state,
                          **kwargs)  # fmt: skip
    ax = result.plot(ax=ax)
    table = {ct: list(result.values[:, j]) for j, ct in enumerate(result.covariance_types)}
    return ax, table


def plot_selection(result: Any, ax: Any = None) -> Any:
    """Criterion curves of a :func:`gradmix.select_model` result, the best one starred
    (the same as ``result.plot(ax)``).

    Returns
    -------
    matplotlib Axes
    """
    return result.plot(ax=ax)


def plot_divided_differences(f: Callable[[float], float], x: float, *,
                             exact: float | None = None,
                             hs: np.ndarray | None = None, ax: Any = None) -> Any:  # fmt: skip
    """Error of forward and central divided differences against h, with AD's error.

    Parameters
    ----------
    f : callable
        Scalar function of one variable, written with numpy.
    x : float
        Point.
    exact : float, optional
        The exact derivative; defaults to gradmix's (exact to rounding).
    hs : ndarray, optional
        Steps, default ``10**linspace(0, -16, 65)``.

    Returns
    -------
    (ax, errors)
        ``errors`` is a dict with arrays ``"h"``, ``"forward"``, ``"central"``
        and the float ``"ad"``.
    """
    from gradmix.ad import derivative, divided_difference

    if ax is None:
        _, ax = _pyplot().subplots(figsize=(6, 4))
    hs = 10.0 ** np.linspace(0, -16, 65) if hs is None else np.asarray(hs)
    ad = float(derivative(f)(x))
    ref = ad if exact is None else float(exact)
    tiny = np.finfo(float).tiny
    fwd = np.array([abs(divided_difference(f, x, h, "forward") - ref) for h in hs])
    cen = np.array([abs(divided_difference(f, x, h, "central") - ref) for h in hs])
    ad_err = abs(ad - ref)
    floor = np.finfo(float).eps * max(abs(ref), 1.0)
    ax.loglog(
        hs, np.maximum(fwd, tiny), "o-", ms=3, label="forward difference  (f(x+h) - f(x)) / h"
    )
    ax.loglog(
        hs, np.maximum(cen, tiny), "s-", ms=3, label="central difference  (f(x+h) - f(x-h)) / 2h"
    )
    ad_label = ("automatic differentiation: exact (error 0, drawn at machine precision)"
                if ad_err == 0 else f"automatic differentiation (error {ad_err:.1e})")  # fmt: skip
    ax.axhline(max(ad_err, floor / 2), color="k", lw=2, label=ad_label)  # fmt: skip
    ax.set_xlabel("step h")
    ax.set_ylabel("|approximation - f'(x)|")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, which="major", alpha=0.3)
    return ax, {"h": hs, "forward": fwd, "central": cen, "ad": ad_err}


def plot_dual_program(x1: float = 1.5, x2: float = 2.0, ax: Any = None) -> Any:
    """The lecture's computational graph of f(x1, x2) = x1·x2 + sin(x1).

    Each node shows its value w, its tangent ẇ from the forward sweep seeded
    for ∂f/∂x2 (dual numbers), and its adjoint w̄ = ∂f/∂w from the reverse
    sweep; all three come from gradmix, not from formulas typed here.

    Returns
    -------
    matplotlib Axes
    """
    from gradmix.ad import Dual, vjp

    if ax is None:
        _, ax = _pyplot().subplots(figsize=(8, 4.5))
    d1, d2 = Dual(x1, 0.0), Dual(x2, 1.0)
    fw = {"w1": d1, "w2": d2}
    fw["w3"] = fw["w1"] * fw["w2"]
    fw["w4"] = np.sin(fw["w1"])
    fw["w5"] = fw["w3"] + fw["w4"]

    # adjoints: pull back 1 from each intermediate to get ∂f/∂w, one sweep per node
    def f_from(name: str) -> Callable[..., Any]:
        def f(w: Any) -> Any:
            vals = {"w1": x1, "w2": x2, "w3": x1 * x2, "w4": np.sin(x1)}
            vals[name] = w
            if name == "w1":
                vals["w3"], vals["w4"] = w * vals["w2"], np.sin(w)
            if name == "w2":
                vals["w3"] = vals["w1"] * w
            return vals["w3"] + vals["w4"] if name != "w5" else w

        return f

    adj = {}
    for name in fw:
        value = float(fw[name].primal)
        adj[name] = float(vjp(f_from(name), value)[1](1.0)[0])
    pos = {"w1": (0.1, 0.75), "w2": (0.1, 0.25), "w3": (0.45, 0.5), "w4": (0.45, 0.85),
           "w5": (0.8, 0.65)}  # fmt: skip
    label = {"w1": "w1 = x1", "w2": "w2 = x2", "w3": "w3 = w1·w2", "w4": "w4 = sin(w1)",
             "w5": "w5 = w3 + w4"}  # fmt: skip
    for a, b in [("w1", "w3"), ("w2", "w3"), ("w1", "w4"), ("w3", "w5"), ("w4", "w5")]:
        ax.annotate("", xy=pos[b], xytext=pos[a],
                    arrowprops={"arrowstyle": "->", "color": "0.4", "lw": 1.5,
                                "shrinkA": 38, "shrinkB": 38})  # fmt: skip
    for name, (px, py) in pos.items():
        w = fw[name]
        text = (f"{label[name]}\nw = {float(w.primal):.4f}\nẇ = {float(w.tangent):.4f}\n"
                f"w̄ = {adj[name]:.4f}")  # fmt: skip
        ax.text(px, py, text, ha="center", va="center", fontsize=9, family="monospace",
                bbox={"boxstyle": "round,pad=0.5", "fc": "#eef4fb", "ec": "tab:blue"})  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.axis("off")
    ax.set_title(f"f(x1, x2) = x1·x2 + sin(x1) at x1 = {x1:g}, x2 = {x2:g}\n"
                 "ẇ: forward sweep (dual numbers) seeded for ∂f/∂x2;  "
                 "w̄ = ∂f/∂w: reverse sweep", fontsize=10)  # fmt: skip
    return ax


def plot_graph(graph: Any, ax: Any = None) -> Any:
    """Draw a traced or compiled :class:`gradmix.Graph` as a layered computational graph.

    Inputs on the left, each operation one column right of its deepest
    argument.  For a compiled graph (``gm.compile(f, ...).graph``) the forward
    sweep is blue and the adjoint sweep orange.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(min(3 + 1.6 * len(graph.nodes) ** 0.5 * 2, 16), 5))
    names = graph.names()
    depth: dict[int, int] = {id(n): 0 for n in graph.inputs}
    for node in graph.nodes:
        depth[id(node)] = 1 + max((depth.get(id(p), 0) for _, p in node.parents), default=0)
    columns: dict[int, list[Any]] = {}
    for node in list(graph.inputs) + list(graph.nodes):
        columns.setdefault(depth[id(node)], []).append(node)
    pos = {}
    for col, members in columns.items():
        for row, node in enumerate(members):
            pos[id(node)] = (col, -(row - (len(members) - 1) / 2))
    fwd = {id(n) for n in graph.nodes[: graph.forward_size]}
    input_ids = {id(n) for n in graph.inputs}
    for node in graph.nodes:
        for _, parent in node.parents:
            ax.annotate("", xy=pos[id(node)], xytext=pos[id(parent)],
                        arrowprops={"arrowstyle": "->", "color": "0.5", "shrinkA": 14,
                                    "shrinkB": 14})  # fmt: skip
    for node in list(graph.inputs) + list(graph.nodes):
        x, y = pos[id(node)]
        is_input = id(node) in input_ids
        colour = "#e8f5e9" if is_input else ("#eef4fb" if id(node) in fwd else "#fdf0e3")
        label = names[id(node)] if is_input else f"{names[id(node)]}\n{graph.label(node)}"
        ax.text(x, y, label, ha="center", va="center", fontsize=8, family="monospace",
                bbox={"boxstyle": "round", "fc": colour, "ec": "0.4"})  # fmt: skip
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    return ax

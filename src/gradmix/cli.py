"""The ``gradmix`` command line: ``demo``, ``fit``, ``predict`` and ``diff``.

Every user mistake is reported as one line on stderr with exit status 2 (a
traceback only with ``--debug``); existing files are never overwritten
without ``--force``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from gradmix.ad.taylor import MAX_ORDER
from gradmix.expr import CONSTANTS, MAX_DEPTH, MAX_LENGTH
from gradmix.mixture.covariance import DEFAULT_COVARIANCE, MCLUST_NAMES, MODELS, SKLEARN_NAMES
from gradmix.mixture.initialisation import INIT_PARAMS

__all__ = ["main"]


class UsageError(Exception):
    """A user mistake: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ----------------------------------------------------------------------------- files
def _note(message: str) -> None:
    print(f"gradmix: note: {message}", file=sys.stderr)


def _output(path: str | Path, force: bool) -> Path:
    """An output path checked before any work (see :func:`gradmix.files.check_writable`)."""
    from gradmix.files import OutputError, check_writable

    try:
        return check_writable(path, force)
    except OutputError as exc:
        raise UsageError(str(exc)) from None


def _save_figure(fig: Any, path: Path, force: bool, dpi: int) -> None:
    """Write a figure through an exclusively created (or atomically replaced) file."""
    from gradmix.files import create

    with create(path, overwrite=force) as fh:
        fig.savefig(fh, dpi=dpi, format=path.suffix[1:].lower() or "png")


def _figure_path(path: str, force: bool) -> Path:
    import matplotlib.figure

    out = _output(path, force)
    formats = matplotlib.figure.Figure().canvas.get_supported_filetypes()
    if out.suffix[1:].lower() not in formats:
        raise UsageError(f"{out}: unknown picture format {out.suffix!r}; use one of "
                         f"{', '.join('.' + f for f in sorted(formats))}")  # fmt: skip
    return out


def read_csv(path: str, columns: Sequence[str] | None = None, drop_missing: bool = False,
             keep_missing: bool = False) -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """Numeric columns of a CSV file with a header row (see :mod:`gradmix.csvdata`).

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns)
    names : list of str
    """
    table = _read_table(path, columns, drop_missing=drop_missing, keep_missing=keep_missing)
    return table.X, table.names


def _read_table(path: str, columns: Sequence[str] | None, **options: Any) -> Any:
    from gradmix.csvdata import CSVError, read_table

    try:
        return read_table(path, columns, note=_note, **options)
    except CSVError as exc:
        raise UsageError(str(exc)) from None


# ------------------------------------------------------------------------------ demo
def _demo(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import gradmix as gm
    from gradmix import plot
    from gradmix.datasets import load_old_faithful
    from gradmix.mixture.summary import format_summary

    out = Path(args.out)
    names = ["dual_numbers.png", "divided_differences.png", "em_iterations.png",
             "kmeans_vs_gmm.png", "bic.png"]  # fmt: skip
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    if out.is_dir():
        for n in names:
            _output(out / n, args.force)
    else:
        _output(out, False)  # its parent must exist and be writable
    out.mkdir(exist_ok=True)
    t0 = time.perf_counter()

    print("1. Dual numbers: the lecture's dual program")
    print("   f(x1, x2) = x1*x2 + sin(x1) at x1 = 1.5, x2 = 2, seeded for df/dx2")
    w1, w2 = gm.Dual(1.5, 0.0), gm.Dual(2.0, 1.0)
    w3 = w1 * w2
    w4 = np.sin(w1)
    w5 = w3 + w4
    for label, w in [("w1 = x1", w1), ("w2 = x2", w2), ("w3 = w1*w2", w3),
                     ("w4 = sin(w1)", w4), ("w5 = w3 + w4", w5)]:  # fmt: skip
        print(f"   {label:<14} w = {float(w.primal):+.10f}   w' = {float(w.tangent):+.10f}")
    print(f"   df/dx2 = w5' = {float(w5.tangent):.10f}  (exact: x1 = 1.5)")
    g = gm.grad(lambda a, b: a * b + np.sin(a), argnums=(0, 1))(1.5, 2.0)
    print(f"   reverse mode, full gradient: df/dx1 = {float(g[0]):.10f} "
          f"(x2 + cos x1 = {2 + np.cos(1.5):.10f}), df/dx2 = {float(g[1]):.10f}")  # fmt: skip
    fig, ax = plt.subplots(figsize=(8, 4.5))
    plot.plot_dual_program(1.5, 2.0, ax=ax)
    fig.tight_layout()
    _save_figure(fig, out / names[0], args.force, 110)
    plt.close(fig)
    print(f"   the computational graph with w, w' and adjoints: {out / names[0]}\n")

    print("2. Divided differences against AD for f(x) = x^3 at x = 1")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _, err = plot.plot_divided_differences(lambda x: x**3, 1.0, exact=3.0, ax=ax)
    ax.set_title("Error of the derivative of f(x) = x³ at x = 1")
    fig.tight_layout()
    _save_figure(fig, out / names[1], args.force, 110)
    plt.close(fig)
    i_fwd, i_cen = int(np.argmin(err["forward"])), int(np.argmin(err["central"]))
    print(f"   forward:  best error {err['forward'][i_fwd]:.1e} at h = {err['h'][i_fwd]:.0e}")
    print(f"   central:  best error {err['central'][i_cen]:.1e} at h = {err['h'][i_cen]:.0e}")
    print(f"   AD:       error {err['ad']:.1e} (no step to choose)\n")

    print("3. EM on Old Faithful (standardised), 2 components, full covariance")
    X = load_old_faithful()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    fig = plot.plot_em_iterations(
        Z, n_components=2, means_init=[[-1.5, 1.0], [1.5, -1.0]],
        feature_names=("eruption duration (standardised)", "waiting time (standardised)"),
    )  # fmt: skip
    _save_figure(fig, out / names[2], args.force, 100)
    plt.close(fig)
    print(f"   panels at the start and after iterations 1-6 and 20: {out / names[2]}\n")

    print("4. Hard against soft assignments")
    km = gm.KMeans(2, random_state=0).fit(X)
    gmm = gm.GaussianMixture(2, random_state=0).fit(X)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    plot.plot_clusters(axes[0], X, km.labels_, centres=km.cluster_centers_,
                       title="k-means: hard assignments")  # fmt: skip
    resp = gmm.predict_proba(X)
    axes[1].scatter(X[:, 0], X[:, 1], s=9, c=plot.responsibility_colours(resp),
                    edgecolors="none")  # fmt: skip
    plot.plot_ellipses(axes[1], gmm)
    axes[1].set_title("Gaussian mixture: soft assignments, 1 and 2 sd ellipses")
    for a in axes:
        a.set_xlabel("eruption duration (min)")
    axes[0].set_ylabel("waiting time (min)")
    fig.tight_layout()
    _save_figure(fig, out / names[3], args.force, 100)
    plt.close(fig)
    agree = np.mean(km.labels_ == gmm.predict(X))
    agree = max(agree, 1 - agree)
    print(f"   k-means and GMM agree on {100 * agree:.1f}% of points: {out / names[3]}\n")

    print("5. Model choice: BIC of mclust's 14 covariance models for 1-9 components")
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(13, 5))
    sel = gm.select_model(X, range(1, 10), random_state=0)
    sel.plot(ax=full)
    full.set_title("Old Faithful: BIC by number of components and covariance model")
    sel.plot(ax=zoom)
    best_model, best_k, best_bic = sel.top(1)[0]
    zoom.set_ylim(best_bic - 5, best_bic + 60)
    zoom.set_title("the same, near the minimum")
    zoom.get_legend().remove()
    fig.tight_layout()
    _save_figure(fig, out / names[4], args.force, 110)
    plt.close(fig)
    print(
        f"   lowest BIC: {best_k} components, model {best_model} (BIC {best_bic:.3f}; "
        f"mclust: EEE, 3, 2314.316): {out / names[4]}\n"
    )

    print("6. The fitted 2-component model")
    print(format_summary(gmm, X, ["eruptions", "waiting"]))

    print("\n7. The lecture's alternative: gradient ascent on the marginal likelihood")
    kw: dict[str, Any] = dict(n_components=2, reg_covar=0.0, random_state=0, tol=1e-10,
                              max_iter=10_000)  # fmt: skip
    em = gm.GaussianMixture(**kw).fit(X)
    lbfgs = gm.GaussianMixture(**kw, solver="gradient").fit(X)
    newton = gm.GaussianMixture(2, reg_covar=0.0, random_state=0, refine="newton").fit(X)
    print(f"   EM to tol 1e-10:          {em.n_iter_:4d} iterations, mean log-likelihood "
          f"{em.lower_bound_:.10f}")  # fmt: skip
    print(f"   L-BFGS on AD gradients:   {lbfgs.n_iter_:4d} iterations, mean log-likelihood "
          f"{lbfgs.lower_bound_:.10f}")  # fmt: skip
    print(f"   EM to 1e-3, then Newton:  {newton.n_iter_:4d} + {newton.n_refine_iter_} iterations, "
          f"mean log-likelihood {newton.lower_bound_:.10f}")  # fmt: skip
    se = newton.standard_errors(X)["means"]
    print("   means ± standard errors (observed information from the exact Hessian):")
    for k, (m, s) in enumerate(zip(newton.means_, se, strict=True)):
        print(f"     component {k}: eruptions {m[0]:.3f} ± {s[0]:.3f} min, "
              f"waiting {m[1]:.2f} ± {s[1]:.2f} min")  # fmt: skip
    print(f"\nwrote {len(names)} pictures to {out}/ in {time.perf_counter() - t0:.1f} s")


# ------------------------------------------------------------------------------- fit
def _components(text: str | None) -> list[int]:
    """``-k``: one number, a range ``A:B`` (both included), or none (mclust's 1:9)."""
    if text is None:
        return list(range(1, 10))
    try:
        if ":" in text:
            a, b = (int(v) for v in text.split(":"))
            ks = list(range(a, b + 1))
        else:
            ks = [int(text)]
    except ValueError:
        raise UsageError(f"-k must be a number or a range A:B, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise UsageError(f"-k must be at least 1 (a range A:B with 1 <= A <= B), got {text!r}")
    return ks


def _model_list(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown or not names:
        raise UsageError(f"--models takes covariance models among {', '.join(MODELS)}; "
                         f"unknown: {', '.join(unknown) or '(none given)'}")  # fmt: skip
    return names


def _select(args: argparse.Namespace, ks: list[int], models: list[str] | None) -> None:
    """``gradmix fit`` without one K: mclust's Mclust(X), models and K chosen by BIC."""
    import gradmix as gm
    from gradmix.mixture.persistence import model_path, save

    if args.bayesian or args.dof is not None or args.missing == "em":
        raise UsageError("choosing the model (no -k, or a range) fits Gaussian mixtures by EM: "
                         "--bayesian, --dof and --missing em need one -k")  # fmt: skip
    if args.covariance is not None:
        models = [args.covariance] if models is None else models
    out = _output(model_path(args.out), args.force) if args.out else None
    cols = [c.strip() for c in args.columns.split(",")] if args.columns else None
    X, names = read_csv(args.data, cols, drop_missing=args.drop_missing)
    if X.shape[0] < 2:
        raise UsageError(f"{args.data} has {X.shape[0]} data rows, too few to choose a model")
    kw: dict[str, Any] = {"max_iter": args.max_iter}
    if args.init is not None:
        kw["init_params"] = args.init
    if args.noise:
        kw["noise"] = True
    if args.prior:
        kw["prior"] = args.prior
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sel = gm.select_model(X, ks, covariance_types=models, n_init=args.n_init,
                              random_state=args.seed, **kw)  # fmt: skip
    for w in caught:
        print(f"gradmix: warning: {w.message}", file=sys.stderr)
    print("Best BIC values (lower is better; mclust prints them negated):")
    for model_name, k, value in sel.top(3):
        print(f"  {model_name},{k}: {value:.3f}")
    model = sel.best_
    print(model.summary(X, names))
    if out is not None:
        model.set_params(callback=None)
        path = save(model, out, overwrite=args.force, metadata={"columns": names})
        print(f"model saved to {path}")


def _fit(args: argparse.Namespace) -> None:
    import gradmix as gm
    from gradmix.mixture.persistence import model_path, save

    ks = _components(args.k)
    models = _model_list(args.models) if args.models else None
    if len(ks) > 1 or models is not None:
        _select(args, ks, models)
        return
    args.k = ks[0]
    args.covariance = args.covariance or DEFAULT_COVARIANCE
    if args.bayesian and args.covariance not in SKLEARN_NAMES:
        raise UsageError(f"--bayesian takes the covariance models {', '.join(SKLEARN_NAMES)}, "
                         f"not {args.covariance}")  # fmt: skip
    out = _output(model_path(args.out), args.force) if args.out else None
    plot_path = _figure_path(args.plot, args.force) if args.plot else None
    if out is not None and plot_path is not None and out.absolute() == plot_path.absolute():
        raise UsageError("--out and --plot name the same file")
    cols = [c.strip() for c in args.columns.split(",")] if args.columns else None
    if args.missing == "em" and args.drop_missing:
        raise UsageError("--missing em and --drop-missing contradict each other")
    if args.missing == "em" and args.bayesian:
        raise UsageError("--missing em is an option of the EM fit, not of --bayesian")
    if args.bayesian and (args.dof is not None or args.noise):
        raise UsageError("--dof and --noise are options of the EM fit, not of --bayesian")
    if args.noise and args.missing == "em":
        raise UsageError("--noise and --missing em cannot be combined")
    if args.prior and (args.bayesian or args.dof is not None or args.missing == "em"):
        raise UsageError("--prior is mclust's prior for Gaussian mixtures fit by EM: not with "
                         "--bayesian, --dof or --missing em")  # fmt: skip
    dof: str | float | None = args.dof
    if dof is not None and dof not in ("free", "shared"):
        try:
            dof = float(dof)
        except ValueError:
            dof = -1.0
        if not (0 < dof < float("inf")):
            raise UsageError(f"--dof must be 'free', 'shared' or a positive number, got "
                             f"{args.dof!r}")  # fmt: skip
    X, names = read_csv(args.data, cols, drop_missing=args.drop_missing,
                        keep_missing=args.missing == "em")  # fmt: skip
    need = max(args.k, 2)
    if X.shape[0] < need:
        rows = "1 data row" if X.shape[0] == 1 else f"{X.shape[0]} data rows"
        raise UsageError(f"{args.data} has {rows}, too few: -k {args.k} needs at least {need}")
    bar = None
    if not args.quiet and sys.stdout.isatty():
        from tqdm import tqdm

        bar = tqdm(total=args.n_init * args.max_iter, desc="EM", unit="it", delay=1.0,
                   leave=False)  # fmt: skip

    def progress(init: int, n_iter: int, lower_bound: float) -> None:
        if bar is not None:
            bar.n = init * args.max_iter + n_iter
            bar.set_postfix(lower_bound=f"{lower_bound:.5f}", refresh=False)
            bar.refresh()

    common = dict(covariance_type=args.covariance, n_init=args.n_init, random_state=args.seed,
                  max_iter=args.max_iter, callback=progress)  # fmt: skip
    if args.init is not None:  # else each estimator's own default
        common["init_params"] = args.init
    model: Any
    if args.bayesian:
        model = gm.BayesianGaussianMixture(n_components=args.k, **common)
    elif dof is not None:
        model = gm.StudentTMixture(args.k, dof=dof, missing=args.missing,
                                   noise=args.noise or None, **common)  # fmt: skip
    else:
        model = gm.GaussianMixture(args.k, missing=args.missing, noise=args.noise or None,
                                   prior=args.prior, **common)  # fmt: skip
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(X)
    finally:
        if bar is not None:
            bar.close()
    for w in caught:
        print(f"gradmix: warning: {w.message}", file=sys.stderr)
    print(model.summary(X, names))
    if out is not None:
        model.set_params(callback=None)
        path = save(model, out, overwrite=args.force, metadata={"columns": names})
        print(f"model saved to {path}")
    if plot_path is not None:
        _plot_fit(model, X, names, plot_path, args.force)
        print(f"plot saved to {plot_path}")


def _plot_fit(model: Any, X: np.ndarray, names: list[str], path: Path, force: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gradmix import plot

    fig, ax = plt.subplots(figsize=(6.5, 5))
    kind = "Bayesian" if hasattr(model, "weight_concentration_") else ""
    resp = model.predict_proba(X)
    colours = list(plot.COLORS)
    if resp.shape[1] > model.n_components:  # the noise component: grey
        colours = [colours[k % len(colours)] for k in range(model.n_components)] + ["0.7"]
    if np.isnan(X).any():
        X = model.impute(X)  # rows with missing values drawn where the model expects them
    if X.shape[1] == 1:
        ax.hist(X[:, 0], bins=40, color="0.7")
        ax.set_xlabel(names[0])
    elif X.shape[1] == 2:
        ax.scatter(X[:, 0], X[:, 1], s=9, c=plot.responsibility_colours(resp, colours),
                   edgecolors="none")  # fmt: skip
        plot.plot_ellipses(ax, model, min_weight=0.01 if kind == "Bayesian" else 0.0)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    else:
        # the first two principal components of the data
        centre = X.mean(axis=0)
        _, _, vt = np.linalg.svd(X - centre, full_matrices=False)
        P = (X - centre) @ vt[:2].T
        ax.scatter(P[:, 0], P[:, 1], s=9, c=plot.responsibility_colours(resp, colours),
                   edgecolors="none")  # fmt: skip
        ax.set_xlabel("principal component 1")
        ax.set_ylabel("principal component 2")
    family = "Student-t" if hasattr(model, "degrees_of_freedom_") else "Gaussian"
    title = f"{model.n_components}-component {model.covariance_type} {family} mixture"
    if kind:
        title = f"{kind} {title} ({model.n_effective_components_} kept)"
    ax.set_title(title)
    fig.tight_layout()
    try:
        _save_figure(fig, path, force, 110)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


# -------------------------------------------------------------------------- classify
def _classify(args: argparse.Namespace) -> None:
    """``gradmix classify``: mclust's MclustDA on a CSV file with a label column."""
    import gradmix as gm
    from gradmix.mixture.persistence import model_path, save

    ks = _components(args.k or "1:5")
    models = _model_list(args.models) if args.models else None
    if args.type == "EDDA" and args.k is not None:
        raise UsageError("-k is MclustDA's: EDDA fits one Gaussian per class")
    out = _output(model_path(args.out), args.force) if args.out else None
    cols = [c.strip() for c in args.columns.split(",")] if args.columns else None
    table = _read_table(args.data, cols, drop_missing=args.drop_missing, label=args.label)
    X, names, y = table.X, table.names, table.labels
    clf = gm.MixtureDiscriminantAnalysis(args.type, covariance_types=models, n_components=ks,
                                         random_state=args.seed)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    for w in caught:
        print(f"gradmix: warning: {w.message}", file=sys.stderr)
    print(_classifier_summary(clf, X, y, names))
    if out is not None:
        path = save(clf, out, overwrite=args.force,
                    metadata={"columns": names, "label": args.label})  # fmt: skip
        print(f"model saved to {path}")


def _classifier_summary(clf: Any, X: np.ndarray, y: np.ndarray, names: list[str]) -> str:
    """mclust's summary of a MclustDA fit: each class's model, the training errors."""
    counts = [int(np.sum(y == c)) for c in clf.classes_]
    width = max(5, *(len(str(c)) for c in clf.classes_))
    kind = "one Gaussian per class" if clf.model_type == "EDDA" else "a mixture per class"
    lines = [f"Gaussian mixture discriminant analysis ({clf.model_type}: {kind}) of "
             f"{len(y)} rows on {', '.join(names)}",
             f"  {'class':<{width}} {'n':>6}  model  components"]  # fmt: skip
    for c, n, model, k in zip(clf.classes_, counts, clf.covariance_types_, clf.n_components_,
                              strict=True):  # fmt: skip
        lines.append(f"  {c!s:<{width}} {n:>6}  {model:<5}  {k:>10}")
    predicted = clf.predict(X)
    wrong = int(np.sum(predicted != y))
    lines.append(f"Training error: {wrong / len(y):.4f} ({wrong} of {len(y)} rows misclassified)")
    lines.append("Confusion (rows: class, columns: predicted):")
    lines.append("  " + " " * width + "".join(f" {c!s:>{width}}" for c in clf.classes_))
    for c in clf.classes_:
        row = [int(np.sum((y == c) & (predicted == p))) for p in clf.classes_]
        lines.append(f"  {c!s:<{width}}" + "".join(f" {v:>{width}}" for v in row))
    return "\n".join(lines)


# --------------------------------------------------------------------------- predict
def _predict(args: argparse.Namespace) -> None:
    import gradmix as gm
    from gradmix.mixture.persistence import read_metadata

    try:
        model = gm.load(args.model)
        saved = read_metadata(args.model).get("columns")
    except FileNotFoundError:
        raise UsageError(f"cannot read {args.model}: no such file") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # the model's own column names first (a fit on a DataFrame), then those `fit` saved:
    # columns are matched by name, in whatever order the file has them
    names = getattr(model, "feature_names_in_", None)
    columns = [str(c) for c in names] if names is not None else saved
    X, _ = read_csv(args.data, columns, keep_missing=getattr(model, "missing", "error") == "em")
    d = model.n_features_in_
    if X.shape[1] != d:
        raise UsageError(f"{args.data} has {X.shape[1]} numeric columns, the model expects {d}")
    with warnings.catch_warnings():
        # the columns were matched by name above; numpy rows carry no names
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        classes = getattr(model, "classes_", None)  # a classifier: its labels, as text
        lines: Iterable[str]
        if args.proba:
            if not hasattr(model, "predict_proba"):
                raise UsageError("--proba needs a Gaussian mixture model or a classifier")
            out = model.predict_proba(X)
            # a classifier's columns are its classes: named in a CSV header
            header = [] if classes is None else [",".join(map(str, classes))]
            lines = itertools.chain(header, (",".join(f"{v:.10g}" for v in row) for row in out))
        elif classes is not None:
            lines = (str(v) for v in model.predict(X))
        else:
            lines = (str(int(v)) for v in model.predict(X))
        sys.stdout.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------ diff
def _parse_at(text: str) -> dict[str, float]:
    from gradmix.expr import normalise

    values: dict[str, float] = {}
    for part in text.split(","):
        name, sep, val = part.partition("=")
        name = normalise(name.strip())
        if not sep or not name.isidentifier():
            raise UsageError(f"--at expects name=value pairs separated by commas, got {part!r}")
        if name in values:
            raise UsageError(f"--at gives {name} twice")
        try:
            values[name] = float(val)
        except ValueError:
            raise UsageError(f"--at: {val.strip()!r} is not a number") from None
        if not np.isfinite(values[name]):
            raise UsageError(f"--at: {name} = {val.strip()} is not a finite number")
    return values


def _diff(args: argparse.Namespace) -> None:
    import gradmix as gm
    from gradmix.expr import ExpressionError, evaluate, parse, variables

    try:
        tree = parse(args.expr)
    except ExpressionError as exc:
        raise UsageError(str(exc)) from None
    at = _parse_at(args.at)
    names = variables(tree)
    missing = [n for n in names if n not in at]
    if missing:
        raise UsageError(f"no value for {missing[0]!r}: add it to --at")
    unknown = [n for n in at if n not in names]
    if unknown and unknown[0] in CONSTANTS:
        raise UsageError(f"{unknown[0]} is a constant ({CONSTANTS[unknown[0]]!r}), not a variable")
    if unknown:
        raise UsageError(f"--at names {unknown[0]!r}, which the expression does not use")
    if not 1 <= args.order <= MAX_ORDER:
        raise UsageError(f"--order must lie between 1 and {MAX_ORDER}, got {args.order}")
    if args.order > 2 and len(names) != 1:
        raise UsageError(f"--order above 2 applies to formulas of one variable; this one "
                         f"has {len(names)}, for which the gradient and the Hessian are "
                         "printed")  # fmt: skip
    if args.h is not None and not (np.isfinite(args.h) and args.h > 0):
        raise UsageError(f"--h must be a positive, finite step, got {args.h}")
    x = np.array([at[n] for n in names], dtype=float)

    def f(v: Any) -> Any:
        return evaluate(tree, {n: v[i] for i, n in enumerate(names)})

    with np.errstate(all="ignore"):
        value = float(evaluate(tree, at))
        if not np.isfinite(value):
            point = ", ".join(f"{n} = {at[n]!r}" for n in names)
            raise UsageError(f"the formula's value at {point} is {value}: it is not defined "
                             "(or overflows) there, so neither are its derivatives")  # fmt: skip
        print(f"f = {args.expr}")
        print("at " + ", ".join(f"{n} = {at[n]!r}" for n in names))  # every digit given
        print(f"value          {value:.16g}")
        if not names:
            print("the expression has no variables: every derivative is 0")
            return
        g = gm.grad(f)(x)
        print("gradient (reverse mode)")
        for n, gi in zip(names, g, strict=True):
            print(f"  d/d{n:<10} {gi: .16g}")
        if len(names) >= 2:  # the gradient and the Hessian: orders 1 and 2
            H = gm.hessian(f)(x)
            print("Hessian (forward over reverse)")
            for row in H:
                print("  [" + "  ".join(f"{v: .10g}" for v in row) + "]")
        elif args.order > 1:
            d_n = gm.derivative(lambda t: evaluate(tree, {names[0]: t}), args.order)(x[0])
            print(f"derivative of order {args.order}  {float(d_n):.16g}")
        h = args.h
        print("forward divided difference (f(x + h e_i) - f(x)) / h, and its error against AD")
        for i, n in enumerate(names):
            step = h if h is not None else np.sqrt(np.finfo(float).eps) * max(1.0, abs(x[i]))
            xe = x.copy()
            xe[i] += step
            fd = (float(f(xe)) - value) / step
            print(f"  d/d{n:<10} {fd: .16g}   h = {step:.2e}   error {abs(fd - g[i]):.2e}")


# ------------------------------------------------------------------------------ main
def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradmix",
        description="Automatic differentiation of numpy code, and Gaussian mixtures fit by EM.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="the lecture's tour, in the terminal and in pictures")
    demo.add_argument("--out", default="gradmix-demo", help="folder for the PNG files")
    demo.add_argument("--force", action="store_true", help="overwrite existing pictures")
    demo.set_defaults(func=_demo)

    fit = sub.add_parser("fit", help="fit a Gaussian mixture to a CSV file")
    fit.add_argument("data", help="CSV file with a header row")
    fit.add_argument("-k", default=None,
                     help="number of components, or a range A:B to choose from by BIC "
                          "(default: choose among 1:9, as mclust's Mclust does)")  # fmt: skip
    fit.add_argument("--covariance", default=None, choices=tuple(MODELS), metavar="MODEL",
                     help="covariance model: full, tied, diag, spherical, or one of mclust's "
                          f"{', '.join(MCLUST_NAMES)} (default: full with one -k)")  # fmt: skip
    fit.add_argument("--models",
                     help="comma-separated covariance models to choose among by BIC (default "
                          "without one -k: mclust's fourteen)")  # fmt: skip
    fit.add_argument(
        "--init",
        default=None,
        choices=INIT_PARAMS,
        help="initialisation (hc: mclust's hierarchical agglomeration; trimmed-kmeans: "
        "k-means without the 10%% of rows farthest from every centre)",
    )
    fit.add_argument(
        "--dof",
        help="fit a Student-t mixture: 'free' (one degrees of freedom per component), "
        "'shared', or a fixed positive number (default: a Gaussian mixture)",
    )
    fit.add_argument(
        "--noise",
        action="store_true",
        help="add mclust's noise component, uniform over the data's hypervolume (its rows "
        "start from nearest-neighbour cleaning; predict labels them -1)",
    )
    fit.add_argument(
        "--bayesian",
        action="store_true",
        help="variational Bayesian mixture (Dirichlet process): -k is an upper bound and "
        "unneeded components get weights near zero",
    )
    fit.add_argument("--n-init", type=int, default=1, help="initialisations (best kept)")
    fit.add_argument("--max-iter", type=int, default=100, help="EM iterations at most")
    fit.add_argument("--seed", type=int, default=None, help="random seed")
    fit.add_argument(
        "--columns",
        help="comma-separated column names (default: every mostly "
        "numeric column; text columns are left out)",
    )
    fit.add_argument(
        "--drop-missing",
        action="store_true",
        help="leave out rows with empty or NaN cells (default: an error)",
    )
    fit.add_argument(
        "--missing",
        default="error",
        choices=("error", "em"),
        help="missing values (empty or NaN cells): an error (default), or fit by EM on the "
        "observed values (missing at random)",
    )
    fit.add_argument("--prior", default=None, choices=("default",),
                     help="mclust's conjugate prior (priorControl()): fit the posterior mode, "
                          "which keeps small or awkward data from degenerate fits")  # fmt: skip
    fit.add_argument("--out", help="save the model here (.npz)")
    fit.add_argument("--plot", help="save a picture of the fit here (.png)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.add_argument("--force", action="store_true", help="overwrite existing files")
    fit.set_defaults(func=_fit)

    cls = sub.add_parser("classify", help="fit a classifier (mclust's MclustDA) to a CSV file "
                                           "with a label column")  # fmt: skip
    cls.add_argument("data", help="CSV file with a header row")
    cls.add_argument("--label", required=True, help="the column of class labels")
    cls.add_argument("--type", default="MclustDA", choices=("MclustDA", "EDDA"),
                     help="MclustDA: a mixture per class, its components and model chosen by "
                          "BIC (default); EDDA: one Gaussian per class, a common covariance "
                          "model chosen by BIC (EEE is LDA, VVV is QDA)")  # fmt: skip
    cls.add_argument("-k", default=None,
                     help="MclustDA: the components per class to choose among, a number or a "
                          "range A:B (default 1:5, as mclust)")  # fmt: skip
    cls.add_argument("--models", help="comma-separated covariance models to choose among "
                                      "(default: mclust's fourteen)")  # fmt: skip
    cls.add_argument("--columns", help="comma-separated data columns (default: every numeric "
                                       "column but the label)")  # fmt: skip
    cls.add_argument(
        "--drop-missing",
        action="store_true",
        help="leave out rows with empty or NaN cells (default: an error)",
    )
    cls.add_argument("--seed", type=int, default=None, help="random seed")
    cls.add_argument("--out", help="save the classifier here (.npz)")
    cls.add_argument("--force", action="store_true", help="overwrite an existing file")
    cls.set_defaults(func=_classify)

    pred = sub.add_parser("predict", help="labels or responsibilities for a CSV file")
    pred.add_argument("model", help="a model saved by 'gradmix fit --out' or 'gradmix "
                                    "classify --out'")  # fmt: skip
    pred.add_argument("data", help="CSV file with a header row")
    pred.add_argument("--proba", action="store_true",
                      help="print responsibilities, one column per component and the "
                           "noise component's last (a classifier's: class probabilities, "
                           "under a header of the classes)")  # fmt: skip
    pred.set_defaults(func=_predict)

    diff = sub.add_parser(
        "diff", help="value, gradient, Hessian of a formula",
        description=f"Limits: formulas of at most {MAX_LENGTH} characters, nested at most "
        f"{MAX_DEPTH} levels deep (a long sum or product counts once), numbers below "
        f"about 1.8e308; --order between 1 and {MAX_ORDER}; --h positive.",
    )  # fmt: skip
    diff.add_argument("expr", help='a formula, e.g. "x1*x2 + sin(x1)" (may start with -)')
    diff.add_argument("--at", required=True, help="the point, e.g. x1=1.5,x2=2")
    diff.add_argument(
        "--order",
        type=int,
        default=1,
        help=f"derivative order, 1 to {MAX_ORDER} (formulas of one variable)",
    )
    diff.add_argument(
        "--h",
        type=float,
        default=None,
        help="step of the divided difference (positive; default √eps·max(1, |x|))",
    )
    diff.set_defaults(func=_diff)
    return parser


_DIFF_OPTIONS = ("--at", "--order", "--h", "-h", "--help")


def _formula_last(argv: list[str]) -> list[str]:
    """``diff -x*y --at ...``: a formula starting with "-" moved behind "--", where
    argparse reads it as the positional argument it is, not as an option."""
    if "diff" not in argv:
        return argv
    i = argv.index("diff") + 1
    if i < len(argv) and argv[i].startswith("-") and argv[i].split("=")[0] not in _DIFF_OPTIONS:
        return argv[:i] + argv[i + 1 :] + ["--", argv[i]]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradmix`` command; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(_formula_last(list(sys.argv[1:] if argv is None else argv)))
    try:
        args.func(args)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"gradmix: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        # errors from the estimators (scikit-learn's messages) are user errors too
        if args.debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"gradmix: error: {msg}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

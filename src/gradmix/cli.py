"""The ``gradmix`` command line: ``demo``, ``fit``, ``predict`` and ``diff``.

Every user mistake is reported as one line on stderr with exit status 2 (a
traceback only with ``--debug``); existing files are never overwritten
without ``--force``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from gradmix.mixture.covariance import DEFAULT_COVARIANCE, MCLUST_NAMES, MODELS
from gradmix.mixture.initialisation import INIT_PARAMS

__all__ = ["main"]


class UsageError(Exception):
    """A user mistake: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ----------------------------------------------------------------------------- inputs
def _check_writable(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")


def read_csv(path: str, columns: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Numeric columns of a CSV file with a header row.

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns)
    names : list of str
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"cannot read {path}: no such file")
    try:
        with p.open(newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise UsageError(f"{path} has no data rows (a header row and data are expected)")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise UsageError(f"{path}, line {i}: {len(r)} fields, the header has {len(header)}")

    def numeric(j: int) -> np.ndarray | None:
        try:
            return np.array([float(r[j]) for r in body])
        except ValueError:
            return None

    if columns:
        missing = [c for c in columns if c not in header]
        if missing:
            raise UsageError(f"{path} has no column {missing[0]!r} (columns: {', '.join(header)})")
        picked = [header.index(c) for c in columns]
    else:
        picked = [j for j in range(len(header)) if numeric(j) is not None]
        if not picked:
            raise UsageError(f"{path} has no numeric column")
    cols = []
    for j in picked:
        col = numeric(j)
        if col is None:
            raise UsageError(f"{path}: column {header[j]!r} is not numeric")
        cols.append(col)
    X = np.column_stack(cols)
    if not np.all(np.isfinite(X)):
        bad = int(np.argwhere(~np.isfinite(X))[0][0]) + 2
        raise UsageError(f"{path}, line {bad}: missing, NaN or infinite value")
    return X, [header[j] for j in picked]


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
    for n in names:
        _check_writable(out / n, args.force)
    out.mkdir(parents=True, exist_ok=True)
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
    fig.savefig(out / names[0], dpi=110)
    plt.close(fig)
    print(f"   the computational graph with w, w' and adjoints: {out / names[0]}\n")

    print("2. Divided differences against AD for f(x) = x^3 at x = 1")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _, err = plot.plot_divided_differences(lambda x: x**3, 1.0, exact=3.0, ax=ax)
    ax.set_title("Error of the derivative of f(x) = x³ at x = 1")
    fig.tight_layout()
    fig.savefig(out / names[1], dpi=110)
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
    fig.savefig(out / names[2], dpi=100)
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
    fig.savefig(out / names[3], dpi=100)
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
    fig.savefig(out / names[4], dpi=110)
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
def _fit(args: argparse.Namespace) -> None:
    import gradmix as gm
    from gradmix.mixture.persistence import save
    from gradmix.mixture.summary import format_summary

    cols = [c.strip() for c in args.columns.split(",")] if args.columns else None
    X, names = read_csv(args.data, cols)
    if args.k < 1:
        raise UsageError(f"-k must be at least 1, got {args.k}")
    if X.shape[0] < max(args.k, 2):
        raise UsageError(f"{args.data} has {X.shape[0]} rows, too few for {args.k} components")
    out = Path(args.out) if args.out else None
    plot_path = Path(args.plot) if args.plot else None
    for p in (out, plot_path):
        if p is not None:
            _check_writable(p, args.force)
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

    model = gm.GaussianMixture(
        args.k, covariance_type=args.covariance, n_init=args.n_init, random_state=args.seed,
        max_iter=args.max_iter, callback=progress, init_params=args.init,
    )  # fmt: skip
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(X)
    finally:
        if bar is not None:
            bar.close()
    for w in caught:
        print(f"gradmix: warning: {w.message}", file=sys.stderr)
    print(format_summary(model, X, names))
    if out is not None:
        model.set_params(callback=None)
        path = save(model, out, overwrite=args.force, metadata={"columns": names})
        print(f"model saved to {path}")
    if plot_path is not None:
        _plot_fit(model, X, names, plot_path)
        print(f"plot saved to {plot_path}")


def _plot_fit(model: Any, X: np.ndarray, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gradmix import plot

    fig, ax = plt.subplots(figsize=(6.5, 5))
    resp = model.predict_proba(X)
    if X.shape[1] == 1:
        ax.hist(X[:, 0], bins=40, color="0.7")
        ax.set_xlabel(names[0])
    elif X.shape[1] == 2:
        ax.scatter(X[:, 0], X[:, 1], s=9, c=plot.responsibility_colours(resp),
                   edgecolors="none")  # fmt: skip
        plot.plot_ellipses(ax, model)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    else:
        # the first two principal components of the data
        centre = X.mean(axis=0)
        _, _, vt = np.linalg.svd(X - centre, full_matrices=False)
        P = (X - centre) @ vt[:2].T
        ax.scatter(P[:, 0], P[:, 1], s=9, c=plot.responsibility_colours(resp),
                   edgecolors="none")  # fmt: skip
        ax.set_xlabel("principal component 1")
        ax.set_ylabel("principal component 2")
    ax.set_title(f"{model.n_components}-component {model.covariance_type} Gaussian mixture")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None
    finally:
        plt.close(fig)


# --------------------------------------------------------------------------- predict
def _predict(args: argparse.Namespace) -> None:
    import gradmix as gm
    from gradmix.mixture.persistence import read_metadata

    if not Path(args.model).is_file():
        raise UsageError(f"cannot read {args.model}: no such file")
    try:
        model = gm.load(args.model)
        columns = read_metadata(args.model).get("columns")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    X, _ = read_csv(args.data, columns)
    d = model.n_features_in_
    if X.shape[1] != d:
        raise UsageError(f"{args.data} has {X.shape[1]} numeric columns, the model expects {d}")
    if args.proba:
        if not hasattr(model, "predict_proba"):
            raise UsageError("--proba needs a Gaussian mixture model")
        out = model.predict_proba(X)
        lines = (",".join(f"{v:.10g}" for v in row) for row in out)
    else:
        lines = (str(int(v)) for v in model.predict(X))
    sys.stdout.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------ diff
def _parse_at(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for part in text.split(","):
        name, sep, val = part.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--at expects name=value pairs separated by commas, got {part!r}")
        try:
            values[name] = float(val)
        except ValueError:
            raise UsageError(f"--at: {val.strip()!r} is not a number") from None
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
    if unknown:
        raise UsageError(f"--at names {unknown[0]!r}, which the expression does not use")
    if args.order < 1:
        raise UsageError(f"--order must be at least 1, got {args.order}")
    x = np.array([at[n] for n in names], dtype=float)

    def f(v: Any) -> Any:
        return evaluate(tree, {n: v[i] for i, n in enumerate(names)})

    with np.errstate(all="ignore"):
        value = float(evaluate(tree, at))
        print(f"f = {args.expr}")
        print("at " + ", ".join(f"{n} = {at[n]:g}" for n in names))
        print(f"value          {value:.16g}")
        if not names:
            print("the expression has no variables: every derivative is 0")
            return
        g = gm.grad(f)(x)
        print("gradient (reverse mode)")
        for n, gi in zip(names, g, strict=True):
            print(f"  d/d{n:<10} {gi: .16g}")
        if len(names) >= 2:
            H = gm.hessian(f)(x)
            print("Hessian (forward over reverse)")
            for row in H:
                print("  [" + "  ".join(f"{v: .10g}" for v in row) + "]")
        else:
            order = args.order
            d_n = gm.derivative(lambda t: evaluate(tree, {names[0]: t}), order)(x[0])
            print(f"derivative of order {order}  {float(d_n):.16g}")
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
    fit.add_argument("-k", type=int, required=True, help="number of components")
    fit.add_argument("--covariance", default=DEFAULT_COVARIANCE, choices=tuple(MODELS),
                     metavar="MODEL",
                     help="covariance model: full, tied, diag, spherical, or one of mclust's "
                          f"{', '.join(MCLUST_NAMES)} (default: full)")  # fmt: skip
    fit.add_argument(
        "--init",
        default="kmeans",
        choices=INIT_PARAMS,
        help="initialisation (hc: mclust's hierarchical agglomeration)",
    )
    fit.add_argument("--n-init", type=int, default=1, help="initialisations (best kept)")
    fit.add_argument("--max-iter", type=int, default=100, help="EM iterations at most")
    fit.add_argument("--seed", type=int, default=None, help="random seed")
    fit.add_argument("--columns", help="comma-separated column names (default: all numeric)")
    fit.add_argument("--out", help="save the model here (.npz)")
    fit.add_argument("--plot", help="save a picture of the fit here (.png)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.add_argument("--force", action="store_true", help="overwrite existing files")
    fit.set_defaults(func=_fit)

    pred = sub.add_parser("predict", help="labels or responsibilities for a CSV file")
    pred.add_argument("model", help="a model saved by 'gradmix fit --out'")
    pred.add_argument("data", help="CSV file with a header row")
    pred.add_argument("--proba", action="store_true", help="print responsibilities")
    pred.set_defaults(func=_predict)

    diff = sub.add_parser("diff", help="value, gradient, Hessian of a formula")
    diff.add_argument("expr", help='a formula, e.g. "x1*x2 + sin(x1)"')
    diff.add_argument("--at", required=True, help="the point, e.g. x1=1.5,x2=2")
    diff.add_argument("--order", type=int, default=1, help="derivative order (one variable)")
    diff.add_argument("--h", type=float, default=None, help="step of the divided difference")
    diff.set_defaults(func=_diff)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradmix`` command; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
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

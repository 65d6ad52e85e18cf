"""Bootstrap inference for Gaussian mixtures: mclust's ``mclustBootstrapLRT`` and
``MclustBootstrap``.

:func:`bootstrap_lrt` tests G components against G + 1 for one covariance
model, sequentially from G = 1, by the parametric bootstrap of the
likelihood-ratio statistic ``2 (log L_{G+1} - log L_G)`` (McLachlan 1987):
each replicate draws n rows from the fitted G-component mixture and refits
both models to them, starting EM from the fits to the data, as mclust does.

:func:`bootstrap` resamples a fitted mixture's data (nonparametric), draws
from the fit (parametric) or reweights the rows (weighted-likelihood
bootstrap, O'Hagan et al. 2019), refitting from the fitted parameters each
time, for standard errors and percentile intervals.

Replicates are independent tasks, run on a ``concurrent.futures`` executor:
threads on the host by default (``n_jobs``), or any executor a user passes —
``distributed.Client.get_executor()`` runs them as Dask tasks.  Each
replicate's random numbers come from its own child of ``random_state``'s seed
sequence, so the results do not depend on the executor or the number of
workers.  A replicate whose fit fails (a component collapses on the drawn
data) is replaced by a further draw, as mclust does, up to ``10 n_boot``
failures.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array
from threadpoolctl import threadpool_limits

from gradmix.mixture.covariance import MODELS, matrices
from gradmix.mixture.em_estimator import TiedValuesWarning
from gradmix.mixture.gaussian_mixture import GaussianMixture

__all__ = ["BootstrapLRT", "MixtureBootstrap", "bootstrap", "bootstrap_lrt"]

#: mclust's bound on failed replicates, per replicate asked for
FAILURES_PER_REPLICATE = 10
#: the largest number of components mclust's sequential test goes to by default
DEFAULT_MAX_COMPONENTS = 8
#: the resampling schemes of :func:`bootstrap` (mclust's "bs", "pb", "wlbs")
KINDS = ("nonparametric", "parametric", "weighted")
#: how :func:`bootstrap_lrt` fits by default: mclust's ``mclustBIC`` (its hierarchical
#: start, its convergence rule, no ridge, and iterations until that rule holds: mclust
#: sets no limit, and scikit-learn's 100 stops some fits short of it), so that the
#: statistics are mclust's
MCLUST_FITS: dict[str, Any] = {"init_params": "hc", "tol": "mclust", "reg_covar": 0.0,
                               "max_iter": 10_000}  # fmt: skip


# ================================================================= running replicates
def _seed_sequence(random_state: Any) -> np.random.SeedSequence:
    """One seed sequence for all replicates, from an int, a Generator, a RandomState
    or None (fresh entropy)."""
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(2**31)))
    return np.random.SeedSequence(random_state)


@contextmanager
def _pool(n_jobs: int | None, executor: Executor | None) -> Iterator[Executor | None]:
    """The executor replicates run on: the given one, threads, or None (in order, here)."""
    if executor is not None:
        yield executor
        return
    workers = 1 if n_jobs is None else int(n_jobs)
    if workers < 1:
        raise ValueError(f"n_jobs must be a positive integer or None, got {n_jobs!r}")
    if workers == 1:
        yield None
        return
    # one BLAS thread per replicate: the replicates are the parallelism
    with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
        yield pool


def run_replicates(task: Callable[[np.random.SeedSequence], Any], n_boot: int,
                   seeds: np.random.SeedSequence,
                   pool: Executor | None) -> tuple[list[Any], int]:  # fmt: skip
    """``n_boot`` successful results of ``task``, in seed order, and the number of
    failures.

    ``task`` returns None for a failed replicate; failures are replaced by
    tasks on further seeds, round by round, so the results are the same on
    any executor.

    Raises
    ------
    ValueError
        After ``FAILURES_PER_REPLICATE * n_boot`` failures.
    """
    results: list[Any] = []
    failures = 0
    while len(results) < n_boot:
        batch = seeds.spawn(n_boot - len(results))
        if pool is None:
            outcomes = [task(s) for s in batch]
        else:
            outcomes = [f.result() for f in [pool.submit(task, s) for s in batch]]
        for outcome in outcomes:
            if outcome is None:
                failures += 1
            else:
                results.append(outcome)
        if failures > FAILURES_PER_REPLICATE * n_boot:
            raise ValueError(f"{failures} bootstrap replicates failed to fit (components "
                             f"collapsed on the drawn data), {len(results)} fit")  # fmt: skip
    return results, failures


def _refit(fitted: GaussianMixture, X: np.ndarray,
           sample_weight: np.ndarray | None = None) -> GaussianMixture | None:  # fmt: skip
    """``fitted``'s model refit to ``X`` by EM from ``fitted``'s parameters (mclust's
    ``em(data, parameters = ...)``); None if the fit fails."""
    start = clone(fitted).set_params(
        weights_init=np.asarray(fitted.weights_), means_init=np.asarray(fitted.means_),
        precisions_init=np.asarray(fitted.precisions_), init_params="kmeans", n_init=1,
        verbose=0,
    )  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", TiedValuesWarning)  # (resampled rows repeat)
            return start.fit(X, sample_weight=sample_weight)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return None


def _log_likelihood(model: GaussianMixture, n: int) -> float:
    """The log-likelihood where EM stopped (mclust's ``loglik``: that of the last
    E-step's parameters)."""
    return float(model.lower_bound_) * n


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _data(X: Any) -> np.ndarray:
    """The data as a finite float64 (n, d) array (one column for 1-D input)."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    return check_array(arr, dtype=np.float64)


# ============================================================ the LRT for G vs G + 1
@dataclass(frozen=True)
class BootstrapLRT:
    """The sequential bootstrap likelihood-ratio test (mclust's ``mclustBootstrapLRT``).

    Attributes
    ----------
    covariance_type : str
    n_components : ndarray of int, shape (T,)
        The numbers of components under the null hypotheses tested: test t is
        ``n_components[t]`` against ``n_components[t] + 1``.
    statistic : ndarray, shape (T,)
        The observed statistics ``2 (log L_{G+1} - log L_G)``.
    replicates : ndarray, shape (n_boot, T)
        The statistics of the bootstrap replicates.
    p_values : ndarray, shape (T,)
        ``(1 + #{replicates >= statistic}) / (n_boot + 1)``.
    log_likelihoods : ndarray, shape (T + 1,)
        The data's log-likelihood at G = 1 … T + 1.
    level : float
    """

    covariance_type: str
    n_components: np.ndarray
    statistic: np.ndarray
    replicates: np.ndarray
    p_values: np.ndarray
    log_likelihoods: np.ndarray
    level: float

    @property
    def n_components_selected(self) -> int:
        """The first G whose test does not reject G at ``level`` (the last G + 1 if
        every test rejects)."""
        for g, p in zip(self.n_components, self.p_values, strict=True):
            if p > self.level:
                return int(g)
        return int(self.n_components[-1]) + 1

    def __str__(self) -> str:
        lines = ["Bootstrap sequential LRT for the number of mixture components",
                 f"Model = {self.covariance_type}",
                 f"Replicates = {self.replicates.shape[0]}",
                 f"{'':>10} {'LRTS':>12} {'bootstrap p-value':>18}"]  # fmt: skip
        for g, s, p in zip(self.n_components, self.statistic, self.p_values, strict=True):
            lines.append(f"{f'{g} vs {g + 1}':>10} {s:12.4f} {p:18.4f}")
        return "\n".join(lines)

    def plot(self, axes: Any = None) -> Any:
        """mclust's picture: each test's bootstrap distribution, the observed statistic
        as a vertical line.

        Parameters
        ----------
        axes : sequence of matplotlib Axes, optional
            One per test; default a new figure with a row of panels.

        Returns
        -------
        list of matplotlib Axes
        """
        import matplotlib.pyplot as plt

        T = len(self.n_components)
        if axes is None:
            _, axes = plt.subplots(1, T, figsize=(3.6 * T, 3.2), squeeze=False)
            axes = axes[0]
        axes = list(np.ravel(axes))
        if len(axes) != T:
            raise ValueError(f"plot needs {T} axes (one per test), got {len(axes)}")
        for ax, g, s, reps, p in zip(axes, self.n_components, self.statistic,
                                     self.replicates.T, self.p_values, strict=True):  # fmt: skip
            ax.hist(reps, bins="auto", color="0.8", edgecolor="0.5")
            ax.axvline(s, color="C3", lw=2, ls="--")
            ax.set_title(f"{g} vs {g + 1}: p = {p:.3g}")
            ax.set_xlabel("LRTS")
        axes[0].set_ylabel("bootstrap replicates")
        return axes


def _lrt_replicate(null: GaussianMixture, alternative: GaussianMixture,
                   n: int) -> Callable[[np.random.SeedSequence], float | None]:  # fmt: skip
    def replicate(seed: np.random.SeedSequence) -> float | None:
        X, _ = null.sample(n, random_state=np.random.default_rng(seed))
        fit0 = _refit(null, X)
        fit1 = None if fit0 is None else _refit(alternative, X)
        if fit0 is None or fit1 is None:
            return None
        stat = 2.0 * (_log_likelihood(fit1, n) - _log_likelihood(fit0, n))
        return stat if math.isfinite(stat) else None

    return replicate


def bootstrap_lrt(X: Any, covariance_type: str, *, n_boot: int = 999, level: float = 0.05,
                  max_components: int | None = None, random_state: Any = None,
                  n_jobs: int | None = None, executor: Executor | None = None,
                  **fit_params: Any) -> BootstrapLRT:  # fmt: skip
    """mclust's ``mclustBootstrapLRT``: how many components, by the bootstrap LRT.

    For G = 1, 2, …: fit G and G + 1 components of ``covariance_type`` to
    ``X`` as mclust's ``mclustBIC`` fits them (``MCLUST_FITS``: the
    hierarchical start, mclust's convergence rule, no ridge, no early stop — so the
    statistics are mclust's), and compare the statistic
    ``2 (log L_{G+1} - log L_G)`` with ``n_boot`` replicates drawn from the
    G-component fit, each refit from the two fits' parameters.  Without
    ``max_components`` the sequence stops at the first G the test does not
    reject (p-value above ``level``), or at G = 8 (mclust's 9 components);
    with it, every G up to ``max_components`` is tested.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    covariance_type : str
        One of the model names (mclust's fourteen, ``E``/``V``, scikit-learn's four).
    n_boot : int, default=999
    level : float, default=0.05
        The significance level the sequence stops at.
    max_components : int, optional
        The largest G under the null (mclust's ``maxG``).
    random_state : int, Generator, RandomState or None
        Seeds the fits' starts and the replicates.
    n_jobs : int, optional
        Threads for the replicates (default one: run in turn).  Threads pay
        off from a few thousand rows (two threads: 2.0× on 6 000 × 3); on
        small data each EM step is many small numpy calls that hold the GIL,
        and two threads were slower than one on iris (10.1 s against 8.0 s
        for 99 replicates of VEV, G = 1..3): there a Dask cluster of
        processes (``executor``) parallelises.
    executor : concurrent.futures.Executor, optional
        Where the replicates run instead, e.g. ``distributed.Client.get_executor()``.
    **fit_params
        :class:`GaussianMixture` parameters for every fit, over
        ``MCLUST_FITS`` (e.g. ``init_params="auto"`` for gradmix's best
        of hc and k-means starts, ``reg_covar=1e-6`` where a component
        collapses, ``max_iter``).

    Returns
    -------
    BootstrapLRT

    Raises
    ------
    ValueError
        For ``max_components`` not below the number of rows, a bad ``n_boot``,
        ``level`` or ``n_jobs``, or a fit of the data that fails.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 5]
    >>> test = gm.bootstrap_lrt(X, "EII", n_boot=19, random_state=0)
    >>> test.n_components_selected, test.p_values.round(2).tolist()
    (2, [0.05, 0.4])
    """
    X = _data(X)
    n = X.shape[0]
    if covariance_type not in MODELS:
        raise ValueError(f"covariance_type must be one of {', '.join(MODELS)}; "
                         f"got {covariance_type!r}")  # fmt: skip
    if fit_params.get("prior") is not None:
        raise ValueError("the bootstrap LRT compares maximum likelihoods; a prior's fits are "
                         "posterior modes")  # fmt: skip
    n_boot = _check_count(n_boot, "n_boot")
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if max_components is not None:
        max_components = _check_count(max_components, "max_components")
        if max_components >= n:
            raise ValueError(f"max_components={max_components} needs {max_components + 1} "
                             f"components, more than the data's {n} rows")  # fmt: skip
    last = DEFAULT_MAX_COMPONENTS if max_components is None else max_components
    last = min(last, n - 1)
    if last < 1:
        raise ValueError(f"the test of 1 against 2 components needs at least 3 rows, got {n}")
    seeds = _seed_sequence(random_state)
    fit_seed = int(seeds.generate_state(1)[0])

    def fit(g: int) -> GaussianMixture:
        model = GaussianMixture(g, covariance_type=covariance_type, random_state=fit_seed,
                                **{**MCLUST_FITS, **fit_params})  # fmt: skip
        try:
            return model.fit(X)
        except ValueError as error:
            raise ValueError(f"{covariance_type} with {g} components cannot be fit to the "
                             f"data: {error}") from error  # fmt: skip

    fits = [fit(1)]
    stats, reps, pvals = [], [], []
    with _pool(n_jobs, executor) as pool:
        for g in range(1, last + 1):
            fits.append(fit(g + 1))
            null, alternative = fits[g - 1], fits[g]
            observed = 2.0 * (_log_likelihood(alternative, n) - _log_likelihood(null, n))
            draws, _ = run_replicates(_lrt_replicate(null, alternative, n), n_boot,
                                      seeds.spawn(1)[0], pool)  # fmt: skip
            boot = np.array(draws)
            stats.append(observed)
            reps.append(boot)
            pvals.append((1 + int(np.sum(boot >= observed))) / (n_boot + 1))
            if max_components is None and pvals[-1] > level:
                break
    T = len(stats)
    return BootstrapLRT(covariance_type, np.arange(1, T + 1), np.array(stats),
                        np.column_stack(reps), np.array(pvals),
                        np.array([_log_likelihood(f, n) for f in fits]), float(level))  # fmt: skip


# ================================================= bootstrap of a fit's parameters
@dataclass(frozen=True)
class MixtureBootstrap:
    """Bootstrap replicates of a fitted mixture's parameters (mclust's ``MclustBootstrap``).

    Attributes
    ----------
    kind : str
        ``"nonparametric"``, ``"parametric"`` or ``"weighted"``.
    weights : ndarray, shape (n_boot, K)
    means : ndarray, shape (n_boot, K, d)
    covariances : ndarray, shape (n_boot, K, d, d)
        Each component's covariance matrix, for every model.
    n_failed : int
        Replicates whose fit failed and were drawn again.
    """

    kind: str
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    n_failed: int

    def _each(self, f: Callable[[np.ndarray], Any]) -> dict[str, Any]:
        return {"weights": f(self.weights), "means": f(self.means),
                "covariances": f(self.covariances)}  # fmt: skip

    def standard_errors(self) -> dict[str, np.ndarray]:
        """The replicates' standard deviations (``ddof=1``, as R's ``sd``): ``"weights"``
        (K,), ``"means"`` (K, d), ``"covariances"`` (K, d, d)."""
        return self._each(lambda a: np.std(a, axis=0, ddof=1))

    def mean(self) -> dict[str, np.ndarray]:
        """The replicates' averages (mclust's ``what = "ave"``)."""
        return self._each(lambda a: np.mean(a, axis=0))

    def confidence_intervals(self, level: float = 0.95) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Percentile intervals ``(lower, upper)`` at coverage ``level``, each shaped like
        the parameter (mclust's ``what = "ci"``)."""
        if not (isinstance(level, int | float) and 0 < level < 1):
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        q = [(1 - level) / 2, (1 + level) / 2]
        return self._each(lambda a: tuple(np.quantile(a, q, axis=0)))


def bootstrap(model: GaussianMixture, X: Any, *, n_boot: int = 999,
              kind: str = "nonparametric", random_state: Any = None, n_jobs: int | None = None,
              executor: Executor | None = None) -> MixtureBootstrap:  # fmt: skip
    """mclust's ``MclustBootstrap``: the sampling distribution of a fit's parameters.

    Each replicate refits ``model`` by EM from its fitted parameters (so the
    components keep their order) to

    - ``"nonparametric"``: n rows of ``X`` drawn with replacement;
    - ``"parametric"``: n rows drawn from the fit;
    - ``"weighted"``: ``X`` with weights drawn from Exp(1) (the weighted
      likelihood bootstrap), which never repeats or drops a row.

    Parameters
    ----------
    model : GaussianMixture
        Fitted to ``X``.
    X : array-like of shape (n_samples, n_features)
    n_boot : int, default=999
    kind : {"nonparametric", "parametric", "weighted"}
    random_state, n_jobs, executor
        As in :func:`bootstrap_lrt`.

    Returns
    -------
    MixtureBootstrap
        ``.standard_errors()``, ``.confidence_intervals(level)``, ``.mean()``
        and the replicates.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(100, 1)), rng.normal(size=(100, 1)) + 6]
    >>> fit = gm.GaussianMixture(2, covariance_type="V", random_state=0).fit(X)
    >>> boot = gm.bootstrap(fit, X, n_boot=50, random_state=0)
    >>> boot.standard_errors()["weights"].round(2)  # sqrt(0.5 * 0.5 / 200) = 0.035
    array([0.04, 0.04])
    """
    if not isinstance(model, GaussianMixture) or not hasattr(model, "weights_"):
        raise ValueError("bootstrap needs a fitted GaussianMixture")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    X = _data(X)
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features; the model was fit to "
                         f"{model.n_features_in_}")  # fmt: skip
    n_boot = _check_count(n_boot, "n_boot")
    n, d, K = X.shape[0], X.shape[1], model.n_components

    def replicate(seed: np.random.SeedSequence) -> tuple[np.ndarray, ...] | None:
        rng = np.random.default_rng(seed)
        weights = None
        if kind == "nonparametric":
            rows = X[rng.integers(0, n, size=n)]
        elif kind == "parametric":
            rows, _ = model.sample(n, random_state=rng)
        else:
            rows, weights = X, rng.exponential(size=n)
        fit = _refit(model, rows, weights)
        if fit is None:
            return None
        cov = matrices(fit.covariance_type, np.asarray(fit.covariances_), K, d)
        return np.asarray(fit.weights_), np.asarray(fit.means_), cov

    seeds = _seed_sequence(random_state)
    with _pool(n_jobs, executor) as pool:
        draws, failed = run_replicates(replicate, n_boot, seeds, pool)
    weights, means, covs = (np.stack(a) for a in zip(*draws, strict=True))
    return MixtureBootstrap(kind, weights, means, covs, failed)

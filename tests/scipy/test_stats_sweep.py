"""Sweep every distribution and method of gradmix.scipy.stats against scipy.stats.

Values: a grid with the support's ends, 0, ±inf, NaN, huge and tiny values and
invalid parameters, called at once (broadcast) and entry by entry; each entry
must equal scipy's (NaN where scipy's is NaN, the same infinities).

Derivatives: in every argument, at the grid's moderate points, forward and
reverse mode must equal the divided difference of scipy's function; one-sided
where only one side is defined (the support's ends), and either one-sided limit
where the two differ (a kink).  An argument without a derivative rule must raise
NoDerivativeRuleError, and only the documented ones may.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.stats as st

import gradmix as gm
from gradmix.scipy.stats import beta, chi2, gamma, norm, poisson, t

INF, NAN = np.inf, np.nan
X = [-INF, -1e300, -3, -1, -1e-300, 0, 1e-300, 0.25, 0.5, 1, 3, 1e10, 1e300, INF, NAN]
SHAPE = [-1, 0, 1e-300, 1e-3, 0.5, 1, 2, 7.5, 1e10, 1e20, INF, NAN]
LOC = [0, 1.5, INF, NAN]
SCALE = [-1, 0, 1e-300, 1, 2.5, 1e300, INF, NAN]
Q = [-0.1, 0, 1e-300, 0.3, 0.5, 1 - 1e-16, 1, 1.1, NAN]
COUNTS = [-1, 0, 1, 2.5, 3, 40, 1e10, INF, NAN]


def _cases():
    cases = {}
    for m in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"):
        cases[f"norm.{m}"] = (getattr(norm, m), getattr(st.norm, m), [X, LOC, SCALE])
    cases["norm.ppf"] = (norm.ppf, st.norm.ppf, [Q, LOC, SCALE])
    for dist, ref in ((t, st.t), (gamma, st.gamma), (chi2, st.chi2)):
        for m in ("logpdf", "pdf", "cdf"):
            name = f"{ref.name}.{m}"
            cases[name] = (getattr(dist, m), getattr(ref, m), [X, SHAPE, LOC, SCALE])
    for m in ("logpdf", "pdf"):
        grids = [X, SHAPE[:9], SHAPE[:9], [0, 1.5, NAN], [-1, 0, 1, 2.5, INF]]
        cases[f"beta.{m}"] = (getattr(beta, m), getattr(st.beta, m), grids)
    for m in ("logpmf", "pmf"):
        grids = [COUNTS, SHAPE, [0, 1, 0.5, NAN]]
        cases[f"poisson.{m}"] = (getattr(poisson, m), getattr(st.poisson, m), grids)
    return cases


CASES = _cases()


def scipy_value(ref, name, args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = np.asarray(ref(*args), dtype=float)
        if name == "beta.pdf":
            # scipy's beta.pdf (Boost) and exp(beta.logpdf) differ at extreme shapes: near
            # 1e-300 the first underflows to 0 where the density is 0.5; near 1e10 they
            # differ by 3e-5 (logpdf cancels two values of -1.4e10).  gradmix's pdf is
            # exp of its logpdf, so the reference there is exp of scipy's logpdf
            a, b = np.asarray(args[1]), np.asarray(args[2])
            extreme = ((a < 1e-200) & (b < 1e-200)) | ((a > 1e8) & (b > 1e8))
            out = np.where(extreme, np.exp(st.beta.logpdf(*args)), out)
    return out


def same(ours, ref):
    ours = np.asarray(ours, dtype=float)
    return (
        (ours == ref)
        | (np.isnan(ours) & np.isnan(ref))
        | (np.isfinite(ref) & np.isclose(ours, ref, rtol=1e-9, atol=1e-300))
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_equal_scipys_on_the_edge_grid(name):
    ours, ref, grids = CASES[name]
    flat = [m.ravel() for m in np.meshgrid(*[np.asarray(g, float) for g in grids], indexing="ij")]
    expected = scipy_value(ref, name, flat)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # inf - inf inside scipy's formulas too
        got = ours(*flat)
        ok = same(got, expected)
        for i in range(0, len(expected), 5):  # scalar calls take other code paths
            ok[i] &= same(ours(*(float(f[i]) for f in flat)), expected[i])
    bad = np.flatnonzero(~ok)
    assert not len(bad), f"{len(bad)} of {len(ok)} differ, first at " + ", ".join(
        f"{tuple(float(f[i]) for f in flat)}: {got[i]} (scipy {expected[i]})" for i in bad[:4]
    )


# derivatives: moderate points (divided differences mean something there)
DX = [-1.0, 0.0, 0.25, 1.0, 3.0]
DSHAPE = [0.5, 1.0, 2.0, 300.0]
DPQ = [0.05, 0.5, 0.9]
DERIVATIVE_GRIDS = {
    "norm": [DX, [0.0, 1.5], [2.5]],
    "norm.ppf": [DPQ, [1.5], [2.5]],
    "t": [DX, DSHAPE, [0.0], [2.5]],
    "gamma": [DX, DSHAPE, [0.0, 1.5], [2.5]],
    "chi2": [DX, DSHAPE, [0.0], [2.5]],
    "beta": [[0.0, 0.25, 1.0, 2.0], [0.5, 1.0, 2.5], [0.5, 1.0, 2.5], [0.0], [2.0]],
    "poisson": [[0.0, 1.0, 3.0], [0.0, 0.5, 2.0, 300.0], [0.0]],
}
NO_RULE = {("gamma.cdf", 1), ("chi2.cdf", 1), ("t.cdf", 1)}
NOT_DIFFERENTIABLE = {"poisson": {0, 2}}  # the counts and their shift are integers


def one_sided_limit(f, v, side):
    """The derivative's limit from one side (-1 or 1) by second-order divided
    differences at shrinking steps: a finite limit when they settle, ``±inf`` when
    they grow without bound (a root singularity or a jump), None where the function
    is not finite on that side or they do neither."""
    f0, diffs = f(v), []
    for h in (1e-4, 1e-5, 1e-6):
        h *= max(1.0, abs(v))
        f1, f2 = f(v + side * h), f(v + 2 * side * h)
        if not np.isfinite([f1, f2]).all():
            return None
        diffs.append(side * (-3 * f0 + 4 * f1 - f2) / (2 * h))
    a, b, c = diffs
    if abs(c - b) <= 1e-6 * (1 + abs(c)):
        return c
    if abs(c) > 2 * abs(b) > 4 * abs(a) and np.sign(a) == np.sign(b) == np.sign(c):
        return np.sign(c) * np.inf
    return None


def agrees(got, limit):
    if np.isinf(limit):
        return got == limit
    return abs(got - limit) <= 1e-5 * (1 + abs(limit))


def derivative_points(name):
    key = name if name in DERIVATIVE_GRIDS else name.split(".")[0]
    return list(itertools.product(*DERIVATIVE_GRIDS[key]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_derivatives_equal_divided_differences_of_scipy(name):
    ours, ref, _ = CASES[name]
    skip = NOT_DIFFERENTIABLE.get(name.split(".")[0], set())
    checked = 0
    for point in derivative_points(name):
        value = float(scipy_value(ref, name, point))
        if not np.isfinite(value):
            continue
        for i in range(len(point)):
            if i in skip:
                continue

            def along(v, f, i=i, point=point):
                args = list(point)
                args[i] = v
                return f(*args)

            if (name, i) in NO_RULE:
                with pytest.raises(gm.NoDerivativeRuleError):
                    gm.grad(along, argnums=0)(point[i], ours)
                continue

            def scipy_along(v, i=i, point=point):
                args = [v if j == i else p for j, p in enumerate(point)]
                return float(scipy_value(ref, name, args))

            limits = [one_sided_limit(scipy_along, point[i], side) for side in (-1, 1)]
            if limits == [None, None]:
                continue
            for mode in (gm.grad, gm.jacfwd):
                got = float(mode(along, argnums=0)(point[i], ours))
                assert any(d is not None and agrees(got, d) for d in limits), (
                    f"{name} d/d(arg {i}) at {point}: {mode.__name__} gives {got}, "
                    f"one-sided limits {limits}"
                )
            checked += 1
    assert checked > 0

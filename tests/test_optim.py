"""gradmix.optim: the published update rules, on pytrees, and convergence on a real problem."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import gradmix as gm
from gradmix import optim


def test_updates_follow_the_published_rules():
    # three steps on f(x) = sum(c x^2 / 2), gradient c x, against the formulas written out
    c = np.array([1.0, 4.0])
    grad = lambda x, i: c * x  # noqa: E731
    x0 = np.array([1.0, -2.0])

    x, v = x0.copy(), np.zeros(2)
    for _ in range(3):
        v = 0.9 * v - 0.1 * (c * x)
        x = x + 0.05 * v
    np.testing.assert_allclose(optim.sgd(grad, x0, num_iters=3, step_size=0.05), x, rtol=1e-15)

    x, r = x0.copy(), np.ones(2)
    for _ in range(3):
        g = c * x
        r = 0.9 * r + 0.1 * g**2
        x = x - 0.05 * g / (np.sqrt(r) + 1e-8)
    np.testing.assert_allclose(optim.rmsprop(grad, x0, num_iters=3, step_size=0.05), x, rtol=1e-15)

    x, m, s = x0.copy(), np.zeros(2), np.zeros(2)
    for t in range(1, 4):
        g = c * x
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g**2
        x = x - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(optim.adam(grad, x0, num_iters=3, step_size=0.05), x, rtol=1e-15)


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam"])
def test_training_a_pytree_model_reaches_scikit_learns_logistic_regression(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X @ np.array([1.5, -2.0, 0.5]) + 0.3 + rng.normal(size=200) > 0).astype(float)

    def loss(p):
        z = X @ p["w"] + p["b"]
        return np.mean(np.logaddexp(0, z) - y * z) + 0.5 * np.sum(p["w"] ** 2) / len(X)

    seen = []
    step, iters = {"sgd": (1.0, 3000), "rmsprop": (0.002, 3000), "adam": (0.05, 3000)}[name]
    fit = getattr(optim, name)(
        gm.grad(loss), {"w": np.zeros(3), "b": 0.0}, num_iters=iters, step_size=step,
        callback=lambda p, i, g: seen.append(i),
    )  # fmt: skip
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X, y)
    assert seen == list(range(iters))
    assert set(fit) == {"w", "b"} and fit["w"].shape == (3,)
    np.testing.assert_allclose(fit["w"], ref.coef_[0], atol=2e-3)
    np.testing.assert_allclose(fit["b"], ref.intercept_[0], atol=2e-3)


def test_stochastic_minibatches_get_the_iteration_number():
    batches = [np.array([1.0]), np.array([3.0])]
    used = []

    def grad(x, i):
        used.append(i)
        return x - batches[i % 2]

    out = optim.sgd(grad, np.zeros(1), num_iters=400, step_size=0.05, mass=0.0)
    assert used[:4] == [0, 1, 2, 3]
    assert abs(out[0] - 2.0) < 0.1  # the minimiser of the average loss


def test_bad_settings_and_non_finite_gradients_are_errors():
    grad = lambda x: np.full_like(x, np.nan)  # noqa: E731
    with pytest.raises(FloatingPointError, match="iteration 0"):
        optim.adam(grad, np.ones(2))
    with pytest.raises(ValueError, match="mass"):
        optim.sgd(lambda x: x, np.ones(2), mass=1.0)
    with pytest.raises(ValueError, match="num_iters"):
        optim.rmsprop(lambda x: x, np.ones(2), num_iters=-1)
    with pytest.raises(ValueError, match="structure"):
        optim.adam(lambda x: np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        optim.adam(lambda x: x, np.array([np.nan]))


@pytest.mark.parametrize(
    "optimiser, setting",
    [
        (optim.adam, {"eps": 0.0}),
        (optim.adam, {"step_size": -0.1}),
        (optim.rmsprop, {"eps": -1e-8}),
        (optim.rmsprop, {"step_size": np.inf}),
        (optim.sgd, {"step_size": np.nan}),
        (optim.sgd, {"step_size": 0.0}),
    ],  # fmt: skip
)
def test_step_sizes_and_eps_must_be_positive(optimiser, setting):
    # eps = 0 with a zero gradient would divide 0 by 0
    name = next(iter(setting))
    with pytest.raises(ValueError, match=f"{name} must be a finite number above 0"):
        optimiser(lambda x: 0 * x, np.ones(2), **setting)


def test_a_numpy_ufunc_is_a_one_argument_gradient():
    # np.negative(x, i) would read the iteration number as its output array
    x = optim.sgd(np.negative, np.ones(2), num_iters=3, step_size=0.1, mass=0.0)
    np.testing.assert_allclose(x, 1.1**3 * np.ones(2))
    y = optim.sgd(np.add, np.ones(2), num_iters=1, step_size=0.1, mass=0.0)  # grad(x, i)
    np.testing.assert_allclose(y, np.ones(2) - 0.1 * (np.ones(2) + 0))

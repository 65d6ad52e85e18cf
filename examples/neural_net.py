"""A small neural network trained by gradient descent (Adam) with reverse-mode AD
==============================================================================

Run:  uv run python examples/neural_net.py       (GRADMIX_FULL=1 trains longer)

Two moons from scikit-learn, a 2-16-16-1 tanh network, logistic loss, Adam
written in a few lines; the gradient of the parameter dict is gm.grad's.
Saves the decision boundary to examples-output/neural_net.png.
"""

import numpy as np
from _common import full_run, output_dir  # noqa: E402
from sklearn.datasets import make_moons

import gradmix as gm  # noqa: E402


def init(rng, sizes=(2, 16, 16, 1)):
    return {f"W{i}": rng.normal(scale=1 / np.sqrt(a), size=(a, b)) for i, (a, b) in
            enumerate(zip(sizes[:-1], sizes[1:], strict=True))} | {
            f"b{i}": np.zeros(b) for i, b in enumerate(sizes[1:])}  # fmt: skip


def logits(params, X):
    h = X
    n = len(params) // 2
    for i in range(n):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < n - 1:
            h = np.tanh(h)
    return h[:, 0]


def loss(params, X, y):
    z = logits(params, X)
    # logistic loss, written stably: log(1 + exp(-z)) for y = 1, log(1 + exp(z)) for y = 0
    return np.mean(np.logaddexp(0.0, np.where(y == 1, -z, z)))


def adam(grad_fn, params, steps, lr=0.02, b1=0.9, b2=0.999, eps=1e-8):
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    for t in range(1, steps + 1):
        g = grad_fn(params)
        for k in params:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            params[k] = params[k] - lr * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + eps)
    return params


def main() -> None:
    X, y = make_moons(400, noise=0.1, random_state=0)
    params = init(np.random.default_rng(0))
    grad = gm.grad(loss)
    steps = 2000 if full_run() else 600
    params = adam(lambda p: grad(p, X, y), params, steps)
    acc = np.mean((logits(params, X) > 0) == (y == 1))
    print(f"two moons: training accuracy {100 * acc:.1f}% after {steps} Adam steps, "
          f"loss {loss(params, X, y):.4f}")  # fmt: skip

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gx, gy = np.meshgrid(np.linspace(-1.5, 2.5, 200), np.linspace(-1.0, 1.5, 150))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    p = 1 / (1 + np.exp(-logits(params, grid))).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.contourf(gx, gy, p, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(gx, gy, p, levels=[0.5], colors="k")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", s=10, edgecolors="k", linewidths=0.3)
    ax.set_title(f"2-16-16-1 network trained with gm.grad: accuracy {100 * acc:.1f}%")
    path = output_dir() / "neural_net.png"
    fig.savefig(path, dpi=100)
    print(f"decision boundary saved to {path}")


if __name__ == "__main__":
    main()

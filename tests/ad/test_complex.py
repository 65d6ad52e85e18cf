"""Complex numbers: forward and reverse mode against central differences in both real
directions, and the convention under which gradient descent decreases a real loss."""

import warnings

import numpy as np
import pytest

import gradmix as gm

RNG = np.random.default_rng(7)
Z = RNG.normal(size=4) + 1j * RNG.normal(size=4)
W = RNG.normal(size=4) + 1j * RNG.normal(size=4)
H = 1e-6


def fd_gradient(f, z):
    """∂f/∂x + i·∂f/∂y per entry, by central differences of the real-valued f."""
    g = np.zeros(z.shape, complex)
    for i in np.ndindex(z.shape):
        e = np.zeros(z.shape, complex)
        e[i] = H
        g[i] = (f(z + e) - f(z - e)) / (2 * H) + 1j * (f(z + 1j * e) - f(z - 1j * e)) / (2 * H)
    return g


REAL_VALUED = {
    "abs2": lambda z: np.sum(np.abs(z) ** 2),
    "abs_angle": lambda z: np.sum(np.abs(z) * np.angle(z)),
    "real_imag_conj": lambda z: np.sum(np.real(z * W) ** 2 + np.imag(np.conj(z) * W)),
    "attributes": lambda z: np.sum(z.real * z.imag),
    "holomorphic_inside": lambda z: np.sum(np.abs(np.exp(z) * np.sin(z) + z**3 / W)),
    "norm_var_vdot": lambda z: np.linalg.norm(z) + np.var(z) + np.real(np.vdot(z, W * z)),
    "matrix": lambda z: np.abs(np.sum(np.linalg.inv(z.reshape(2, 2) + 2) @ W[:2])),
    "log_sqrt": lambda z: np.real(np.sum(np.log(z) * np.sqrt(z))),
    "fft_loss": lambda z: np.sum(np.abs(np.fft.fft(z) - W) ** 2),
}


@pytest.mark.parametrize("name", sorted(REAL_VALUED))
def test_real_valued_function_of_complex_input(name):
    f = REAL_VALUED[name]
    g = gm.grad(f)(Z)
    np.testing.assert_allclose(g, fd_gradient(f, Z), rtol=1e-6, atol=1e-7)
    # forward mode: the directional derivative along any complex direction v is
    # Re(conj(grad) · v)
    v = RNG.normal(size=4) + 1j * RNG.normal(size=4)
    _, t = gm.jvp(f, (Z,), (v,))
    assert not np.iscomplexobj(t)
    fd = (f(Z + H * v) - f(Z - H * v)) / (2 * H)
    assert t == pytest.approx(fd, rel=1e-6, abs=1e-7)
    assert t == pytest.approx(np.real(np.vdot(g, v)), rel=1e-10)


@pytest.mark.parametrize("name", sorted(REAL_VALUED))
def test_gradient_descent_decreases_a_real_loss(name):
    f = REAL_VALUED[name]
    g = gm.grad(f)(Z)
    step = 1e-4 / max(1.0, float(np.max(np.abs(g))))
    assert f(Z - step * g) < f(Z)


HOLOMORPHIC = {
    "polynomial": (lambda z: z**3 - 2 * z + 1, lambda z: 3 * z**2 - 2),
    "exp_sin": (lambda z: np.exp(z) * np.sin(z), lambda z: np.exp(z) * (np.sin(z) + np.cos(z))),
    "log_sqrt": (lambda z: np.log(z) + np.sqrt(z), lambda z: 1 / z + 0.5 / np.sqrt(z)),
    "tanh_reciprocal": (
        lambda z: np.tanh(z) / z,
        lambda z: (1 - np.tanh(z) ** 2) / z - np.tanh(z) / z**2,
    ),
}


@pytest.mark.parametrize("name", sorted(HOLOMORPHIC))
def test_holomorphic_derivative(name):
    f, df = HOLOMORPHIC[name]
    z = 0.7 + 0.4j
    exact = df(z)
    # the same derivative in the real and the imaginary direction (Cauchy–Riemann)
    assert (f(z + H) - f(z - H)) / (2 * H) == pytest.approx(exact, rel=1e-7)
    assert (f(z + 1j * H) - f(z - 1j * H)) / (2j * H) == pytest.approx(exact, rel=1e-7)
    assert gm.derivative(f)(z) == pytest.approx(exact, rel=1e-12)
    assert gm.jvp(f, (z,), (1j,))[1] == pytest.approx(1j * exact, rel=1e-12)
    zs = np.array([z, 1.1 - 0.3j])
    np.testing.assert_allclose(np.diag(gm.jacfwd(f, holomorphic=True)(zs)), df(zs), rtol=1e-12)
    np.testing.assert_allclose(np.diag(gm.jacrev(f, holomorphic=True)(zs)), df(zs), rtol=1e-12)
    # reverse mode conjugates (as PyTorch): v ↦ v·conj(f'(z))
    _, pullback = gm.vjp(f, z)
    assert pullback(1.0 + 0j)[0] == pytest.approx(np.conj(exact), rel=1e-12)


def test_higher_holomorphic_derivatives():
    f = lambda z: np.exp(z) * z  # noqa: E731
    z = 1 + 2j
    assert gm.derivative(f, 3)(z) == pytest.approx(np.exp(z) * (z + 3), rel=1e-12)
    assert gm.derivative(lambda z: np.sin(z) ** 2, 2)(z) == pytest.approx(
        2 * np.cos(2 * z), rel=1e-12
    )


def test_real_input_complex_intermediate():
    f = lambda x: np.real(np.sum(np.exp(1j * x) * W[:3]))  # noqa: E731
    x = np.array([0.3, -1.2, 2.0])
    g = gm.grad(f)(x)
    assert g.dtype == np.float64
    fd = (np.array([f(x + H * e) - f(x - H * e) for e in np.eye(3)])) / (2 * H)
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    np.testing.assert_allclose(gm.jacfwd(f)(x), fd, rtol=1e-7)


def test_complex_second_order():
    """hvp of a real loss of real parameters through complex intermediates."""
    f = lambda x: np.sum(np.abs(np.fft.fft(x * (1 + 0.5j))) ** 3)  # noqa: E731
    x = np.array([0.3, -1.2, 2.0, 0.7])
    h = gm.hessian(f)(x)
    num = gm.divided_difference(gm.grad(f), x, 1e-6, "central")
    np.testing.assert_allclose(h, num, rtol=1e-6, atol=1e-6)


def test_refusals():
    with pytest.raises(TypeError, match="holomorphic=True"):
        gm.jacfwd(np.sin)(Z)
    with pytest.raises(TypeError, match="holomorphic=True"):
        gm.jacrev(lambda x: x * 1j)(np.ones(2))
    with pytest.raises(TypeError, match="real-valued output"):
        gm.grad(lambda z: np.sum(z**2))(Z)
    with pytest.raises(gm.NotCompilableError, match="real values only"):
        gm.compile(lambda z: np.sum(np.abs(z)), Z)
    with pytest.raises(gm.NotCompilableError, match="real values only"):
        gm.compile(lambda x: np.sum(np.abs(x * 1j)), np.ones(2))
    with pytest.raises(gm.NoDerivativeRuleError, match="Hermitian"):
        gm.grad(lambda z: np.sum(np.linalg.eigvalsh(z.reshape(2, 2))))(Z)


# complex outputs of real inputs: the Jacobian is d Re f + i d Im f, never its real part
REAL_TO_COMPLEX = {
    "scale": lambda x: x * (1 + 2j),
    "phase": lambda x: np.exp(1j * x),
    "rfft": lambda x: np.fft.rfft(x),
    "mixed": lambda x: np.cumsum(x) * np.exp(1j * x[::-1]) + x**2,
}


@pytest.mark.parametrize("name", sorted(REAL_TO_COMPLEX))
def test_jacobian_of_a_complex_output_of_a_real_input_is_complex(name):
    f = REAL_TO_COMPLEX[name]
    x = RNG.normal(size=4)
    fd = np.stack([(f(x + H * e) - f(x - H * e)) / (2 * H) for e in np.eye(4)], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: nothing is dropped
        for jac in (gm.jacfwd(f), gm.jacfwd(f, holomorphic=True), gm.jacrev(f, holomorphic=True)):
            got = jac(x)
            assert np.iscomplexobj(got)
            np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-8)
    with pytest.raises(TypeError, match="complex outputs"):
        gm.jacrev(f)(x)

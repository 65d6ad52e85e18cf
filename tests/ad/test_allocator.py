"""The allocator settings and the cycle collector's pause around eager transforms."""

import gc

import numpy as np
import pytest

import gradmix as gm
from gradmix.ad.allocator import paused_cycle_collector


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_pause_restores_the_callers_state(collector_on):
    with paused_cycle_collector():
        assert not gc.isenabled()
        with paused_cycle_collector():  # nested: the outer pause still holds after
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    with paused_cycle_collector():
        pass
    assert not gc.isenabled()  # a caller's own gc.disable() is left as it was
    gc.enable()


def test_gradients_leave_the_collector_on_even_when_f_raises(collector_on):
    def seen(x):
        states.append(gc.isenabled())
        return np.sum(x**2)

    states: list[bool] = []
    g = gm.grad(seen)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [2.0, 4.0])
    assert states == [False] and gc.isenabled()

    def broken(x):
        raise RuntimeError("user error")

    with pytest.raises(RuntimeError, match="user error"):
        gm.value_and_grad(broken)(np.array([1.0]))
    assert gc.isenabled()

"""The arbitrary-precision GBS integrator against closed forms."""

import math

import mpmath
import pytest

from eqprop.numeric.backends import GMPY, MPMATH
from eqprop.numeric.integrate import GBSIntegrator, integrate


def oscillator(y):
    return [-y[0], y[2], -y[1]]


@pytest.mark.parametrize("backend", [MPMATH, GMPY], ids=lambda b: b.name)
@pytest.mark.parametrize("dps", [30, 60])
def test_closed_forms_exp_and_sin(backend, dps):
    times = [0, "0.5", 1, 5, 10]
    with mpmath.workdps(dps + 10):
        ys, integ = integrate(oscillator, [mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(1)], times,
                              tol=mpmath.mpf(10) ** -(dps + 5), backend=backend)
        for t, y in zip(times, ys):
            t = mpmath.mpf(t)
            assert abs(y[0] - mpmath.exp(-t)) < mpmath.mpf(10) ** -(dps + 2)
            assert abs(y[1] - mpmath.sin(t)) < mpmath.mpf(10) ** -(dps + 1)
            assert abs(y[2] - mpmath.cos(t)) < mpmath.mpf(10) ** -(dps + 1)
    assert integ.steps < 100  # high order: long steps


def test_complex_step_keeps_the_imaginary_part_relative():
    """An imaginary part 1e-60 below the real part keeps its own 50 digits."""
    h = mpmath.mpf(10) ** -60
    with mpmath.workdps(70):
        ys, _ = integrate(lambda y: [-y[0] * y[0]], [mpmath.mpc(1, h)], [0, 3],
                          tol=mpmath.mpf(10) ** -65, backend=GMPY)
        # y' = -y^2, y(0) = 1 + i h: y(t) = y0 / (1 + t y0); d/dy0 = 1 / (1 + t)^2
        exact_derivative = 1 / mpmath.mpf(4) ** 2
        got = ys[-1][0].imag / h
        assert abs(got - exact_derivative) < mpmath.mpf(10) ** -55


def test_imaginary_part_starting_at_zero_is_controlled():
    """Complex forcing on a real start (complex-beta nudging) is integrated accurately."""
    h = mpmath.mpf(10) ** -50
    with mpmath.workdps(60):
        beta = mpmath.mpc(0, h)
        ys, _ = integrate(lambda y: [-y[0] - beta], [mpmath.mpf(0)], [0, 2],
                          tol=mpmath.mpf(10) ** -55, backend=MPMATH)
        exact = -(1 - mpmath.exp(-2))  # y = -beta (1 - e^-t), divided by i h
        assert abs(ys[-1][0].imag / h - exact) < mpmath.mpf(10) ** -50


@pytest.mark.parametrize("columns", [2, 3, 4])
def test_local_order_of_extrapolation(columns):
    """One step with k columns has local error O(H^(2k+1)): fit the order from a sweep."""
    errors, steps = [], [mpmath.mpf("0.4") / 2 ** k for k in range(4)]
    with mpmath.workdps(80):
        for H in steps:
            integ = GBSIntegrator(lambda y: [-y[0]], tol=mpmath.mpf(10) ** -200, max_columns=columns)
            y, _, _ = integ.step([mpmath.mpf(1)], H)
            errors.append(abs(y[0] - mpmath.exp(-H)))
        slopes = [math.log(float(errors[i] / errors[i + 1]), 2) for i in range(len(steps) - 1)]
    assert abs(slopes[-1] - (2 * columns + 1)) < 0.3, slopes


def test_backends_agree():
    with mpmath.workdps(50):
        a, _ = integrate(oscillator, [mpmath.mpf(1), 0, 1], [0, 3], tol=mpmath.mpf(10) ** -45)
        b, _ = integrate(oscillator, [mpmath.mpf(1), 0, 1], [0, 3], tol=mpmath.mpf(10) ** -45,
                         backend=GMPY)
        assert max(abs(x - y) for x, y in zip(a[-1], b[-1])) < mpmath.mpf(10) ** -44


def test_decreasing_times_are_refused():
    with mpmath.workdps(20):
        with pytest.raises(ValueError, match="non-decreasing"):
            integrate(oscillator, [1, 0, 1], [0, 2, 1], tol=mpmath.mpf(10) ** -15)

"""Arb (python-flint) and mpmath give the same dense linear algebra at 50 digits."""

import random

import mpmath
import pytest

from eqprop.numeric import linalg

SEED = 20261127


def _spd(n, rng):
    """A random symmetric positive-definite matrix with eigenvalues spread over two decades."""
    B = mpmath.matrix([[mpmath.mpf(rng.randint(-1000, 1000)) / 1000 for _ in range(n)]
                       for _ in range(n)])
    return B.T * B / n + mpmath.eye(n) / 100


@pytest.mark.parametrize("n", [1, 2, 7, 20])
def test_flint_agrees_with_mpmath_at_50_digits(n):
    rng = random.Random(f"{SEED}:{n}")
    print("seed", SEED)
    with mpmath.workdps(50):
        A = _spd(n, rng)
        b = mpmath.matrix([mpmath.mpf(rng.randint(-1000, 1000)) / 1000 for _ in range(n)])
        z = mpmath.mpc(0, mpmath.mpf("1e-40"))
        results = {}
        for name in linalg.BACKENDS:
            with linalg.use(name):
                results[name] = (linalg.solve(A, b), linalg.solve(A + z * mpmath.eye(n), b),
                                 linalg.expm(-A / 3), linalg.eigvalsh(A))
        tol = mpmath.mpf(10) ** -45
        (x1, c1, e1, l1), (x2, c2, e2, l2) = results["flint"], results["mpmath"]
        assert mpmath.norm(x1 - x2) <= tol * mpmath.norm(x2)
        assert mpmath.norm(c1 - c2) <= tol * mpmath.norm(c2)
        # the complex step's imaginary part, to its own relative precision
        assert mpmath.norm(c1.apply(mpmath.im) - c2.apply(mpmath.im)) <= \
            tol * mpmath.norm(c2.apply(mpmath.im))
        assert mpmath.mnorm(e1 - e2, 1) <= tol
        assert max(abs(a - b) for a, b in zip(l1, l2)) <= tol * max(abs(x) for x in l2)


def test_a_singular_matrix_raises_as_mpmath_does():
    A = mpmath.matrix([[1, 2], [2, 4]])
    for name in linalg.BACKENDS:
        with linalg.use(name), pytest.raises(ZeroDivisionError):
            linalg.solve(A, [1, 1])


def test_repeated_eigenvalues_fall_back():
    with mpmath.workdps(30):
        assert linalg.eigvalsh(mpmath.eye(3) * 2) == [2, 2, 2]


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="linalg"):
        with linalg.use("lapack"):
            pass


def test_the_adjoint_integrated_in_arb_agrees_with_gbs_and_the_closed_form():
    """RBP's adjoint by Taylor steps in Arb balls (the default) and by GBS (the mpmath
    fallback) agree with expm to the working precision, over a long horizon too (the
    balls' radii, left to grow, once cost 25 digits by t = 160)."""
    from eqprop.numeric.adjoint import adjoint_closed_form, adjoint_flow
    rng = random.Random(f"{SEED}:adjoint")
    print("seed", SEED)
    with mpmath.workdps(60):
        n, p = 6, 4
        H = _spd(n, rng) + mpmath.eye(n) / 2
        M = mpmath.matrix([[mpmath.mpf(rng.randint(-1000, 1000)) / 1000 for _ in range(n)]
                           for _ in range(p)])
        C_s = [mpmath.mpf(rng.randint(-1000, 1000)) / 1000 for _ in range(n)]
        C_theta = [mpmath.mpf(rng.randint(-1000, 1000)) / 1000 for _ in range(p)]
        times = [mpmath.mpf(t) for t in (0, "0.3", 2, 40, 160)]
        tol = mpmath.mpf(10) ** -55
        for name in linalg.BACKENDS:
            with linalg.use(name):
                flow = adjoint_flow(H, M, C_s, C_theta, times, tol=tol)
            for t, (sb, tb) in zip(times, flow.states):
                with linalg.use("mpmath"):
                    cs, ct = adjoint_closed_form(H, M, C_s, C_theta, t)
                assert max(abs(a - b) for a, b in zip(sb, cs)) < mpmath.mpf(10) ** -52, (name, t)
                assert max(abs(a - b) for a, b in zip(tb, ct)) < mpmath.mpf(10) ** -52, (name, t)


@pytest.mark.parametrize("n", [1, 3, 12])
def test_solve_flat_from_gmpy_values_agrees_with_mpmath_at_50_digits(n):
    """The Newton path's solve (a kernel's gmpy2 values straight into Arb) against mpmath's
    lu_solve, real and complex-step matrices, exact mpq/int entries among them."""
    import gmpy2

    from eqprop.numeric.backends import GMPY
    rng = random.Random(f"{SEED}:flat:{n}")
    print("seed", SEED)
    with mpmath.workdps(50):
        A = _spd(n, rng)
        b = [mpmath.mpf(rng.randint(-1000, 1000)) / 1000 for _ in range(n)]
        z = mpmath.mpc(0, mpmath.mpf("1e-40"))
        for M in (A, A + z * mpmath.eye(n)):
            with GMPY.scope():
                flat = [GMPY.from_mp(M[i, j]) for i in range(n) for j in range(n)]
            got = linalg.solve_flat(flat, b)
            with linalg.use("mpmath"):
                want = linalg.solve(M, b)
            tol = mpmath.mpf(10) ** -45
            assert max(abs(x - y) for x, y in zip(got, want)) <= tol * mpmath.norm(want)
            if M is not A:
                assert max(abs(mpmath.im(x - y)) for x, y in zip(got, want)) <= \
                    tol * max(abs(mpmath.im(y)) for y in want)
    with mpmath.workdps(50):  # exact entries of a plan (mpq constants, integers) go in exactly
        got = linalg.solve_flat([gmpy2.mpq(3, 7), 1, gmpy2.mpz(1), gmpy2.mpq(2, 3)], [1, 0])
        det = mpmath.mpf(3) / 7 * mpmath.mpf(2) / 3 - 1
        want = [mpmath.mpf(2) / 3 / det, -1 / det]
        assert max(abs(x - y) for x, y in zip(got, want)) <= mpmath.mpf(10) ** -48 * abs(want[0])
    with mpmath.workdps(30), pytest.raises(ZeroDivisionError):
        linalg.solve_flat([gmpy2.mpfr(1), gmpy2.mpfr(2), gmpy2.mpfr(2), gmpy2.mpfr(4)], [1, 1])


def test_solve_flat_refuses_what_it_cannot_convert_exactly():
    """Found by review: an mpmath number (or a float) was truncated to an integer."""
    import gmpy2

    from eqprop.numeric import linalg
    with mpmath.workdps(30):
        for bad in (mpmath.mpf("2.5"), 0.75, True):
            with pytest.raises(TypeError, match="gmpy2"):
                linalg.solve_flat([bad, gmpy2.mpfr(0), gmpy2.mpfr(0), gmpy2.mpfr(1)], [1, 1])

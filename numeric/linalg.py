"""Dense linear algebra at high precision: Arb balls (python-flint) first, mpmath as fallback.

The high-precision path solves with H(s0) in every Newton step, takes
matrix exponentials for RBP's closed form and the smallest eigenvalue of H
for the positive-definiteness test. mpmath does these in pure Python
(O(n^3) interpreted operations); Arb (through python-flint) does them in C,
in ball arithmetic: each result comes with a rigorous error bound, which
we use to refuse a singular or ill-conditioned system instead of returning
noise. Measured at n = 26 and 40 digits: solve 5x, expm and eigenvalues
far more (bench/highprec.py).

Every function takes and returns mpmath numbers; precision is the
caller's (``mpmath.workdps``), with :data:`GUARD_BITS` more inside Arb.
:func:`use` selects the backend ("flint" or "mpmath", e.g. to measure the
baseline or to cross-check the two in the tests).
"""

from __future__ import annotations

import contextlib
import contextvars

import gmpy2
import mpmath

from eqprop.symbolic.precision import arb_bits

__all__ = ["BACKENDS", "backend", "use", "arb_precision", "solve", "solve_flat", "abs_terms", "matvecs", "expm",
           "eigvalsh", "dft", "nonzeros", "GUARD_BITS"]

_GMPY_MPFR, _GMPY_MPC = type(gmpy2.mpfr(0)), type(gmpy2.mpc(0))
_GMPY_MPQ, _GMPY_MPZ = type(gmpy2.mpq(0)), type(gmpy2.mpz(0))

#: Extra bits Arb works with, above mpmath's current precision.
GUARD_BITS = 20
BACKENDS = ("flint", "mpmath")
#: The backend in force in this thread (or task): set only by :func:`use`, within its block.
_BACKEND = contextvars.ContextVar("eqprop_linalg_backend", default="flint")

try:  # python-flint is a core dependency; the fallback keeps a broken install usable
    import flint
except ImportError:  # pragma: no cover - python-flint missing
    flint = None


def backend():
    """The backend in use: "flint" when python-flint is importable and selected, else "mpmath"."""
    return _BACKEND.get() if flint is not None else "mpmath"


@contextlib.contextmanager
def use(name):
    """Within the block, dense linear algebra goes through ``name`` ("flint" or "mpmath")."""
    if name not in BACKENDS:
        raise ValueError(f"linalg: expected one of {', '.join(BACKENDS)}, got {name!r}")
    token = _BACKEND.set(name)
    try:
        yield
    finally:
        _BACKEND.reset(token)


@contextlib.contextmanager
def arb_precision():
    """Within the block, Arb works at mpmath's current precision plus :data:`GUARD_BITS`."""
    with arb_bits(mpmath.mp.prec + GUARD_BITS):
        yield


def nonzeros(A):
    """``((i, j), value)`` for the entries of an mpmath matrix that are not zero.

    mpmath keeps a matrix as a dictionary of its non-zero entries; reading it
    costs the non-zeros, not rows x cols (M = d2E/(dtheta ds) of a layered
    network has 2 non-zeros per row: 5,600 of 280,000 at p = 2,800). A
    matrix without that dictionary is scanned entry by entry.
    """
    data = getattr(A, "_matrix__data", None)
    if isinstance(data, dict):
        return [(k, v) for k, v in data.items() if v]
    return [((i, j), A[i, j]) for i in range(A.rows) for j in range(A.cols) if A[i, j]]


def _complex(A):
    values = [v for _, v in nonzeros(A)] if isinstance(A, mpmath.matrix) else A
    return any(isinstance(x, mpmath.mpc) and x.imag != 0 for x in values)


def _to_arb(A, cplx):
    out = (flint.acb_mat if cplx else flint.arb_mat)(A.rows, A.cols)
    for (i, j), x in nonzeros(A):
        out[i, j] = flint.acb(flint.arb(mpmath.re(x)), flint.arb(mpmath.im(x))) if cplx \
            else flint.arb(mpmath.re(x))
    return out


def _mid(x):
    """The midpoint of an arb as an mpf (exact: both are binary floating point)."""
    man, exp = x.mid().man_exp()
    return mpmath.mpf((int(man), int(exp)))


def _from_arb(X, cplx):
    out = mpmath.matrix(X.nrows(), X.ncols())
    for i in range(X.nrows()):
        for j in range(X.ncols()):
            x = X[i, j]
            out[i, j] = mpmath.mpc(_mid(x.real), _mid(x.imag)) if cplx else _mid(x)
    return out


def _tight(X, cplx):
    """True when every ball is finite and its radius well below its size (or the matrix's)."""
    top = 0
    for i in range(X.nrows()):
        for j in range(X.ncols()):
            parts = (X[i, j].real, X[i, j].imag) if cplx else (X[i, j],)
            for p in parts:
                if not p.is_finite():
                    return False
                top = max(top, abs(_mid(p)))
    limit = mpmath.mpf(2) ** -(mpmath.mp.prec // 2) * (top or 1)
    return all(_rad(p) <= limit for i in range(X.nrows()) for j in range(X.ncols())
               for p in ((X[i, j].real, X[i, j].imag) if cplx else (X[i, j],)))


def _rad(x):
    man, exp = x.rad().man_exp()
    return mpmath.mpf((int(man), int(exp)))


def solve(A, b):
    """A^-1 b (``b`` a vector or matrix), as an mpmath matrix.

    A singular matrix raises ``ZeroDivisionError`` (as ``mpmath.lu_solve``
    does). With Arb, a solution whose error bound swallows half the working
    digits (a near-singular A) raises it too.
    """
    b = b if isinstance(b, mpmath.matrix) else mpmath.matrix(b)
    if backend() == "mpmath":
        return mpmath.lu_solve(A, b)
    cplx = _complex(A) or _complex(b)
    with arb_precision():
        return _from_arb(_arb_solve(_to_arb(A, cplx), _to_arb(b, cplx), cplx), cplx)


def _arb_solve(A, B, cplx):
    """Arb's solve: plain LU first (4x faster than its default at n = 100), the preconditioned
    algorithm where LU's balls come out too wide; ZeroDivisionError if neither holds half the
    working digits."""
    try:
        X = A.solve(B, algorithm="lu")
        if _tight(X, cplx):
            return X
    except ZeroDivisionError:
        pass
    X = A.solve(B)
    if not _tight(X, cplx):
        raise ZeroDivisionError("the matrix is singular to the working precision")
    return X


def solve_flat(values, b):
    """A^-1 b for A given row by row as ``n * n`` gmpy2 numbers (a compiled kernel's output).

    The entries go into Arb exactly, with no mpmath matrix in between (at
    n = 100 building one costs more than the solve); ``b`` and the result are
    mpmath. Arb backend only: :func:`solve` for the rest. Raises
    ``ZeroDivisionError`` as :func:`solve` does.
    """
    n = len(b)
    cplx = any(_is_mpc(x) for x in values) or any(isinstance(x, mpmath.mpc) for x in b)
    with arb_precision():
        entries = [_arb_of(x, cplx) for x in values]
        A = (flint.acb_mat if cplx else flint.arb_mat)(n, n, entries)
        out = _from_arb(_arb_solve(A, _to_arb(mpmath.matrix(list(b)), cplx), cplx), cplx)
    return [out[i] for i in range(n)]


def _is_mpc(x):
    return isinstance(x, _GMPY_MPC)


def _arb_of(x, cplx):
    """A gmpy2 number (mpfr, mpc, mpq, mpz) or an int as an arb (acb where ``cplx``).

    Exact for mpfr (at most Arb's precision, the working one plus
    :data:`GUARD_BITS`), mpz and int; an mpq is rounded to Arb's precision,
    a ball that holds it. Anything else is a TypeError (never truncated).
    """
    if isinstance(x, _GMPY_MPC):
        return flint.acb(_arb_of(x.real, False), _arb_of(x.imag, False))
    if isinstance(x, _GMPY_MPFR):
        if not x:
            value = flint.arb(0)
        else:
            man, exp = x.as_mantissa_exp()
            value = flint.arb(int(man)) * flint.arb(2) ** int(exp)
    elif isinstance(x, _GMPY_MPQ):
        value = flint.arb(flint.fmpq(int(x.numerator), int(x.denominator)))
    elif isinstance(x, (int, _GMPY_MPZ)) and not isinstance(x, bool):
        value = flint.arb(int(x))
    else:
        raise TypeError(f"solve_flat: expected gmpy2 numbers or ints, got {type(x).__name__}")
    return flint.acb(value) if cplx else value


#: |A| in Arb for the last few matrices :func:`abs_terms` saw: (A, |A|, row maxima)
_ABS = []


def abs_terms(A, u, c, flow=0):
    """``sum_j |A_ij| |u_j| + |c_i|`` (plus ``flow * max_j |A_ij| * sum_j |u_j|``), as mpf.

    The sizes of the terms of ``A u + c``, in Arb: at p = 2,800 and n = 100
    the mpmath loop costs seconds per call. |A| is converted once per matrix
    (the last few are kept, by identity). None where the backend is mpmath
    or A holds complex numbers (the caller then sums in mpmath).
    """
    if backend() != "flint":
        return None
    with arb_precision():
        kept = next((k for k in _ABS if k[0] is A), None)
        if kept is None:
            if A.rows and _complex(A):
                return None
            absA = flint.arb_mat(A.rows, A.cols)
            tops = [flint.arb(0)] * A.rows
            for (i, j), x in nonzeros(A):
                absA[i, j] = a = abs(flint.arb(mpmath.re(x)))
                tops[i] = max(tops[i], a)
            kept = (A, absA, tops)
            _ABS.insert(0, kept)
            del _ABS[4:]
        _, absA, tops = kept
        v = flint.arb_mat(len(u), 1, [_abs_arb(x) for x in u])
        prod = absA * v if len(u) else flint.arb_mat(A.rows, 1)
        total = sum((v[j, 0] for j in range(len(u))), flint.arb(0))
        out = []
        for i in range(len(c)):
            x = prod[i, 0] + _abs_arb(c[i])
            if flow:
                x += flint.arb(flow) * tops[i] * total
            out.append(_mid(x))
        return out


def matvecs(A, vectors):
    """``A v`` for each of ``vectors`` (lists of real mpmath numbers), as lists of mpf.

    In Arb where the backend is flint and A real (A converted once for all
    the vectors: at p = 2,800, n = 100, ``M q`` in mpmath costs most of a
    second), else in mpmath.
    """
    if backend() != "flint" or _complex(A) or any(isinstance(x, mpmath.mpc) for v in vectors for x in v):
        return [list(A * mpmath.matrix(list(v))) for v in vectors]
    with arb_precision():
        Aa = _to_arb(A, False)
        out = []
        for v in vectors:
            w = Aa * flint.arb_mat(len(v), 1, [flint.arb(x) for x in v])
            out.append([_mid(w[i, 0]) for i in range(A.rows)])
        return out


def _abs_arb(x):
    """|x| of an mpmath number (the modulus of a complex one) as an arb."""
    if isinstance(x, mpmath.mpc):
        return abs(flint.acb(flint.arb(x.real), flint.arb(x.imag)))
    return abs(flint.arb(x))


def expm(A):
    """The matrix exponential of a real square matrix."""
    if backend() == "mpmath" or _complex(A):
        return mpmath.expm(A)
    with arb_precision():
        return _from_arb(_to_arb(A, False).exp(), False)


def eigvalsh(A):
    """The eigenvalues of a real symmetric matrix, ascending, as mpf.

    Arb isolates each eigenvalue in a ball; where it cannot (repeated
    eigenvalues of a symmetric structure, say), mpmath's ``eigsy`` answers.
    """
    if backend() == "flint" and A.rows > 1:
        with arb_precision():
            try:
                values = flint.acb_mat(_to_arb(A, False)).eig()
            except ValueError:  # not isolated: repeated eigenvalues
                values = None
            if values is not None:
                return sorted(_mid(v.real) for v in values)
    if A.rows == 1:
        return [A[0, 0]]
    return sorted(mpmath.eigsy(A, eigvals_only=True))


def dft(sequences):
    """The discrete Fourier transform ``w_m = sum_k v_k exp(-2 pi i k m / n)`` of each of
    ``sequences`` (lists of n mpmath numbers), as lists of mpc.

    Arb's FFT (``acb_dft``) where the backend is flint: at n = 128 a direct sum in mpmath
    costs about 8,000 complex products a sequence, the FFT a few hundred, in C.
    """
    if backend() != "flint":
        out = []
        for v in sequences:
            n = len(v)
            twiddle = [mpmath.expjpi(-2 * mpmath.mpf(j) / n) for j in range(n)]
            out.append([mpmath.fsum(v[k] * twiddle[m * k % n] for k in range(n)) for m in range(n)])
        return out
    with arb_precision():
        return [[mpmath.mpc(_mid(w.real), _mid(w.imag)) for w in
                 flint.acb.dft([flint.acb(flint.arb(mpmath.re(x)), flint.arb(mpmath.im(x))) for x in v])]
                for v in sequences]

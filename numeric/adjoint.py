"""RBP's adjoint (paper 3.5-3.8): its closed form and its integration as an ODE.

H, M, C_s and C_theta are constant (evaluated at s0); for an energy H is
symmetric, for a vector-field model RBP uses the transpose. No SymPy.
"""

from __future__ import annotations

import contextlib

import mpmath

from . import linalg
from .backends import GMPY
from .integrate import ComputationBreakdown, Flow, integrate

__all__ = ["adjoint_closed_form", "adjoint_closed_forms", "adjoint_flow"]


def adjoint_closed_form(H, M, C_s, C_theta, t):
    """RBP's error derivatives in closed form (Theorem 1), H constant.

    ``Sbar_t = expm(-t H^T) C_s`` and
    ``Thetabar_t = C_theta - M H^-T (I - expm(-t H^T)) C_s``. For an energy
    H is symmetric; a vector-field model's RBP uses the transpose.
    """
    return adjoint_closed_forms(H, M, C_s, C_theta, [t])[0]


def adjoint_closed_forms(H, M, C_s, C_theta, times):
    """:func:`adjoint_closed_form` at each of ``times``: a list of ``(Sbar_t, Thetabar_t)``.

    With python-flint everything stays in Arb from the conversion of H and M
    (once) to the results (at p = 2,800 and n = 100, ``M z`` in mpmath alone
    costs a second per time).
    """
    if linalg.backend() != "flint" or linalg._complex(H):
        return [_closed_form_mp(H, M, C_s, C_theta, t) for t in times]
    flint = linalg.flint
    n, p = H.rows, M.rows
    out = []
    with linalg.arb_precision():
        Ht = linalg._to_arb(H.T, False)
        cs = linalg._to_arb(mpmath.matrix(list(C_s)), False)
        Ma = linalg._to_arb(M, False) if p else None
        ct = [mpmath.mpf(x) for x in C_theta]
        for t in times:
            sb = (Ht * flint.arb(-mpmath.mpf(t))).exp() * cs if t != 0 else cs
            sb = sb.mid()
            s_bar = [linalg._mid(sb[i, 0]) for i in range(n)]
            if not p:
                out.append((s_bar, []))
                continue
            try:
                z = linalg._arb_solve(Ht, cs - sb, False).mid()
            except ZeroDivisionError:
                raise ComputationBreakdown("the Hessian at s0 is singular") from None
            mz = Ma * z
            out.append((s_bar, [c - linalg._mid(mz[k, 0]) for k, c in enumerate(ct)]))
    return out


def _closed_form_mp(H, M, C_s, C_theta, t):
    Ht = H.T
    E = linalg.expm(-t * Ht) if t != 0 else mpmath.eye(Ht.rows)
    cs = mpmath.matrix(C_s)
    s_bar = E * cs
    if M.rows == 0:
        return list(s_bar), []
    try:
        z = linalg.solve(Ht, cs - s_bar)
    except ZeroDivisionError:
        raise ComputationBreakdown("the Hessian at s0 is singular") from None
    theta_bar = mpmath.matrix(C_theta) - M * z
    return list(s_bar), list(theta_bar)


def adjoint_flow(H, M, C_s, C_theta, times, *, tol, backend=GMPY, jump_to=None) -> Flow:
    """Integrate RBP's side network (paper 3.5-3.8) as an ODE, from t = 0.

    ``d/dt Sbar = -H^T Sbar`` and ``d/dt Thetabar = -M Sbar`` from
    ``(C_s, C_theta)``; ``Flow.states`` is a list of ``(Sbar_t, Thetabar_t)``.
    Thetabar does not feed back, so the integrator carries Sbar and its
    running integral ``Q_t = int_0^t Sbar`` (2n unknowns, not n + p), and
    ``Thetabar_t = C_theta - M Q_t`` at each requested time: the same ODE,
    its p-dimensional part applied once per output instead of once per
    evaluation. H, M, C_s, C_theta are constant (evaluated at s0).

    With python-flint (:mod:`.linalg` backend "flint") the system is
    integrated by :func:`_taylor_steps`, a Taylor-series integrator in Arb
    balls whose matrix-vector products run in C; otherwise by the
    Gragg-Bulirsch-Stoer integrator on the structural non-zeros of H.

    ``jump_to``: a time beyond the grid where one more state is wanted (the
    limit t -> infinity of T1.limit), reached from the grid's last state by
    :func:`_doubling_jump` in a number of steps logarithmic in the distance
    (stepping there costs about ``t |H|`` steps: 70 times the condition
    number of H at 50 digits).
    """
    n = len(C_s)
    grid = [mpmath.mpf(t) for t in times]
    start0 = grid[0] != 0
    y0 = list(C_s) + [mpmath.mpf(0)] * n
    if linalg.backend() == "flint" and not linalg._complex(H):
        states, stats = _taylor_steps(H, y0, [mpmath.mpf(0)] * start0 + grid, tol)
    else:
        states, stats = _gbs_steps(H, y0, [mpmath.mpf(0)] * start0 + grid, tol, backend)
    states = states[1:] if start0 else states
    if jump_to is not None:
        states.append(_doubling_jump(H, states[-1], mpmath.mpf(jump_to) - grid[-1], tol))
    mqs = linalg.matvecs(M, [y[n:] for y in states]) if M.rows else [[] for _ in states]
    out = [(y[:n], [c - mq[k] for k, c in enumerate(C_theta)]) for y, mq in zip(states, mqs)]
    return Flow(out, stats)


def _gbs_steps(H, y0, grid, tol, backend):
    n = H.rows
    with backend.scope():
        h_rows = []
        for i in range(n):  # rows of -H^T
            h_rows.append([(j, backend.from_mp(-H[j, i])) for j in range(n) if H[j, i] != 0])

    def rhs(y):
        sb = y[:n]
        return [sum((a * sb[j] for j, a in r), 0) for r in h_rows] + list(sb)
    # Q starts at 0 and moves like Sbar: integrated on the scale of Sbar, not of C_theta
    states, integ = integrate(rhs, y0, grid, tol=tol, backend=backend)
    return states, {"evaluations": integ.evaluations, "steps": integ.steps}


#: Largest h |A| of one Taylor step: the terms (h |A|)^m / m! then peak at about 2 (no digits
#: lost to cancellation) and fall below 10^-60 within about 60 terms.
TAYLOR_REACH = 2


def _taylor_steps(H, y0, grid, tol):
    """``y' = A y`` with ``A = [[-H^T, 0], [I, 0]]``, by Taylor series in steps, in Arb balls.

    Each step from t to t + h sums ``(h A)^m y / m!`` until the terms of
    both parts are below ``tol`` times each part's size (and past the
    terms' peak): the remainder is then smaller still, the terms falling at
    least geometrically once m exceeds ``h |H^T|_inf``. The step keeps
    ``h |H^T|_inf <= TAYLOR_REACH`` and lands on every requested time. Arithmetic in Arb (python-flint) at the working
    precision plus :data:`~.linalg.GUARD_BITS`: the products by H run in C.
    Returns the states at ``grid`` (mpmath) and the work done.
    """
    from .integrate import check_time
    flint = linalg.flint
    n = H.rows
    # |H^T|_inf: the terms (h A)^m y / m! are (-h H^T)^m Sbar / m! and h (-h H^T)^(m-1) Sbar / m!,
    # so h |H^T|_inf alone sets their decay (not the identity block, whatever h)
    norm = max([mpmath.fsum(abs(H[j, i]) for j in range(n)) for i in range(n)])
    evaluations = steps = 0
    with linalg.arb_precision():
        Ht = linalg._to_arb(-H.T, False)
        s = linalg._to_arb(mpmath.matrix(y0[:n]), False)
        q = linalg._to_arb(mpmath.matrix(y0[n:]), False)
        tol_arb = flint.arb(mpmath.mpf(tol))

        def size(v):
            return max((abs(v[i, 0]).upper() for i in range(n)), default=flint.arb(0))
        out = [list(y0)]
        t = mpmath.mpf(grid[0])
        for target in grid[1:]:
            while t < target:
                check_time()
                h = min(mpmath.mpf(TAYLOR_REACH) / norm, target - t)
                last = h == target - t  # the step that lands: t becomes target exactly
                ha = flint.arb(h)
                ts, tq = s, q
                acc_s, acc_q = s, q
                m = 0
                while True:
                    m += 1
                    # the next term of (hA)^m y / m!: Sbar part -H^T ts, Q part ts
                    ts, tq = Ht * ts * (ha / m), ts * (ha / m)
                    evaluations += 1
                    acc_s, acc_q = acc_s + ts, acc_q + tq
                    # each part against its own size (Q = int Sbar has other units than Sbar)
                    if m > TAYLOR_REACH and size(ts) <= tol_arb * size(acc_s) / 1000 \
                            and size(tq) <= tol_arb * size(acc_q) / 1000:
                        break
                    if m > 10_000:  # pragma: no cover - a NaN or an infinite ball
                        raise ComputationBreakdown("the adjoint's Taylor series did not converge")
                # midpoints only: the balls' radii would grow like exp(t |A|) (the wrapping of
                # interval arithmetic), and Arb computes midpoints only to the balls' accuracy
                s, q = acc_s.mid(), acc_q.mid()
                t = mpmath.mpf(target) if last else t + h
                steps += 1
            out.append([linalg._mid(s[i, 0]) for i in range(n)] +
                       [linalg._mid(q[i, 0]) for i in range(n)])
    return out, {"evaluations": evaluations, "steps": steps}


def _doubling_jump(H, y, dt, tol):
    """The adjoint state ``y = (Sbar, Q)`` carried ``dt`` further, by doubling one short step.

    The augmented system ``Sbar' = -H^T Sbar``, ``Q' = Sbar`` moves over a
    step h by the propagator ``[[E_h, 0], [F_h, I]]`` with
    ``E_h = sum_m (-h H^T)^m / m!`` and ``F_h = sum_m h (-h H^T)^m / (m+1)!``
    (Taylor series, h chosen so that ``dt = 2^k h`` and ``h |H^T|_inf <= 1/2``);
    two steps in a row give ``E_2h = E_h E_h`` and ``F_2h = F_h + F_h E_h``,
    so k squarings reach dt. It solves the same ODE as :func:`_taylor_steps`
    (no solve with H: independent of the implicit gradient it is compared
    with). In Arb where python-flint is the backend (midpoints kept, as in
    :func:`_taylor_steps`), else in mpmath matrices.
    """
    from .integrate import check_time
    n = H.rows
    norm = max([mpmath.fsum(abs(H[j, i]) for j in range(n)) for i in range(n)])
    k = max(0, int(mpmath.ceil(mpmath.log(2 * dt * norm, 2)))) if norm > 0 else 0
    h = dt / 2 ** k
    arb = linalg.backend() == "flint" and not linalg._complex(H)
    with linalg.arb_precision() if arb else contextlib.nullcontext():
        if arb:
            flint = linalg.flint
            A = linalg._to_arb(-H.T, False)
            eye = linalg._to_arb(mpmath.eye(n), False)

            def mid(X):
                return X.mid()

            def top(X):
                return max((abs(X[i, j]).upper() for i in range(n) for j in range(n)),
                           default=flint.arb(0))
            num = flint.arb
        else:
            A, eye = -H.T, mpmath.eye(n)

            def mid(X):
                return X

            def top(X):
                return max((abs(X[i, j]) for i in range(n) for j in range(n)), default=0)
            num = mpmath.mpf
        hh, small = num(h), num(mpmath.mpf(tol)) / 1000
        term, E, F = eye, eye, eye * hh
        for m in range(1, 10_000):
            check_time()
            term = term * A * (hh / m)
            E, F = E + term, F + term * (hh / (m + 1))
            if top(term) <= small:
                break
        else:  # pragma: no cover - a NaN or an infinite ball
            raise ComputationBreakdown("the adjoint's propagator series did not converge")
        E, F = mid(E), mid(F)
        for _ in range(k):
            check_time()
            E, F = mid(E * E), mid(F + F * E)
        sbar = _column(y[:n], arb)
        q = _column(y[n:], arb)
        s_new, q_new = E * sbar, F * sbar + q
        conv = linalg._mid if arb else (lambda x: x)
        return [conv(s_new[i, 0]) for i in range(n)] + [conv(q_new[i, 0]) for i in range(n)]


def _column(v, arb):
    col = mpmath.matrix(list(v))
    return linalg._to_arb(col, False) if arb else col

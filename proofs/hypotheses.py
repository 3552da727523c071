"""Hypotheses at the free fixed point s0: a strict minimum, or a stable point of a gradient field.

:func:`definiteness` decides whether H(s0) is positive definite (an energy; relative to H's
own size, undecided within rounding) or whether s0 attracts (a vector field), and measures the
Jacobian's symmetry at s0; :func:`symmetric_nearby` measures it around s0 too, once the
problem is built. Each returns :class:`~.report.Assumption` values; used by :func:`.prepare`.

A singular (or numerically singular) H gets its own assumption, ``isolated minimum``
(:func:`degenerate`), whichever path meets it first: Newton's singular Hessian on the way to
s0, an eigenvalue of H(s0) within rounding of zero, or a condition number beyond the
integrators' reach. Its message names the flat direction (H's null vector), which is how a
symmetry shows (a rotation of every oscillator: the direction (1, 1, ..., 1)).
"""

from __future__ import annotations

import mpmath

from eqprop.numeric import linalg
from eqprop.symbolic.precision import working

from .report import Assumption

__all__ = ["definiteness", "symmetric_nearby", "degenerate", "null_direction"]


def symmetric_nearby(P, at_s0):
    """A vector field symmetric at s0 alone is no gradient field (F = (-a + w b^2, -2 b) has
    dF1/db - dF2/da = 2 w b): every row is first-order at s0 and passed. The Jacobian is also
    measured at the KBE row's random states (inside s0's basin and the domain) and at random
    states 1/4, 1/2, 1 and 4 times max(1, |s0|) away (an asymmetry (a - x)**40 is 1e-12
    within 0.5 of s0); a state outside the domain, or where the field is not finite and real,
    is passed over; an asymmetry that shrinks with 30 more digits is rounding. Returns the
    'symmetric Jacobian' assumption with the largest asymmetry, or ``at_s0`` (the one
    measured at s0 alone) where none is found or it already fails."""
    from eqprop.symbolic.domain import domain_violations
    from .kbe_sides import kbe_points
    reach = max([mpmath.mpf(1)] + [abs(x) for x in P.s0])
    far = [[x + r * reach * d for x, d in zip(P.s0, P.random_direction(len(P.s0), f"far:{r}"))]
           for r in (mpmath.mpf(1) / 4, mpmath.mpf(1) / 2, 1, 4)]
    fixed = {**P.model.params, **P.model.data}

    def asymmetry(point):
        try:
            J = P.system.d2Ebeta_ds2(point)
        except (ArithmeticError, ValueError):
            return None
        if not all(mpmath.isfinite(x) and mpmath.im(x) == 0 for x in J):
            return None
        return mpmath.mnorm(J - J.T, 1) / (mpmath.mnorm(J, 1) or 1)
    worst = None
    for k, point in enumerate(kbe_points(P, samples=2) + far):
        if k >= 2 and domain_violations(P.model.expressions[:-1], {
                **fixed, **dict(zip(P.model.state, point))}, fixed=frozenset(P.model.data)):
            continue
        asym = asymmetry(point)
        if asym is not None and asym >= mpmath.mpf(10) ** (-(P.dps - 5)):
            # rounding or a real asymmetry? 30 digits more: rounding shrinks by 10^-30 (the
            # field's own cancellations, cosh^2 - sinh^2 far from 0), an asymmetry stays
            with working(mpmath.mp.dps + 30):
                finer = asymmetry(point)
            asym = finer if finer is not None and finer < asym / 2 else asym
        if asym is not None:
            worst = asym if worst is None else max(worst, asym)
    if worst is None or worst < mpmath.mpf(10) ** (-(P.dps - 5)) or not at_s0.holds:
        return at_s0
    return Assumption(
        "symmetric Jacobian", False, mpmath.nstr(worst, 4),
        "|J - J^T| / |J| (1-norms) at random states around s0, symmetric at s0 itself: the "
        "vector field is not a gradient field, which the theorems assume", fatal=False)


def null_direction(H, names, most=8):
    """The unit vector along which H is (nearly) singular, as text: ``a: 0.577, b: 0.577, ...``.

    The right singular vector of H's smallest singular value (for a symmetric H, the
    eigenvector of its eigenvalue nearest zero); the ``most`` largest components, sign fixed
    so that the largest is positive.
    """
    H = mpmath.matrix(H)
    if H.rows == 1:
        return f"{names[0]}: 1"
    _, S, V = mpmath.svd_r(H)
    k = min(range(len(S)), key=lambda i: S[i])
    v = [V[k, j] for j in range(V.cols)]
    big = max(range(len(v)), key=lambda j: abs(v[j]))
    sign = 1 if v[big] >= 0 else -1
    order = sorted(range(len(v)), key=lambda j: -abs(v[j]))[:most]
    parts = [f"{names[j]}: {mpmath.nstr(sign * v[j], 3)}" for j in sorted(order)]
    more = f", ... ({len(v) - most} more)" if len(v) > most else ""
    return ", ".join(parts) + more


def degenerate(H, names, value, where, precision=False):
    """The ``isolated minimum`` assumption, violated: H singular ``where`` (a tool's limit:
    a zero that is exact, by symmetry, and one within rounding look the same here).
    ``precision``: the eigenvalue is only small against |H| (to this precision), so H may
    also be merely too ill-conditioned to tell."""
    pin = ("pin it -- a field term, a constraint, or one state fixed as data -- so that H(s0) "
           "is positive definite")
    if not precision:
        return Assumption.limit(
            "isolated minimum", False, value,
            f"H is singular {where}, along ({null_direction(H, names)}): the minimum is not "
            "isolated (a flat direction, often a symmetry that leaves E unchanged, such as "
            f"rotating every oscillator or shifting every state; or a flat bottom, such as a**4); "
            f"{pin}")
    return Assumption.limit(
        "isolated minimum", False, value,
        f"H is singular to this precision {where}, along ({null_direction(H, names)}): either "
        "the minimum is not isolated (a flat direction, often a symmetry that leaves E "
        f"unchanged; or a flat bottom, such as a**4) -- {pin} -- or H is too ill-conditioned "
        "to tell at this precision: raise --dps, or rescale the energy's terms to comparable "
        "curvatures")


def _eigenvalues(H):
    """Eigenvalues of a square mpmath matrix (mpmath.eig ignores left/right=False when n = 1)."""
    if H.rows == 1:
        return [H[0, 0]]
    return mpmath.eig(H, left=False, right=False)


def definiteness(model, H, wdps, dps):
    """Smallest eigenvalue of H (energy) or of the real parts (vector field), whether it is
    positive, and the assumptions that say so: ``(eig_min, definite, assumptions)``."""
    names = [x.name for x in model.state]
    # relative to H's own size: scaling E by a positive constant changes no hypothesis; within
    # 10^-(w/2) |H| of zero an eigenvalue's sign is not resolved at this precision: H is
    # singular there (a degenerate minimum), undecided, a limit of this tool, whatever the
    # rounding's sign
    resolved = mpmath.mpf(10) ** (-(wdps // 2)) * mpmath.mnorm(H, 1)
    if model.has_energy:
        eig_min = linalg.eigvalsh((H + H.T) / 2)[0]
        what = f"its smallest eigenvalue {mpmath.nstr(eig_min, 3)} is"
    else:
        eig_min = min(mpmath.re(e) for e in _eigenvalues(H))
        what = f"the smallest real part of its eigenvalues, {mpmath.nstr(eig_min, 3)}, is"
    pd = eig_min > 0
    if abs(eig_min) <= resolved:
        return eig_min, False, (degenerate(
            H, names, mpmath.nstr(eig_min, 4),
            f"at s0 ({what} within {mpmath.nstr(resolved, 3)} of zero, 10^-(w/2) of |H|)",
            precision=True),)
    if model.has_energy:
        return eig_min, bool(pd), (Assumption(
            "positive definite", bool(pd), mpmath.nstr(eig_min, 4),
            "smallest eigenvalue of H(s0): s0 is a strict local minimum of E" if pd else
            "smallest eigenvalue of H(s0) is negative: s0 is a saddle, not a minimum of E; "
            "start the free phase elsewhere (initial_state, --initial-state) or change the "
            "parameters"),)
    stable = Assumption(
        "stable fixed point", bool(pd), mpmath.nstr(eig_min, 4),
        "smallest real part of the eigenvalues of -dF/ds(s0): s0 attracts" if pd else
        "an eigenvalue of -dF/ds(s0) has non-positive real part: s0 does not attract")
    asym = mpmath.mnorm(H - H.T, 1) / (mpmath.mnorm(H, 1) or 1)  # relative: time's units
    symmetric = Assumption(
        "symmetric Jacobian", asym < mpmath.mpf(10) ** (-(dps - 5)), mpmath.nstr(asym, 4),
        "|J - J^T| / |J| at s0 (1-norms): a vector field is a gradient field only when its "
        "Jacobian is symmetric; Theorem 3 needs it", fatal=False)
    return eig_min, bool(pd), (stable, symmetric)

"""Deliberate corruptions of one ingredient of a problem: negative controls on demand.

``mutate(P, "H", 1e-12)`` returns a copy of the problem in which the
Hessian is wrong by 1e-12 (relative) everywhere it enters: the matrix H(s0)
and, consistently, the compiled dynamics (the force gains ``A (s - s0)``).
A check handed ONE side computed from the mutated problem must then fail;
the mutation tests do exactly that for every row and every ingredient of
each side, so that no row can pass whatever one side computes.

Ingredients (:data:`INGREDIENTS`): ``H``, ``M``, ``C_s``, ``C_theta`` (the
derivatives of E and C at s0 and, consistently, as functions), ``rhs`` (a
shift of the flow's right-hand side alone), ``times`` (the grid stretched),
``h`` (the complex step's divisor) and ``s0`` (the fixed point moved).
"""

from __future__ import annotations

import dataclasses

import mpmath

from eqprop.numeric.highprec import Perturbation

__all__ = ["INGREDIENTS", "mutate"]

INGREDIENTS = ("H", "M", "C_s", "C_theta", "rhs", "times", "h", "s0")


def _size(values):
    return max([abs(v) for v in values] + [mpmath.mpf(0)]) or mpmath.mpf(1)


def mutate(P, ingredient, delta):
    """A copy of problem ``P`` with ``ingredient`` wrong by ``delta`` (relative to its size)."""
    if ingredient not in INGREDIENTS:
        raise ValueError(f"unknown ingredient {ingredient!r}; one of {', '.join(INGREDIENTS)}")
    with P.precision.working():
        delta = mpmath.mpf(delta)
        n, p = P.n, P.p
        ref = dict(s_ref=list(P.s0), theta_ref=P.system.theta())
        if ingredient == "times":
            return dataclasses.replace(P, times=[t * (1 + float(delta)) for t in P.times])
        if ingredient == "h":
            return dataclasses.replace(P, h_divisor=P.h * (1 + delta))
        if ingredient == "s0":
            return dataclasses.replace(P, s0=[x + delta * (1 + abs(x)) for x in P.s0])
        if ingredient == "H":
            d = delta * _size(list(P.H))
            A = [[d] * n for _ in range(n)]
            return dataclasses.replace(P, H=P.H + mpmath.matrix(A),
                                       system=P.system.perturbed(Perturbation(**ref, A=A)))
        if ingredient == "M":
            d = delta * _size(list(P.M))
            B = [[d] * p for _ in range(n)]
            return dataclasses.replace(P, M=P.M + mpmath.matrix(B).T,
                                       system=P.system.perturbed(Perturbation(**ref, B=B)))
        if ingredient == "C_s":
            kappa = [delta * _size(P.C_s)] * n
            return dataclasses.replace(P, C_s=[a + b for a, b in zip(P.C_s, kappa)],
                                       system=P.system.perturbed(Perturbation(**ref, kappa=kappa)))
        if ingredient == "C_theta":
            lam = [delta * _size(P.C_theta)] * p
            return dataclasses.replace(P, C_theta=[a + b for a, b in zip(P.C_theta, lam)],
                                       system=P.system.perturbed(Perturbation(**ref, lam=lam)))
        sigma = [delta * _size(list(P.H))] * n  # "rhs": the force shifted, nothing else
        return dataclasses.replace(P, system=P.system.perturbed(Perturbation(**ref, sigma=sigma)))

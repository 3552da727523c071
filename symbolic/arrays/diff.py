"""Forward and reverse differentiation of array expressions, by the rules of :mod:`.rules`.

- :func:`jvp` (forward mode) pushes tangents of some variables through
  every node: ``H v`` is the tangent of ``dE/ds`` along ``v``, and the
  complex-step nudged phase at scale is the tangent run (see
  :mod:`eqprop.symbolic.arrays.program`).
- :func:`vjp` (reverse mode) pulls a cotangent back to the chosen
  variables: ``dE/ds`` is the cotangent 1 pulled back from ``E``, ``H^T v``
  and ``M v`` are ``v`` pulled back from ``dE/ds`` (the derivatives of
  ``v . dE/ds`` in ``s`` and in ``theta``).

A cotangent that reaches an unbatched variable (a parameter) from batched
values is summed over the batch (:func:`~.ir.batchsum`): the batch's energy
is the sum of its examples' energies. Both transforms visit each node of the
expression once, so the derivatives of an expression are expressions of
about the same size, whatever the shapes.
"""

from __future__ import annotations

from . import ir
from .rules import ADJOINT, TANGENT

__all__ = ["jvp", "vjp", "grad"]


def _depends(order, variables):
    """The ids of the nodes of ``order`` (arguments first) that depend on any of ``variables``."""
    wanted = {id(v) for v in variables}
    dep = set()
    for n in order:
        if id(n) in wanted or any(id(a) in dep for a in n.args):
            dep.add(id(n))
    return dep


def jvp(roots, tangents):
    """The tangents of ``roots`` given ``tangents = {variable: its tangent}`` (forward mode).

    A root that depends on none of the variables has tangent zero.
    """
    for v, t in tangents.items():
        if v.op != "var" or t.shape != v.shape:
            raise ValueError(f"jvp: a tangent of shape {t.shape} for {v!r}")
    memo = {id(v): t for v, t in tangents.items()}
    order = ir.walk(roots)
    dep = _depends(order, tangents)
    for n in order:
        if id(n) in memo or id(n) not in dep:
            continue
        memo[id(n)] = TANGENT[n.op](n, *(memo.get(id(a)) for a in n.args))
    out = []
    for r in roots:
        t = memo.get(id(r))
        out.append(ir.zeros(r.shape) if t is None else t)
    return out


def vjp(root, cotangent, wrt):
    """The cotangents of the variables ``wrt`` pulled back from ``cotangent`` on ``root``.

    Returns one node per variable, with the variable's shape (summed over
    the batch for an unbatched one); zeros for a variable ``root`` does not
    depend on. ``root`` is a per-example quantity: a part of it that holds
    only parameters and constants (weight decay, ``sum(W**2)``) is counted
    once per example, so its cotangent reaches a parameter B times, as the
    batch's energy counts it.
    """
    if cotangent.shape != root.shape:
        raise ValueError(f"vjp: a cotangent of shape {cotangent.shape} for a root of shape "
                         f"{root.shape}")
    order = ir.walk([root])
    dep = _depends(order, wrt)
    ct = {id(root): cotangent}
    for n in reversed(order):
        g = ct.get(id(n))
        if g is None or id(n) not in dep or n.op == "var":
            continue
        need = tuple(id(a) in dep for a in n.args)
        per_example = n.batched or n is root  # a value per example, even where it is the same
        for a, ga, wanted in zip(n.args, ADJOINT[n.op](n, g, need), need):
            if not wanted or ga is None:
                continue
            if (ga.batched or per_example) and not a.batched:  # into a shared value: summed
                ga = ir.batchsum(ga)
            prev = ct.get(id(a))
            ct[id(a)] = ga if prev is None else ir.add(prev, ga)
    out = []
    for w in wrt:
        g = ct.get(id(w))
        out.append(ir.zeros(w.shape) if g is None or id(w) not in dep else g)
    return out


def grad(scalar, wrt):
    """The gradient of a per-example scalar in the variables ``wrt`` (reverse mode)."""
    if scalar.shape != ():
        raise ValueError(f"grad: the expression has shape {scalar.shape}, not a scalar")
    return vjp(scalar, ir.num(1), wrt)

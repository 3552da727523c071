"""How far EP is from RBP in :mod:`eqprop.proofs.scale`: the measures, kept as running sums.

:func:`normalized_error` is Ernoult et al.'s measure over a whole series;
:class:`_Agreement` accumulates it step by step (with the per-step relative
error and the digits a step loses), comparing a parameter's
derivatives through their factors when both sides are
:class:`~eqprop.numeric.namespaces.Factored`; :func:`_rel` is the relative
difference of two gradients.
"""

from __future__ import annotations

import numpy as np

from eqprop.numeric.namespaces import Factored

__all__ = ["normalized_error", "EPS64"]


def normalized_error(ep, rbp):
    """Ernoult et al.'s measure over a series: sqrt(sum|ep - rbp|^2 / max(sum|ep|^2, sum|rbp|^2))."""
    num = sum(float(np.sum(np.abs(a - b) ** 2)) for a, b in zip(ep, rbp))
    den = max(sum(float(np.sum(np.abs(a) ** 2)) for a in ep),
              sum(float(np.sum(np.abs(b) ** 2)) for b in rbp))
    return np.sqrt(num / den) if den > 0 else (0.0 if num == 0 else np.inf)


def _flat(theta):
    """One vector of every parameter's entries (a list of arrays, one per parameter)."""
    arrays = [a.dense() if isinstance(a, Factored) else a for a in theta]
    return np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)


def _rel(a, b, size_only=False):
    """|a - b| / |b| over all parameters (``size_only``: |a| / |b|)."""
    a, b = _flat(a), _flat(b)
    return float(np.linalg.norm(a if size_only else a - b) / max(np.linalg.norm(b), 1e-300))


def _sumsq(a):
    """sum |a|^2 (a BLAS dot; ravel copies only strided views)."""
    a = np.ravel(a)
    return float(np.vdot(a, a).real)


#: float64's unit roundoff: the rounding bound of a complex-step readout is EPS64 |u_k| / |Sbar_k|
EPS64 = 2.0**-53


class _Agreement:
    """Running sums for Ernoult et al.'s normalized error and per-step errors.

    ``steps``: the per-step relative error (NaN where RBP's side is exactly
    zero); ``lost``: per step, log10 of ``|u_{k+1}| / |Sbar_k|`` on the layer,
    the digits that EP's readout ``H u_k + C_s`` loses to cancellation, so that
    ``EPS64 * 10**lost`` bounds the error that float64 rounding can explain.
    """

    def __init__(self):
        self.num = self.ep2 = self.rbp2 = 0.0
        self.steps, self.lost = [], []

    def add(self, ep, rbp, u=None):
        if isinstance(ep, Factored) and isinstance(rbp, Factored) and ep.X is rbp.X:
            # A^T X against B^T X: the batch Gram matrix X X^T replaces the
            # weight-sized products
            if getattr(self, "_gram", (None,))[0] is not ep.X:
                self._gram = (ep.X, Factored.gram(ep.X))
            G = self._gram[1]
            d2, e2, r2 = (Factored.sumsq(a, G) for a in (ep.A - rbp.A, ep.A, rbp.A))
            self._accumulate(d2, e2, r2, u)
            return
        ep = ep.dense() if isinstance(ep, Factored) else ep
        rbp = rbp.dense() if isinstance(rbp, Factored) else rbp
        if np.iscomplexobj(ep) or np.iscomplexobj(rbp):
            d = ep - rbp
        else:  # weight-sized differences at every step: one buffer
            if getattr(self, "_d", None) is None or self._d.shape != np.shape(ep):
                self._d = np.empty(np.shape(ep))
            d = np.subtract(ep, rbp, out=self._d)
        self._accumulate(_sumsq(d), _sumsq(ep), _sumsq(rbp), u)

    def _accumulate(self, d2, e2, r2, u):
        self.num, self.ep2, self.rbp2 = self.num + d2, self.ep2 + e2, self.rbp2 + r2
        # a step whose RBP side is exactly zero (the signal has not reached the layer yet) has
        # no relative error: NaN, left out of the statistics and of the figure (never 1e300)
        self.steps.append(np.sqrt(d2) / np.sqrt(r2) if r2 > 0 else (0.0 if d2 == 0 else np.nan))
        if u is not None:
            if r2 > 0:
                self.lost.append(np.log10(max(np.sqrt(_sumsq(u)), 1e-300) / np.sqrt(r2)))
            else:
                self.lost.append(np.nan)

    @property
    def testable(self):
        """False when both sides are zero at every step: nothing was compared."""
        return max(self.ep2, self.rbp2) > 0

    @property
    def normalized(self):
        den = max(self.ep2, self.rbp2)
        return float(np.sqrt(self.num / den)) if den > 0 else (0.0 if self.num == 0 else np.inf)

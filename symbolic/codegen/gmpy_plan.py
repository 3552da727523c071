"""The numpy plan on gmpy2 numbers: high-precision evaluation at numpy's speed of dispatch.

The plan of :mod:`.numpy_plan` (functions of one variable evaluated once per
variable in shared tables, gathers, segment sums) run on numpy *object*
arrays whose elements are gmpy2 ``mpfr``/``mpc`` numbers: numpy's C loops call
gmpy2's C arithmetic element by element, so a kernel costs a few numpy calls
instead of one interpreted Python operation per term. Constants are exact
(``gmpy2.mpq`` coefficients; rationals inside templates printed by
:class:`~.gmpy.GmpyPrinter` as ``mpf(p)/mpf(q)``, evaluated at the caller's
precision), and elementary functions are gmpy2's, with the complex-step
care of :class:`~.gmpy._GmpyFunctions`.

Measured on a layered Hopfield network of 100 units (bench/RESULTS.md):
dE/ds in 1.7 ms and the Hessian in 3.3 ms at 200 bits, against 77 ms and
214 ms looping over the templates in mpmath. Call inside a gmpy2 context
(:meth:`eqprop.symbolic.backends.GmpyBackend.scope`).
"""

from __future__ import annotations

import functools

import gmpy2
import numpy as np
import sympy as sp

from .numpy_plan import NumpyPlan

__all__ = ["GmpyPlan"]


#: What a plan that cannot be built for gmpy2 raises (an irrational constant, a function
#: without a gmpy2 version, a SymPy construct the printer does not know)
_UNSUPPORTED = (NotImplementedError, TypeError, KeyError, AttributeError, NameError, ValueError)


class GmpyPlan:
    """A kernel's :class:`~.numpy_plan.NumpyPlan` compiled for gmpy2 numbers.

    ``plan(values)`` evaluates every output from the flat input ``values``
    (gmpy2 numbers, in the kernel's argument order) and returns a list of
    gmpy2 numbers. :meth:`bind` fixes the inputs after the first
    ``n_dynamic`` (parameters, data) once.
    """

    def __init__(self, templates, bounds=()):
        self.templates = templates
        self.plan = NumpyPlan(templates, bounds, mode="gmpy")

    @functools.cached_property
    def function(self):
        """The generated plan function, or None where gmpy2 cannot run this kernel (branches
        of a non-smooth function, Piecewise, compare element by element: not on objects)."""
        from ..parse import NON_SMOOTH
        if any(g.template.has(sp.Piecewise, *NON_SMOOTH) for g in self.templates.groups):
            return None
        try:
            return self.plan.function(False)
        except _UNSUPPORTED:
            return None

    @property
    def supported(self):
        return self.function is not None

    def _finish(self, out):
        zero = gmpy2.mpfr(0)
        return [zero if isinstance(v, int) else v for v in out.tolist()]

    def __call__(self, values):
        z = np.empty(len(values), dtype=object)
        z[:] = list(values)
        return self._finish(self.function(z, object))

    def bind(self, n_dynamic, static):
        """``f(dynamic) -> list``: the outputs with the inputs after ``n_dynamic`` fixed."""
        static = list(static)
        z = np.empty(n_dynamic + len(static), dtype=object)
        z[n_dynamic:] = static
        fn, finish = self.function, self._finish

        def f(dynamic):
            z[:n_dynamic] = list(dynamic)
            return finish(fn(z, object))
        return f

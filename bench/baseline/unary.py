"""compile_unary_joint of the hand-written layered path (the rest of its unary module is in the
package: eqprop.symbolic.codegen.unary).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from eqprop.symbolic.codegen.numpy_tables import _np_modules
from eqprop.symbolic.codegen.unary import _derivatives, _one_variable, compile_unary  # noqa: F401


def compile_unary_joint(expr, name=""):
    """``z -> (f(z), f'(z), f''(z))`` in one numpy function, common subexpressions shared.

    For the sigmoid, one exp serves all three. Constant derivatives are
    broadcast to the shape of ``z``.
    """
    z = _one_variable(expr, name)
    exprs = _derivatives(expr, z, 2, name)
    fn = sp.lambdify([z], exprs, modules=_np_modules(), cse=True)

    def joint(a):
        return tuple(v if np.shape(v) == np.shape(a) else np.broadcast_to(v, np.shape(a))
                     for v in fn(a))
    return joint

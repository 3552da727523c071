"""eqprop: verify that equilibrium propagation computes recurrent backpropagation's gradients.

Scellier & Bengio, "Equivalence of Equilibrium Propagation and Recurrent
Backpropagation", Neural Computation 31(2), 2019. Give an energy E and a
cost C; eqprop derives every derivative with SymPy/SymEngine, compiles it,
and checks Theorems 1-3 at high precision along independent paths.

The paper's symbols, spelled once:

==============================  ===============================================
paper                           code
==============================  ===============================================
s, theta, x, y, beta            ``s``, ``theta``, ``x``, ``y``, ``beta``
E, C                            ``E``, ``C``
dE/ds, d2E/ds2 (H), M           ``dE_ds``, ``d2E_ds2``, ``d2E_dtheta_ds``
dE^beta/ds = dE/ds + beta dC/ds ``dEbeta_ds``
H, M, C_s, C_theta at s0        ``Problem.H``, ``.M``, ``.C_s``, ``.C_theta``
free / nudged fixed point       ``s0`` (``Report.s_free``), s^beta
Sbar_t, Thetabar_t (RBP)        ``s_bar``, ``theta_bar``
Stilde_t, Thetatilde_t (EP)     ``s_tilde``, ``theta_tilde``
==============================  ===============================================

Subpackages, data flowing one way: ``eqprop.symbolic`` (models -- per neuron, or
written over arrays: :class:`ArrayModel` --, derivation, code generation) -> ``eqprop.numeric`` (integration, fixed points) ->
``eqprop.proofs`` (the theorems) -> ``eqprop.figures``.
"""

import os as _os

# Run from a source checkout without an editable install, the subpackages live
# beside this folder (symbolic/, numeric/, ...): let Python find them there.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isdir(_os.path.join(_root, "symbolic")) and not _os.path.isdir(
        _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "symbolic")):
    __path__.append(_root)

from .errors import EqpropError  # noqa: E402
from .symbolic import (Model, builtin_names, derive, describe, hopfield, load_model,  # noqa: E402
                       quadratic)
from .symbolic.arrays import ArrayModel  # noqa: E402
from .symbolic.codegen import compile_model  # noqa: E402
from .proofs import EstimatorReport, Report, Verdict, VerificationFailed, estimators, verify  # noqa: E402

__version__ = "0.1.0"

__all__ = ["EqpropError", "Model", "ArrayModel", "hopfield", "quadratic", "load_model", "builtin_names",
           "derive", "describe", "compile_model", "verify", "estimators", "EstimatorReport", "Report", "Verdict", "VerificationFailed",
           "__version__"]

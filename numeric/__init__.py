"""eqprop.numeric: integration and fixed points, at high precision (mpmath) and at scale.

No SymPy here: algorithms receive compiled functions from eqprop.symbolic.
"""
from .highprec import (GUARD_DPS, Flow, Perturbation, System, adjoint_closed_form, adjoint_flow,
                       derivative, newton, richardson_derivative)
from .integrate import ComputationBreakdown, GBSIntegrator, IntegrationError, integrate
from .relax import relax

__all__ = ["GUARD_DPS", "System", "Perturbation", "Flow", "ComputationBreakdown", "newton",
           "richardson_derivative", "derivative", "adjoint_closed_form", "adjoint_flow",
           "GBSIntegrator", "IntegrationError", "integrate", "relax"]

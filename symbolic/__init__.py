"""eqprop.symbolic: models, derivation and code generation (SymPy only)."""
from .model import Model
from .builtins import RHO, hopfield, quadratic, load_model, builtin_names
from .derive import Derivatives, derive
from .display import describe

__all__ = ["Model", "RHO", "hopfield", "quadratic", "load_model", "builtin_names", "Derivatives",
           "derive", "describe"]

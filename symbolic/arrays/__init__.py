"""eqprop.symbolic.arrays: energies written once over arrays, derived in matrix form.

An :class:`ArrayModel` declares its state blocks, parameters and data as
arrays and writes the energy in numpy's notation (:mod:`.parse`). Its
derivatives come from small matrix-calculus rules over the array
operations (:mod:`.rules`, applied by :mod:`.diff`), with every elementwise
function's derivative from SymPy; they print in matrix notation
(:mod:`.display`), compile to batched code for numpy or PyTorch
(:mod:`.program`, :mod:`.codegen`), and expand entry by entry into an
ordinary per-neuron model for the 50-digit path (:mod:`.expand`).
"""
from .model import ArrayModel
from .families import layered
from .program import Derived, Program, derive_arrays, generate
from .parse import parse_array
from .display import latex, text

__all__ = ["ArrayModel", "layered", "Derived", "Program", "derive_arrays", "generate",
           "parse_array", "latex", "text"]

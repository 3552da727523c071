"""Code generation: the one place that turns derived expressions into functions.

Stages, each testable on its own:

1. **Templates** (:mod:`.templates`). Every output entry is a sum of terms
   ``c * f(args)``; the number ``c`` is split off and the symbols of ``f``
   are renamed, in argument order, to placeholders ``_p0, _p1, ...``. Terms
   with the same template (every synapse of a Hopfield layer, say) form one
   group, whose arguments are an integer index array into the flat input
   vector.
2. **Printing and compiling.** Each template is compiled once by
   :func:`sympy.lambdify` with ``cse=True`` and an explicit ``modules=``:
   ``"numpy"`` (:mod:`.numpy_plan`, :mod:`.numpy_tables`: vectorized, it
   runs on a whole group, with a leading batch axis, and accepts complex
   input for complex-step nudging; factors of a template that depend on one
   variable only, rho'(s_i) say, are hoisted: evaluated once per distinct
   variable, then gathered) and ``"mpmath"`` (:mod:`.mp`: exact rational
   constants, evaluated at the caller's working precision), plus gmpy2
   through :class:`GmpyPrinter` (:mod:`.gmpy`). Every backend's elementary
   functions return the imaginary part of a complex-step argument to full
   relative precision (:mod:`.dual`).
3. **Evaluation.** A :class:`Kernel` (:mod:`.functions`) gathers arguments,
   evaluates each group into one buffer of terms, and adds the terms into
   their outputs; :class:`Compiled` offers one function per entry of
   :data:`QUANTITIES`.

The argument order of every compiled function is fixed in
:data:`ARGUMENTS`, and written into each function's docstring.
:mod:`.unary` compiles a function of one variable and its derivatives (the
activation check of ``eqprop scale --rho``).
"""

from .functions import ARGUMENTS, QUANTITIES, Compiled, Kernel, Quantity, compile_model
from .gmpy import GmpyPrinter
from .unary import compile_unary

__all__ = ["ARGUMENTS", "QUANTITIES", "Quantity", "Kernel", "Compiled", "compile_model",
           "compile_unary", "GmpyPrinter"]

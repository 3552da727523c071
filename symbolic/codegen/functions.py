"""Compiled functions of a model: the argument layouts, :class:`Compiled` and :class:`Kernel`.

The argument order of every compiled function is fixed here, in
:data:`ARGUMENTS`, and each quantity's shape and further arguments in
:data:`QUANTITIES`; both are written into each function's docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gmpy2
import mpmath
import numpy as np
import symengine as se

from eqprop.errors import EqpropError

from ..backends import GMPY
from ..derive import Derivatives
from . import gmpy
from .gmpy_plan import GmpyPlan
from .mp import MpEvaluator
from .numpy_plan import NumpyPlan
from .templates import Templates

#: Argument order of every compiled function: state, parameters, data
#: (each a 1-D sequence in the model's declared order; numpy arrays may carry
#: leading batch axes). Some quantities take further arguments (``v``,
#: ``beta``: see :data:`QUANTITIES`).
ARGUMENTS = ("s", "theta", "data")


@dataclass(frozen=True)
class Quantity:
    """A compiled quantity: its output shape, its arguments after :data:`ARGUMENTS`, what it is.

    ``shape`` is in the sizes ``"n"`` (state) and ``"p"`` (parameters), ``()``
    for a scalar. Each name in ``extra`` is the field of
    :class:`~eqprop.symbolic.derive.Derivatives` that holds its symbols: ``v``
    (n of them, for the Hessian-vector products), ``beta`` (one).
    """

    shape: tuple
    extra: tuple
    doc: str

    def describe(self):
        """``"dE/ds (n,) as a function of (s, theta, data)"``."""
        shape = "(scalar)" if not self.shape else \
            f"({', '.join(self.shape)}{',' if len(self.shape) == 1 else ''})"
        return f"{self.doc} {shape} as a function of ({', '.join(ARGUMENTS + self.extra)})"


#: name -> :class:`Quantity`: every function a :class:`Compiled` offers
QUANTITIES = {
    "E": Quantity(shape=(), extra=(), doc="energy E"),
    "C": Quantity(shape=(), extra=(), doc="cost C"),
    "dE_ds": Quantity(shape=("n",), extra=(), doc="dE/ds"),
    "dE_dtheta": Quantity(shape=("p",), extra=(), doc="dE/dtheta"),
    "dC_ds": Quantity(shape=("n",), extra=(), doc="dC/ds"),
    "dC_dtheta": Quantity(shape=("p",), extra=(), doc="dC/dtheta"),
    "d2E_ds2": Quantity(shape=("n", "n"), extra=(), doc="H = d2E/ds2"),
    "d2E_dtheta_ds": Quantity(shape=("p", "n"), extra=(), doc="M = d2E/(dtheta ds)"),
    "d2C_ds2": Quantity(shape=("n", "n"), extra=(), doc="d2C/ds2"),
    "dEbeta_ds": Quantity(shape=("n",), extra=("beta",), doc="dE^beta/ds = dE/ds + beta dC/ds"),
    "Hv": Quantity(shape=("n",), extra=("v",), doc="H^T v = d/ds (v . dE/ds)"),
    "Mv": Quantity(shape=("p",), extra=("v",), doc="M v = d/dtheta (v . dE/ds)"),
}


class Kernel:
    """Evaluate ``n_out`` expressions over a flat input vector ``z``.

    ``z`` is the concatenation of the arguments in :data:`ARGUMENTS` order
    (plus those a quantity adds, see :data:`QUANTITIES`); ``blocks`` are their
    sizes. ``entries`` is a list of ``(position, expression)`` pairs;
    positions not listed are zero. The stages: :class:`~.templates.Templates`
    groups the terms, then :class:`~.numpy_plan.NumpyPlan`,
    :class:`~.mp.MpEvaluator` and :mod:`.gmpy` evaluate them, each compiled on
    first use. ``use_gmpy_plan``: evaluate at high precision through the plan
    on gmpy2 numbers (:mod:`.gmpy_plan`) where it builds; False keeps to the
    mpmath templates (the baseline of bench/highprec.py).
    """

    def __init__(self, entries, symbols, n_out, *, name, doc="", blocks=None, use_gmpy_plan=True):
        self.name, self.n_out, self.__doc__ = name, n_out, doc
        self.use_gmpy_plan = use_gmpy_plan
        self.templates = Templates(entries, symbols, n_out, name=name)
        #: starts of the argument blocks after the first (see numpy_tables._Tables.finalize)
        self.bounds = tuple(np.cumsum(blocks)[:-1]) if blocks else ()
        self.plan = NumpyPlan(self.templates, self.bounds)
        self.mp = MpEvaluator(self.templates)
        self.gmpy_plan = GmpyPlan(self.templates, self.bounds)

    @property
    def _gmpy_plan_ready(self):
        """Whether high precision goes through the plan on gmpy2 numbers."""
        return self.use_gmpy_plan and self.gmpy_plan.supported

    @property
    def aliases(self):
        """Output position -> the later positions that copy it (H_ji = H_ij)."""
        return self.templates.aliases

    def source(self, batched=False):
        """The generated source of the numpy plan (for input with or without batch axes)."""
        return self.plan.source(batched)

    def numpy(self, z):
        """Evaluate on a numpy array ``z`` of shape ``(..., len(symbols))``."""
        return self.plan(z)

    def mpmath(self, z):
        """Evaluate on a sequence of mpmath numbers at the current precision.

        Through the plan on gmpy2 numbers (:mod:`.gmpy_plan`) where it builds,
        else mpmath's own compiled templates (:class:`~.mp.MpEvaluator`).
        """
        if not self._gmpy_plan_ready:
            return self.mp(z)
        with GMPY.scope():
            try:
                out = self.gmpy_plan([GMPY.from_mp(x) for x in z])
                # gmpy2 gives inf and nan (1/0, log of a negative) where mpmath raises or goes
                # complex: mpmath says what went wrong, as it did before this evaluator
                zero = mpmath.mpf(0)
                return [GMPY.to_mp(v) if v else zero for v in out]
            except (ArithmeticError, ValueError, TypeError):
                return self.mp(z)

    def gmpy(self, z):
        """The outputs as gmpy2 numbers (the plan on gmpy2 numbers), or None.

        None where the plan does not build, or the evaluation raises or gives
        inf/nan: the caller then takes :meth:`mpmath`, which says what went
        wrong. For callers that hand the values on without mpmath numbers in
        between (dense matrices into Arb). Precision: mpmath's current one.
        """
        if not self._gmpy_plan_ready:
            return None
        with GMPY.scope():
            try:
                out = self.gmpy_plan([GMPY.from_mp(x) for x in z])
            except (ArithmeticError, ValueError, TypeError):
                return None
        return out if all(map(gmpy2.is_finite, out)) else None

    def gmpy_bind(self, n_dynamic, static):
        """gmpy2 function of the first ``n_dynamic`` inputs, the rest fixed to ``static``.

        Small kernels: one function with every subexpression of the fixed
        inputs computed once (:func:`.gmpy.gmpy_bind`); above
        :data:`~.mp.MP_WHOLE_LIMIT` terms, the plan on gmpy2 numbers
        (:mod:`.gmpy_plan`). None where neither compiles.
        """
        bound = gmpy.gmpy_bind(self.templates, n_dynamic, static)
        if bound is None and self._gmpy_plan_ready:
            return self.gmpy_plan.bind(n_dynamic, static)
        return bound

    def gmpy_supported(self, n_dynamic):
        """Whether :meth:`gmpy_bind` can compile this kernel (else the caller uses mpmath)."""
        return gmpy.gmpy_supported(self.templates, n_dynamic) or self._gmpy_plan_ready


class _Function:
    """A compiled function of (s, theta, data[, v or beta]) built on a :class:`Kernel`."""

    def __init__(self, kernel, shape, sizes, names=ARGUMENTS + ("v",)):
        self.kernel, self.shape, self.sizes, self.names = kernel, shape, sizes, names
        self.__doc__ = kernel.__doc__
        self.__name__ = kernel.name

    def _flat_np(self, args):
        arrays = [np.asarray(a) for a in args]
        for a, n, name in zip(arrays, self.sizes, self.names):
            if a.ndim == 0 or a.shape[-1] != n:
                raise ValueError(f"{self.__name__}(): {name} has shape {a.shape}; expected {n} "
                                 f"values along the last axis")
        if all(a.ndim == 1 for a in arrays):  # the common unbatched call: one copy
            return np.concatenate(arrays, dtype=np.result_type(*arrays, np.float64))
        batch = np.broadcast_shapes(*[a.shape[:-1] for a in arrays])
        dtype = np.result_type(*arrays, np.float64)
        return np.concatenate([np.broadcast_to(a, batch + a.shape[-1:]).astype(dtype, copy=False)
                               for a in arrays], axis=-1)

    def __call__(self, *args):
        """numpy evaluation; output shape ``batch + shape``."""
        self._check(args)
        out = self.kernel.numpy(self._flat_np(args))
        return out.reshape(out.shape[:-1] + self.shape)

    def mp(self, *args):
        """mpmath evaluation at the working precision: a list, or an mpmath matrix."""
        self._check(args)
        flat = [x for a in args for x in a]
        out = self.kernel.mpmath(flat)
        if len(self.shape) == 2:
            m, cols = mpmath.matrix(*self.shape), self.shape[1]
            for k, val in enumerate(out):
                if val:
                    m[k // cols, k % cols] = val
            return m
        return out[0] if self.shape == () else out

    def gmpy(self, *args):
        """The outputs flat, as gmpy2 numbers, or None (see :meth:`Kernel.gmpy`)."""
        self._check(args)
        return self.kernel.gmpy([x for a in args for x in a])

    def bind(self, *static):
        """gmpy2 function of s alone, the other arguments fixed (see Kernel.gmpy_bind)."""
        n = self.sizes[0]
        return self.kernel.gmpy_bind(n, [x for a in static for x in a])

    def _check(self, args):
        if len(args) != len(self.sizes):
            raise TypeError(f"{self.__name__}() takes {len(self.sizes)} arguments "
                            f"({', '.join(self.names)}), got {len(args)}")


class _QuantityAttribute:
    """``Compiled.<name>``: the function built on first access, then kept on the instance."""

    def __init__(self, name):
        self.name = name
        self.__doc__ = QUANTITIES[name].describe() + "."

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        fn = obj.__dict__[self.name] = obj._build(self.name)
        return fn


class Compiled:
    """Compiled numpy/mpmath functions of a model's derived quantities.

    One attribute per entry of :data:`QUANTITIES`. Every function takes
    ``(s, theta, data)`` (see :data:`ARGUMENTS`), and ``Hv``/``Mv`` also
    ``v``, ``dEbeta_ds`` also ``beta``. Called directly they evaluate with
    numpy (leading batch axes allowed, complex input allowed); ``.mp(...)``
    evaluates with mpmath at the current working precision. Kernels are
    compiled on first use. A vector-field model has no ``E`` nor
    ``dE_dtheta``: asking for them raises :class:`~eqprop.errors.EqpropError`.
    ``use_gmpy_plan``: see :class:`Kernel`.
    """

    def __init__(self, derivs: Derivatives, *, use_gmpy_plan=True):
        self.derivs, self.use_gmpy_plan = derivs, use_gmpy_plan
        m = derivs.model
        self.n, self.p, self.d = len(m.state), len(m.params), len(m.data)
        self._symbols = [se.sympify(x) for x in (*m.state, *m.theta, *m.data_symbols)]

    def _build(self, name):
        q, d = QUANTITIES[name], self.derivs
        value = getattr(d, name)
        if value is None:
            raise EqpropError(f"{name}: model {d.model.name!r} is given by a vector field and has "
                              f"no energy (its dE_ds is minus the field)")
        shape = tuple({"n": self.n, "p": self.p}[k] for k in q.shape)
        if len(shape) == 2:
            entries = [(i * shape[1] + j, e) for (i, j), e in value.items()]
        elif shape:
            entries = [(i, e) for i, e in enumerate(value) if e != 0]
        else:
            entries = [(0, value)]
        syms, sizes = self._symbols, (self.n, self.p, self.d)
        for arg in q.extra:
            symbols = getattr(d, arg)
            symbols = symbols if isinstance(symbols, tuple) else (symbols,)
            syms, sizes = syms + [se.sympify(x) for x in symbols], sizes + (len(symbols),)
        kernel = Kernel(entries, syms, math.prod(shape), name=name, doc=q.describe() + ".",
                        blocks=sizes, use_gmpy_plan=self.use_gmpy_plan)
        return _Function(kernel, shape, sizes, ARGUMENTS + q.extra)

    def taylor(self, prec, tol, *, perturbed=False):
        """The optional heyoka Taylor integrator of the flows: a ``heyoka_gen.TaylorFlow``."""
        cache = self.__dict__.setdefault("_taylor", {})
        tol = mpmath.nstr(mpmath.mpf(tol), 5)  # one canonical spelling per tolerance
        key = (prec, tol, perturbed)
        if key not in cache:
            from ..heyoka_gen import taylor_integrator
            cache[key] = taylor_integrator(self.derivs, prec, tol, perturbed=perturbed)
        return cache[key]

    def warm(self, names=None, backends=("numpy",)):
        """Compile the named kernels now (all by default, those the model has); returns self."""
        for name in names or QUANTITIES:
            # a vector field has no E nor dE_dtheta
            if name in QUANTITIES and getattr(self.derivs, name) is None:
                continue
            fn = getattr(self, name)
            if "numpy" in backends:
                fn.kernel.plan.function(False)
            if "mpmath" in backends and not fn.kernel.gmpy_plan.supported:
                fn.kernel.mp.warm()
        return self


for _name in QUANTITIES:
    setattr(Compiled, _name, _QuantityAttribute(_name))
del _name


def compile_model(derivs: Derivatives, *, use_gmpy_plan=True) -> Compiled:
    """Compile ``derivs`` (from :func:`eqprop.symbolic.derive`); ``use_gmpy_plan``: see
    :class:`Kernel`."""
    if not isinstance(derivs, Derivatives):
        hint = " (derive it first: compile_model(derive(model)))" if hasattr(derivs, "state") else ""
        raise EqpropError(f"compile_model: expected the Derivatives of eqprop.derive, got "
                          f"{type(derivs).__name__}{hint}")
    return Compiled(derivs, use_gmpy_plan=use_gmpy_plan)

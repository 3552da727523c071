"""Optional engine: the model's flows as a heyoka.py Taylor integrator at arbitrary precision.

heyoka (``pip install 'eqprop[heyoka]'``) integrates with Taylor's method,
its coefficient recurrences generated from the expression graph and compiled
by LLVM, in multiprecision (``fp_type=real``). It has no complex numbers, so a
complex-step state ``s = a + i h b`` is carried as the dual system

    a' = -(dE/ds(a) + beta_r dC/ds(a))
    b' = -(H(a) b + M(a)^T theta_i + beta_r d2C/ds2(a) b + beta_i dC/ds(a))

with ``theta = theta_r + i h theta_i`` and ``beta = beta_r + i h beta_i``:
the imaginary part of the complex flow divided by h, exact to O(h^2) (far
below the working precision for the h used).

A *perturbed* integrator (negative controls, mutation tests; see
:class:`eqprop.numeric.highprec.Perturbation`) adds an affine corruption of
the force, ``A s + B theta + c0`` and ``beta kappa``, with its own runtime
parameters. The order of the runtime parameters is :func:`parameter_layout`,
the one table the generator here and the integrator's caller both read.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

__all__ = ["available", "taylor_integrator", "parameter_layout", "TaylorFlow"]

#: Runtime parameters of the Taylor integrator, in order: (name, size in n, p, d).
PARAMETERS = (("theta_re", "p"), ("data", "d"), ("beta_re", "1"), ("beta_im", "1"),
              ("theta_im", "p"))
#: Appended when the integrator is built with a perturbation.
PERTURBATION = (("A", "n*n"), ("B", "n*p"), ("c0", "n"), ("kappa", "n"))


def available():
    try:
        import heyoka  # noqa: F401
    except ImportError:
        return False
    return True


def parameter_layout(n, p, d, perturbed=False):
    """``{name: slice}`` of the runtime parameter vector (see :data:`PARAMETERS`)."""
    sizes = {"n": n, "p": p, "d": d, "1": 1, "n*n": n * n, "n*p": n * p}
    out, k = {}, 0
    for name, size in PARAMETERS + (PERTURBATION if perturbed else ()):
        out[name] = slice(k, k + sizes[size])
        k += sizes[size]
    return out


@dataclass
class TaylorFlow:
    """A compiled ``heyoka.taylor_adaptive`` and the layout of its parameters."""

    ta: object
    layout: dict
    n_pars: int


def _exact_constants(expr, prec, hy):
    """Map every numeric constant that a double would round (a rational p/q, log(2) from
    differentiating 2**a, atan(2), E, an integer beyond 2^53) to its value at ``prec`` bits.

    ``hy.from_sympy`` stores such constants as doubles: log(2) kept 17 digits and every
    flow through it failed at 30. Each maximal numeric sub-expression becomes a symbol
    bound to a ``hy.real`` of ``prec`` bits, evaluated by SymPy with guard digits.
    """
    mapping, memo = {}, {}
    digits = int(prec * 0.30103) + 10

    def exact(e):
        return e.is_Integer and abs(int(e)) <= 2 ** 53

    def walk(e):
        if e in memo:
            return memo[e]
        if e.is_number and not exact(e):
            q = sp.Symbol(f"_q{len(mapping)}")
            mapping[q] = hy.expression(hy.real(str(sp.N(e, digits)), prec))
            out = q
        elif e.args and not e.is_number:
            out = e.func(*[walk(a) for a in e.args])
        else:
            out = e
        memo[e] = out
        return out
    return walk(expr), mapping


def taylor_integrator(derivs, prec, tol, *, perturbed=False):
    """A :class:`TaylorFlow` (fp_type real, ``prec`` bits) of the dual system above."""
    import heyoka as hy

    model = derivs.model
    n, p, d = len(model.state), len(model.params), len(model.data)
    layout = parameter_layout(n, p, d, perturbed)
    names = {x.name: x for x in (*model.state, *model.theta, *model.data_symbols)}

    def back(e):
        e = sp.sympify(e)
        return e.xreplace({x: names[x.name] for x in e.free_symbols if x.name in names})
    a = hy.make_vars(*[f"a{i}" for i in range(n)])
    b = hy.make_vars(*[f"b{i}" for i in range(n)])
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])

    def pars(name):
        sl = layout[name]
        return [hy.par[k] for k in range(sl.start, sl.stop)]
    theta_r, data = pars("theta_re"), pars("data")
    (beta_r,), (beta_i,) = pars("beta_re"), pars("beta_im")
    theta_i = pars("theta_im")
    base = {s: a[i] for i, s in enumerate(model.state)}
    base.update(dict(zip(model.theta, theta_r)))
    base.update(dict(zip(model.data_symbols, data)))

    def conv(expr):
        expr, consts = _exact_constants(back(expr), prec, hy)
        return hy.from_sympy(expr, {**base, **consts}) if expr != 0 else hy.expression(hy.real(0, prec))

    grad = [conv(e) for e in derivs.dE_ds]
    dC = [conv(e) for e in derivs.dC_ds]
    Hb = [[] for _ in range(n)]
    for (i, j), e in derivs.d2E_ds2.items():
        Hb[i].append(conv(e) * b[j])
    for (i, j), e in derivs.d2C_ds2.items():
        Hb[i].append(beta_r * conv(e) * b[j])
    for (k, i), e in derivs.d2E_dtheta_ds.items():
        Hb[i].append(conv(e) * theta_i[k])
    force_a = [grad[i] + beta_r * dC[i] for i in range(n)]
    force_b = [(hy.sum(Hb[i]) if Hb[i] else hy.expression(hy.real(0, prec))) + beta_i * dC[i]
               for i in range(n)]
    if perturbed:
        A, B, c0, kappa = pars("A"), pars("B"), pars("c0"), pars("kappa")
        for i in range(n):
            row_a = [A[i * n + j] * a[j] for j in range(n)] + [B[i * p + k] * theta_r[k] for k in range(p)]
            row_b = [A[i * n + j] * b[j] for j in range(n)] + [B[i * p + k] * theta_i[k] for k in range(p)]
            force_a[i] = force_a[i] + hy.sum(row_a) + c0[i] + beta_r * kappa[i]
            force_b[i] = force_b[i] + hy.sum(row_b) + beta_i * kappa[i]
    system = [(a[i], -force_a[i]) for i in range(n)] + [(b[i], -force_b[i]) for i in range(n)]
    # heyoka counts parameters up to the highest one the system uses: a parameter that no
    # derivative involves (one that enters the cost only, declared last) is left out
    used = 1 + max((int(str(p)[1:]) for p in _pars_of(system)), default=-1)
    ta = hy.taylor_adaptive(system, [hy.real(0, prec)] * (2 * n), pars=[hy.real(0, prec)] * used,
                            fp_type=hy.real, tol=hy.real(tol, prec))
    return TaylorFlow(ta=ta, layout=layout, n_pars=used)


def _pars_of(system):
    """The runtime parameters (``p[k]``) appearing in a heyoka system's right-hand sides."""
    import heyoka as hy
    found = set()
    for _, rhs in system:
        found.update(hy.get_params(rhs))
    return found

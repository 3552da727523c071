"""Optional engine: the model's flows as a heyoka.py Taylor integrator at arbitrary precision.

heyoka (``pip install 'eqprop[heyoka]'``) integrates with Taylor's method,
its coefficient recurrences generated from the expression graph and compiled
by LLVM, in multiprecision (``fp_type=real``). It has no complex numbers, so a
complex-step state ``s = a + i h b`` is carried as the dual system

    a' = -(dE/ds(a) + beta_r dC/ds(a))
    b' = -(H(a) b + M(a)^T theta_i + beta_r d2C/ds2(a) b + beta_i dC/ds(a))

with ``theta = theta_r + i h theta_i`` and ``beta = beta_r + i h beta_i``:
the imaginary part of the complex flow divided by h, exact to O(h^2) (far
below the working precision for the h used). Runtime parameters, in order:
theta_r (p), data (d), beta_r, beta_i, theta_i (p).
"""

from __future__ import annotations

import sympy as sp

__all__ = ["available", "taylor_integrator"]


def available():
    try:
        import heyoka  # noqa: F401
    except ImportError:
        return False
    return True


def _exact_constants(expr, prec, hy):
    """Map rationals p/q (which heyoka cannot store exactly) to p / q evaluated at run time."""
    mapping, out = {}, expr
    for k, r in enumerate(sorted((r for r in expr.atoms(sp.Rational) if not r.is_Integer), key=str)):
        q = sp.Symbol(f"_q{k}")
        mapping[q] = hy.expression(hy.real(int(r.p), prec)) / hy.expression(hy.real(int(r.q), prec))
        out = out.xreplace({r: q})
    return out, mapping


def taylor_integrator(derivs, prec, tol):
    """A ``heyoka.taylor_adaptive`` (fp_type real, ``prec`` bits) of the dual system above."""
    import heyoka as hy

    model = derivs.model
    n, p = len(model.state), len(model.params)
    names = {x.name: x for x in (*model.state, *model.theta, *model.data_symbols)}

    def back(e):
        e = sp.sympify(e)
        return e.xreplace({x: names[x.name] for x in e.free_symbols if x.name in names})
    a = hy.make_vars(*[f"a{i}" for i in range(n)])
    b = hy.make_vars(*[f"b{i}" for i in range(n)])
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
    par = hy.par
    d = len(model.data)
    beta_r, beta_i = par[p + d], par[p + d + 1]
    theta_i = [par[p + d + 2 + k] for k in range(p)]
    base = {s: a[i] for i, s in enumerate(model.state)}
    base.update({t: par[k] for k, t in enumerate(model.theta)})
    base.update({x: par[p + k] for k, x in enumerate(model.data_symbols)})

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
    zero = hy.expression(hy.real(0, prec))
    system = [(a[i], -(grad[i] + beta_r * dC[i])) for i in range(n)]
    system += [(b[i], -(hy.sum(Hb[i]) if Hb[i] else zero) - beta_i * dC[i]) for i in range(n)]
    init = [hy.real(0, prec)] * (2 * n)
    pars = [hy.real(0, prec)] * (2 * p + d + 2)
    return hy.taylor_adaptive(system, init, pars=pars, fp_type=hy.real, tol=hy.real(tol, prec))

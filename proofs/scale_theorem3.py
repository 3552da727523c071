"""Theorem 3 in discrete time (5.4, 5.5): EP's temporal derivatives against RBP's, step by step.

With Euler steps of size eps, the nudged phase ``s_{k+1} = s_k - eps
dE^beta/ds(s_k)`` started at s0 and the discrete adjoint ``Sbar_{k+1} =
(I - eps H^T) Sbar_k``, ``Thetabar_{k+1} = Thetabar_k - eps M Sbar_k``
(``Thetabar_0 = C_theta``) satisfy

    Stilde_k = -(s_{k+1} - s_k) / (eps beta) = Sbar_k + O(beta)
    Thetatilde_k = (E^beta_theta(s_k) - E_theta(s0)) / beta = Thetabar_k + O(beta)

(Ernoult et al. 2019's 'gradient-descending updates'; docs/MATH.md section
7). With complex-step nudging, beta = i h, both EP sides are imaginary parts
divided by h: no O(beta) bias and no subtraction of two runs, so the identity
holds to float64 rounding. For ``h`` tiny the complex state ``a + i h u`` is
carried as the pair ``(a, u)``, a dual number: its force is ``dE/ds(a) + i h
(H(a) u + C_s(a))`` to float64 rounding, computed in one generated pass
(:meth:`~eqprop.numeric.array_network.ArrayNetwork.dual`); where ``h |u|``
outgrows :data:`DUAL_THRESHOLD` the run continues in complex128. A real beta
(0.01 by default) and the symmetric +-beta average are run beside it, so
that the difference shows. A vector field (no energy) reads EP's parameter
side off its linearization, ``M (s - s0) + beta C_theta``.

:func:`check_theorem3` runs them in lockstep with RBP and returns one row
per state block and parameter (:mod:`eqprop.proofs.scale_agreement` holds
the measures).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from eqprop.errors import EqpropError

from .scale_agreement import EPS64, _Agreement, normalized_error

__all__ = ["check_theorem3", "continuous_check", "DUAL_THRESHOLD"]

#: beyond this |h u| the dual form of a complex step drops terms float64 would see: complex128
DUAL_THRESHOLD = 1e-10


def _plus(a, b):
    return [x + y for x, y in zip(a, b)]


class _Readout:
    """EP's parameter side at a state: E^beta_theta (energy), or M (s - s0) + beta C_theta."""

    def __init__(self, net, s0, lin0):
        self.net, self.s0, self.lin0 = net, s0, lin0
        self.c_theta = net.dC_dtheta(s0)
        self.has_c = any(np.any(c) for c in self.c_theta)
        self.at_s0 = net.dE_dtheta(s0) if net.has_energy else None

    def real(self, s, beta, e_theta=None):
        """Thetatilde = (E^beta_theta(s) - E_theta(s0)) / beta at a real state and beta."""
        net = self.net
        if net.has_energy:
            e_theta = net.dE_dtheta(s) if e_theta is None else e_theta
            out = [(a - b) / beta for a, b in zip(e_theta, self.at_s0)]
        else:
            out = self.lin0.mv((s - self.s0) / beta)
        return _plus(out, net.dC_dtheta(s) if self.has_c and net.has_energy else self.c_theta) \
            if self.has_c else out

    def tangent(self, u, readout):
        """Thetatilde of the complex-step run: its tangent readout, plus C_theta."""
        out = readout if readout is not None else self.lin0.mv(u, factored=not self.has_c)
        return _plus(out, self.c_theta) if self.has_c else out


def _real_run(net, s0, beta, steps, eps, readout):
    """One nudged run with real beta; yields ``(Stilde_k, Thetatilde_{k+1}, u_{k+1})``."""
    s = s0.copy()
    if net.has_energy:
        g, cs, e_theta = net.step(s)
    else:
        g, cs, e_theta = net.dE_ds(s), net.dC_ds(s), None
    for _ in range(steps):
        step = -eps * (g + beta * cs)
        s_tilde = -step / (eps * beta)
        s = s + step
        if net.has_energy:
            g, cs, e_theta = net.step(s)
        else:
            g, cs = net.dE_ds(s), net.dC_ds(s)
        yield s_tilde, readout.real(s, beta, e_theta), (s - s0) / beta


def _complex_step_run(net, s0, h, steps, eps, readout, dual=True):
    """The nudged run with beta = i h; yields ``(Stilde_k, Thetatilde_{k+1}, u_{k+1})``.

    As a dual number ``(a, u)`` while ``h |u| <= DUAL_THRESHOLD`` (always,
    for h = 1e-20), else (or with ``dual=False``) in complex128.
    """
    factored = not readout.has_c
    a, u = s0.copy(), np.zeros_like(s0)
    k = 0
    if dual:
        g, t, cs, ro = net.dual(a, u, factored=factored)
        while k < steps:
            s_tilde = t + cs  # Im(dE/ds + i h dC/ds)/h at a + i h u
            a = a - eps * g
            u = u - eps * s_tilde
            k += 1
            if h * float(np.max(np.abs(u), initial=0.0)) > DUAL_THRESHOLD:
                break
            g, t, cs, ro = net.dual(a, u, factored=factored)
            yield s_tilde, readout.tangent(u, ro), u
        else:
            return
        s = a + 1j * h * u
        yield s_tilde, _complex_readout(net, s, h, readout), u
    else:
        s = s0.astype(complex)
    while k < steps:
        step = -eps * (net.dE_ds(s) + 1j * h * net.dC_ds(s))
        s_tilde = -step.imag / (h * eps)
        s = s + step
        k += 1
        yield s_tilde, _complex_readout(net, s, h, readout), s.imag / h


def _complex_readout(net, s, h, readout):
    """Im E^{ih}_theta(s) / h at a complex state (or the linearization for a vector field)."""
    if net.has_energy:
        out = [x.imag / h for x in net.dE_dtheta(s)]
        return _plus(out, [c.real for c in net.dC_dtheta(s)]) if readout.has_c else out
    return readout.tangent(s.imag / h, None)


def _rbp_steps(net, s0, steps, eps, lin0, c_theta, factored=True):
    """RBP's discrete adjoint; yields ``(Sbar_k, Thetabar_{k+1})``.

    ``Thetabar_{k+1} = C_theta - eps M (Sbar_0 + ... + Sbar_k)``: one product
    with M per step, no weight-sized accumulation.
    """
    sb = net.dC_ds(s0)
    partial = np.zeros_like(sb)
    has_c = any(np.any(c) for c in c_theta)
    for _ in range(steps):
        partial += sb
        tb = lin0.mv(-eps * partial, factored=factored and not has_c)
        yield sb, (_plus(tb, c_theta) if has_c else tb)
        sb = sb - eps * lin0.hv(sb, transpose=True)


def check_theorem3(net, s0, *, eps=0.5, steps=100, h=1e-20, beta=0.01, real=True):
    """Rows comparing EP's discrete temporal derivatives with RBP's, per state block and parameter.

    Every run advances in lockstep and only running sums are kept, so
    memory stays at a few copies of the state and the parameters whatever
    the number of steps. ``real=False`` skips the real-beta columns.
    """
    blocks, params = net.block_names, net.param_names
    quantities = blocks + params
    estimators = ("complex_step", "real_beta", "symmetric_beta") if real else ("complex_step",)
    stats = {(q, e): _Agreement() for q in quantities for e in estimators}
    lin0 = net.linearize(s0)
    readout = _Readout(net, s0, lin0)
    runs = [_complex_step_run(net, s0, h, steps, eps, readout)]
    if real:
        runs += [_real_run(net, s0, beta, steps, eps, readout),
                 _real_run(net, s0, -beta, steps, eps, readout)]

    def pieces(s_side, theta_side):
        out = {b: s_side[..., sl] for b, sl in zip(blocks, net.slices)}
        out.update(zip(params, theta_side))
        return out
    for (sb, tb), *ep_runs in zip(_rbp_steps(net, s0, steps, eps, lin0, readout.c_theta), *runs):
        rbp = pieces(sb, tb)
        ep = {"complex_step": pieces(*ep_runs[0][:2])}
        u = ep_runs[0][2]
        if real:
            plus, minus = ep_runs[1], ep_runs[2]
            ep["real_beta"] = pieces(*plus[:2])
            ep["symmetric_beta"] = pieces((plus[0] + minus[0]) / 2,
                                          [(a + b) / 2 for a, b in zip(plus[1], minus[1])])
        for e, parts in ep.items():
            for b, sl in zip(blocks, net.slices):
                stats[(b, e)].add(parts[b], rbp[b], u[..., sl] if e == "complex_step" else None)
            for p in params:
                stats[(p, e)].add(parts[p], rbp[p])
    rows = []
    for q in quantities:
        st = stats[(q, "complex_step")]
        defined = [v for v in st.steps if not np.isnan(v)] or [np.nan]
        lost = [v for v in st.lost if not np.isnan(v)]
        row = {"quantity": q, "complex_step": st.normalized, "testable": st.testable,
               "real_beta": stats[(q, "real_beta")].normalized if real else None,
               "symmetric_beta": stats[(q, "symmetric_beta")].normalized if real else None,
               "step_min": float(np.min(defined)), "step_median": float(np.median(defined)),
               "step_max": float(np.max(defined)),
               "digits_lost": float(max(0.0, max(lost))) if lost else 0.0,
               "per_step": {e: _series(stats[(q, e)].steps) for e in estimators}}
        if st.lost:  # states: the rounding bound EPS64 |u_{k+1}| / |Sbar_k| of each step
            row["per_step"]["rounding_bound"] = _series([EPS64 * 10 ** v for v in st.lost])
        rows.append(row)
    return rows


def _series(values):
    """A per-step series for the report: None where a step's relative error is undefined."""
    return [None if np.isnan(v) else float(v) for v in values]


def continuous_check(net, s0, *, T=5.0, points=21, h=1e-8, rtol=1e-12):
    """Theorem 3 in continuous time with DOP853: per-block normalized error on a time grid.

    The EP run is the complex-step nudged flow (beta = i h) written in the
    deviation from s0 with its imaginary part divided by h, so that the
    solver's error control sees the derivative at its own scale.
    """
    B, n = s0.shape
    ts = np.linspace(0, T, points)
    lin = net.linearize(s0)

    def rbp_rhs(_t, v):
        return -lin.hv(v.reshape(B, n), transpose=True).ravel()

    def ep_rhs(_t, w):
        # s = s0 + Re(w) + i h Im(w): the complex-step trajectory with its imaginary part
        # rescaled by 1/h, so the solver's error norm sees it at order one
        w = w.reshape(B, n)
        s = s0 + w.real + 1j * h * w.imag
        f = -(net.dE_ds(s) + 1j * h * net.dC_ds(s))
        return (f.real + 1j * f.imag / h).ravel()
    opts = dict(method="DOP853", t_eval=ts, rtol=rtol)
    cs0 = net.dC_ds(s0)
    c = float(np.max(np.abs(cs0))) or 1.0
    atol = rtol * c * 1e-6  # six orders below the solutions' scale (|C_s|)
    rbp = solve_ivp(rbp_rhs, (0, T), cs0.ravel(), atol=atol, **opts)
    ep = solve_ivp(ep_rhs, (0, T), np.zeros(B * n, dtype=complex), atol=atol, **opts)
    if not (rbp.success and ep.success):
        raise EqpropError(f"continuous check: DOP853 failed ({rbp.message}; {ep.message})")
    s_bar = [rbp.y[:, k].reshape(B, n) for k in range(points)]
    s_tilde = []
    for k in range(points):
        w = ep.y[:, k].reshape(B, n)
        s = s0 + w.real + 1j * h * w.imag
        s_tilde.append((net.dE_ds(s) + 1j * h * net.dC_ds(s)).imag / h)
    return [{"quantity": b,
             "complex_step": normalized_error([a[..., sl] for a in s_tilde], [x[..., sl] for x in s_bar])}
            for b, sl in zip(net.block_names, net.slices)]

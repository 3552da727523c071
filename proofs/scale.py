"""Theorem 3 at realistic size: discrete-time EP against RBP, for any array model.

With Euler steps of size eps, the nudged phase ``s_{k+1} = s_k - eps
dE^beta/ds(s_k)`` started at s0 and the discrete adjoint ``Sbar_{k+1} =
(I - eps H^T) Sbar_k``, ``Thetabar_{k+1} = Thetabar_k - eps M Sbar_k``
(``Thetabar_0 = C_theta``) satisfy

    Stilde_k = -(s_{k+1} - s_k) / (eps beta) = Sbar_k + O(beta)
    Thetatilde_k = (E^beta_theta(s_k) - E_theta(s0)) / beta = Thetabar_k + O(beta)

(Ernoult et al. 2019's 'gradient-descending updates'). With complex-step
nudging, beta = i h, both EP sides are imaginary parts divided by h: no
O(beta) bias and no subtraction of two runs, so the identity holds to
float64 rounding. For ``h`` tiny the complex state ``a + i h u`` is carried
as the pair ``(a, u)``, a dual number: its force is ``dE/ds(a) + i h (H(a) u
+ C_s(a))`` to float64 rounding, computed in one generated pass
(:meth:`~eqprop.numeric.array_network.ArrayNetwork.dual`); where ``h |u|``
outgrows :data:`DUAL_THRESHOLD` the run continues in complex128. A real beta
(0.01 by default) and the symmetric +-beta average are run beside it, so
that the difference shows.

A vector field (no energy) reads EP's parameter side off its linearization,
``M (s - s0) + beta C_theta``, as the high-precision path does.

The measure, per state block and per parameter, is Ernoult et al.'s
normalized error ``sqrt(sum_k |ep_k - rbp_k|^2 / max(sum_k |ep_k|^2, sum_k
|rbp_k|^2))``. The per-step relative error is also reported; it has a floor
that is physics, not a bug: EP reads ``Stilde_k = H u_k + C_s``, a small
difference of large terms once Sbar_k has decayed far below the accumulated
deviation u_k, so a float64 step keeps about ``16 - log10(|u_k| / |Sbar_k|)``
digits (the column ``digits lost``).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from eqprop.errors import EqpropError
from eqprop.numeric.batch_solve import free_phase, solve
from eqprop.symbolic.arrays import derive_arrays, generate

from .scale_agreement import EPS64, _Agreement, _flat, _rel, normalized_error
from .scale_arguments import (MAX_FLOPS, MAX_MEMORY, RBP_LIMIT_TIME, check_layers, check_options,
                              estimate)
from .scale_hypotheses import check_hypotheses, rbp_limit_steps
from .scale_network import build, check_activation, check_smooth, network, resolve
from .scale_report import ScaleReport

__all__ = ["check_theorem3", "implicit_gradient", "rbp_limit", "scale", "network", "ScaleReport",
           "normalized_error", "estimate", "DUAL_THRESHOLD"]

#: beyond this |h u| the dual form of a complex step drops terms float64 would see: complex128
DUAL_THRESHOLD = 1e-10


def _plus(a, b):
    return [x + y for x, y in zip(a, b)]


def implicit_gradient(net, s0, *, tol=1e-14, reached=False):
    """dJ/dtheta = C_theta - M H^-T C_s (paper 2.3): CG on H, then the mixed product.

    ``reached``: also return the names of the state blocks and parameters that
    RBP's error derivatives reach in the limit (H^-T C_s, resp. M H^-T C_s, not
    exactly zero there): a row of these that is zero for K steps was cut short.
    """
    lin = net.linearize(s0)
    z = solve(lin, net.dC_ds(s0), transpose=True, tol=tol)
    mz = lin.mv(z)
    grad = [c - m for c, m in zip(net.dC_dtheta(s0), mz)]
    if not reached:
        return grad
    names = [b for b, sl in zip(net.block_names, net.slices) if np.any(z[..., sl])]
    names += [p for p, m in zip(net.param_names, mz) if np.any(_flat([m]))]
    return grad, names


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


def rbp_limit(net, s0, *, eps, steps, tail=False):
    """Thetabar after ``steps`` RBP steps (the RBP estimate of dJ/dtheta).

    ``Thetabar_K = C_theta - eps M (Sbar_0 + ... + Sbar_{K-1})``. ``tail=True``
    also returns the part still to come, ``M H^-T Sbar_K``: ``Thetabar_K``
    minus it is the implicit-function gradient exactly, for every K (the sum
    of the geometric series).
    """
    lin = net.linearize(s0)
    sb = net.dC_ds(s0)
    total = np.zeros_like(sb)
    for _ in range(steps):
        total += sb
        sb = sb - eps * lin.hv(sb, transpose=True)
    theta = _plus(lin.mv(-eps * total), net.dC_dtheta(s0))
    if not tail:
        return theta
    return theta, lin.mv(solve(lin, sb, transpose=True))


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


def _initial_state(init, batch, n, seed):
    """The free phase's start: zeros, or a seeded standard normal state (``init='random'``)."""
    if init == "zeros":
        return np.zeros((batch, n))
    return np.random.default_rng([seed, 1]).standard_normal((batch, n))


def _diverged(free, model):
    """The one-line refusal when the free phase ran away for some examples."""
    bad = [i for i, st in enumerate(free.status) if st == "diverged"]
    size = float(np.max(np.abs(np.nan_to_num(free.s[bad], nan=np.inf))))
    where = (f"the state ran out of range, max|s| = {size:.1e}" if size > 0 else
             "the energy or its gradient became infinite or NaN")
    return EqpropError(
        f"scale: the free phase diverged for {len(bad)} of {len(free.status)} examples (example "
        f"{bad[0]}: {where}): {model.name} with these parameters has no minimum within reach; "
        "use a bounded activation (sigmoid, tanh, erf), smaller sizes, another --seed or "
        "--init random")


#: what ``scale`` takes only for the layered family built from ``layers``
_LAYERED = {"rho": "sigmoid", "cost": "squared", "asymmetry": 0.0, "plain_layers": (),
            "biases": False}


def scale(model=(10, 512, 512, 784), *, batch=None, data="random", rho="sigmoid", eps=None,
          steps=None, h=1e-20, beta=None, seed=None, cost="squared", continuous=False,
          asymmetry=0.0, init=None, plain_layers=(), biases=False, dims=None, backend="numpy",
          device=None, progress=None, max_memory=MAX_MEMORY, max_flops=MAX_FLOPS):
    """Run the realistic-size check end to end; returns a :class:`ScaleReport`.

    ``model`` is an :class:`~eqprop.symbolic.arrays.ArrayModel`, a model file
    declaring one, or the layer sizes ``[n_out, ..., n_in]`` of the layered
    Hopfield network (then ``rho``, ``cost``, ``biases``, ``asymmetry`` and
    ``plain_layers`` choose its variant). ``dims`` sets an array model's sizes
    (default: its ``[scale] dims``); ``batch``, ``eps``, ``steps``, ``beta``,
    ``init`` default to its ``[scale]`` table, else 128, 0.5, 100, 0.01,
    ``"zeros"``. ``backend`` is ``"numpy"`` or ``"torch"`` (``device`` "cpu"
    or "cuda").

    Free phase (:func:`~eqprop.numeric.batch_solve.free_phase`): relaxation
    with steps of at most ``eps``, each lowering every example's energy, then
    Newton-CG, to ``max|dE/ds| <= 1e-15`` or float64's floor; an example whose
    state runs away is refused (EqpropError). Then the hypotheses, per example
    (:mod:`~eqprop.proofs.scale_hypotheses`), :func:`check_theorem3` and the
    gradient comparison (implicit function theorem, EP limit by complex-step
    nudged fixed point, RBP limit run until its tail is below 1e-14).

    Every argument is checked before anything is allocated, and a run whose
    :func:`estimate` exceeds ``max_memory`` bytes (default 8 GiB) or
    ``max_flops`` (default 1e13) is refused with the estimate in the message.
    """
    say = progress or (lambda msg: None)
    is_layers = not isinstance(model, (str, bytes)) and hasattr(model, "__iter__") \
        and not hasattr(model, "specs")
    given = dict(rho=rho, cost=cost, asymmetry=asymmetry, plain_layers=plain_layers, biases=biases)
    if not is_layers:
        odd = [k for k, v in given.items() if v != _LAYERED[k] and not (k == "plain_layers" and not v)]
        if odd:
            raise EqpropError(f"scale: {odd[0]} applies to the layered network (--layers) only; "
                              "an array model writes its own energy and cost")
    elif dims:
        raise EqpropError("scale: dims applies to an array model; give the layer sizes instead")
    t0 = time.perf_counter()
    check_options(1, 0.5, 1, h, 0.01, seed or 0, cost, asymmetry, data)
    if is_layers:
        model = check_layers(model)
        check_activation(rho)
    options = dict(rho=rho, cost=cost, seed=seed or 0, asymmetry=asymmetry,
                   plain_layers=plain_layers, biases=biases)
    say("model: derivation and code generation")
    m = resolve(model, dims=dims, layered_options=options)
    defaults = {"batch": 128, "eps": 0.5, "steps": 100, "beta": 0.01, "init": "zeros"}
    chosen = {k: (v if v is not None else m.scale.get(k, defaults[k]))
              for k, v in (("batch", batch), ("eps", eps), ("steps", steps), ("beta", beta),
                           ("init", init))}
    if data == "random" and m.scale.get("data"):
        data = m.scale["data"]
    batch, steps, seed_used, eps, beta, h = check_options(
        chosen["batch"], chosen["eps"], chosen["steps"], h, chosen["beta"],
        m.seed if seed is None else seed, "squared", 0.0, data)
    init = chosen["init"]
    if init not in ("zeros", "random"):
        raise EqpropError(f"init: {str(init)[:40]!r}; choose zeros or random")
    if backend not in ("numpy", "torch"):
        raise EqpropError(f"backend: {str(backend)[:40]!r}; choose numpy or torch")
    check_smooth(m)
    program = generate(derive_arrays(m))
    mem, flops = estimate(program, batch, steps, eps, continuous)
    _check_budget(m, batch, steps, eps, mem, flops, max_memory, max_flops)
    seconds = {}
    try:
        built = build(m, batch=batch, data=data, seed=seed_used, backend=backend, device=device,
                      program=program)
    except ImportError as exc:
        raise EqpropError(f"backend: {exc}") from None
    net = built.net
    seconds["model"] = time.perf_counter() - t0
    with np.errstate(all="ignore"):  # overflow is detected and reported, not warned about
        say("free phase: relaxation and Newton-CG")
        t1 = time.perf_counter()
        free = free_phase(net, _initial_state(init, batch, net.n_free, seed_used), eps=eps)
        if "diverged" in free.status:
            raise _diverged(free, m)
        s0 = free.s
        residual = float(np.max(free.residual))
        seconds["free phase"] = time.perf_counter() - t1
        say("hypotheses: fixed point, strict minimum (Lanczos), stable step, gradient field")
        t1 = time.perf_counter()
        hyp = check_hypotheses(net, s0, free, eps=eps, seed=seed_used)
        seconds["hypotheses"] = time.perf_counter() - t1
        say(f"nudged phase ({steps} complex-step and real-beta steps) and RBP ({steps} steps)")
        t1 = time.perf_counter()
        rows = check_theorem3(net, s0, eps=eps, steps=steps, h=h, beta=beta)
        seconds["theorem 3"] = time.perf_counter() - t1
        say("gradients: implicit function theorem, EP limit, RBP limit")
        t2 = time.perf_counter()
        gradient, notes = _gradients(net, s0, hyp, eps=eps, h=h, beta=beta)
        seconds["gradients"] = time.perf_counter() - t2
        cont = []
        if continuous:
            say("continuous time: DOP853 for RBP and the complex-step nudged flow")
            t3 = time.perf_counter()
            cont = continuous_check(net, s0)
            seconds["continuous"] = time.perf_counter() - t3
    seconds["total"] = time.perf_counter() - t0
    return ScaleReport(layers=list(m.layers) if m.layers else None, batch=batch, data=data,
                       eps=eps, steps=steps, h=h, beta=beta, residual=residual, rows=rows,
                       gradient=gradient, continuous=cont, seconds=seconds, notes=notes,
                       hypotheses=hyp, init=init, model=m.name, dims=dict(m.dims),
                       n_state=m.n_state, n_params=m.n_params, backend=backend)


def _check_budget(m, batch, steps, eps, mem, flops, max_memory, max_flops):
    from .scale_arguments import _bytes, _sci
    shape = f"{m.name} at {', '.join(f'{k} = {v}' for k, v in m.dims.items()) or 'its sizes'}, " \
            f"batch {batch}, {steps} steps"
    if mem > max_memory:
        raise EqpropError(f"scale: {shape} would need about {_bytes(mem)} of memory, more than the "
                          f"{_bytes(max_memory)} limit; use smaller sizes (--layers or --shape), a "
                          "smaller batch (--batch) or fewer steps (--steps)")
    if flops > max_flops:
        step = (f", a larger --eps (the RBP limit takes {RBP_LIMIT_TIME:g} / eps steps)"
                if RBP_LIMIT_TIME / eps > steps else "")
        raise EqpropError(f"scale: {shape} would take about {_sci(flops)} floating-point operations, "
                          f"more than the {_sci(max_flops)} limit (hours of work); use fewer steps "
                          f"(--steps), smaller sizes (--layers or --shape){step} or a smaller batch "
                          "(--batch)")


def _gradients(net, s0, hyp, *, eps, h, beta):
    """dJ/dtheta three ways against the implicit-function gradient; returns ``(gradient, notes)``."""
    implicit, reached = implicit_gradient(net, s0, reached=True)
    lin0 = net.linearize(s0)
    readout = _Readout(net, s0, lin0)
    s_beta, _, _ = net.newton(s0.astype(complex), beta=1j * h, tol=1e-300, maxiter=4)
    ep_limit = _complex_readout(net, s_beta, h, readout)
    s_r, res_r, _ = net.newton(s0.copy(), beta=beta, tol=1e-12)
    real_limit = readout.real(s_r, beta)
    cap = int(np.ceil(RBP_LIMIT_TIME / eps))
    k_inf, rate, cut = rbp_limit_steps(hyp, eps, cap)
    notes, tail = [], 0.0
    if not _flat(implicit).any():  # dJ/dtheta is exactly zero: a relative difference means nothing
        notes.append("dJ/dtheta is exactly zero at s0 for this batch (the cost does not reach the "
                     "parameters through s0): the gradient lines compare nothing")
        return {"ep_vs_implicit": None, "rbp_vs_implicit": None, "real_beta_vs_implicit": None,
                "rbp_limit_steps": k_inf, "rbp_rate": rate, "rbp_tail": 0.0,
                "testable": False, "reached": reached}, notes
    real = _rel(real_limit, implicit)
    if not (np.isfinite(real) and res_r <= 1e-8):  # shown for comparison only, never a criterion
        notes.append(f"EP with real beta = {beta:g}: Newton found no nudged fixed point (residual "
                     f"{res_r:.1e}); that line is left out")
        real = None
    if cut:
        # RBP contracts, but too slowly to decay within the budget: compare Thetabar_K with
        # the implicit gradient plus the tail M H^-T Sbar_K still to come (exact for any K)
        theta_inf, rest = rbp_limit(net, s0, eps=eps, steps=k_inf, tail=True)
        tail = _rel(rest, implicit, size_only=True)
        theta_inf = [a - b for a, b in zip(theta_inf, rest)]
        notes.append(f"RBP limit cut at t = {RBP_LIMIT_TIME:g} ({cap} steps, rho = {rate:.6f}): "
                     f"the tail still to come, M H^-T Sbar_K, {tail:.1e} of the gradient, is "
                     "subtracted (a larger --eps decays sooner)")
    else:
        theta_inf = rbp_limit(net, s0, eps=eps, steps=k_inf)
    gradient = {"ep_vs_implicit": _rel(ep_limit, implicit), "rbp_vs_implicit": _rel(theta_inf, implicit),
                "real_beta_vs_implicit": real, "testable": True, "reached": reached,
                "rbp_limit_steps": k_inf, "rbp_rate": rate, "rbp_tail": tail}
    return gradient, notes

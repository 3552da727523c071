"""Theorem 3 at realistic size: discrete-time EP against RBP, layer by layer (issue 5).

With Euler steps of size eps, the nudged phase ``s_{k+1} = s_k - eps
dE^beta/ds(s_k)`` started at s0 and the discrete adjoint ``Sbar_{k+1} =
(I - eps H) Sbar_k``, ``Thetabar_{k+1} = Thetabar_k - eps M Sbar_k`` satisfy

    Stilde_k = -(s_{k+1} - s_k) / (eps beta) = Sbar_k + O(beta)
    Thetatilde_k = (E_theta(s_k) - E_theta(s0)) / beta = Thetabar_k + O(beta)

(Ernoult et al. 2019's 'gradient-descending updates'). With complex-step
nudging, beta = i h, both EP sides are imaginary parts divided by h: no
O(beta) bias and no subtraction of two runs, so the identity holds to
float64 rounding. A real beta (0.01 by default) is run beside it so that the
difference is visible.

The measure, per layer, is Ernoult et al.'s normalized error
``sqrt(sum_k |ep_k - rbp_k|^2 / max(sum_k |ep_k|^2, sum_k |rbp_k|^2))``.

The per-step relative error is also reported. It has a floor that is physics,
not a bug: the EP side is ``H u_k + C_s``, a small difference of large terms
once Sbar_k has decayed far below the accumulated deviation u_k. A float64
step therefore keeps only about ``16 - log10(|u_k| / |Sbar_k|)`` digits; the
column ``digits lost`` gives that estimate.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from eqprop.errors import EqpropError
from eqprop.numeric.data import load
from eqprop.numeric.layered import Workspace
from eqprop.numeric.layered_solve import free_phase, solve

# the pieces of the check, each in its own module; imported here by name as before
from .scale_agreement import EPS64, _Agreement, _rel, normalized_error
from .scale_arguments import MAX_FLOPS, MAX_MEMORY, RBP_LIMIT_TIME, _check_arguments, estimate
from .scale_hypotheses import check_hypotheses, rbp_limit_steps
from .scale_network import check_activation, network, network_from_model
from .scale_report import ScaleReport

__all__ = ["network", "network_from_model", "check_theorem3", "implicit_gradient", "rbp_limit",
           "scale", "ScaleReport", "normalized_error", "estimate"]


def implicit_gradient(net, s0, x, y, *, tol=1e-14):
    """dJ/dtheta = -M H^-1 C_s (C independent of theta): CG on H, then the mixed product."""
    lin = net.linearize(s0, x)
    z = solve(lin, net.dC_ds(s0, y), transpose=True, tol=tol)
    dW, db = lin.mv(z)
    return [-g for g in dW], [-g for g in db]


def _ep_steps(net, s0, x, y, beta, steps, eps, factored=False):
    """One nudged run from s0; yields, per step k, the EP sides and the deviation:

    ``(Stilde_k, (Thetatilde_{k+1} per W_l, per b_l), u_{k+1})`` with
    ``Stilde_k = -(s_{k+1} - s_k) / (eps beta)``, read as imaginary parts over
    h when beta = i h.
    """
    complex_step = np.iscomplexobj(beta)
    if complex_step:
        yield from _complex_step_run(net, s0, x, y, abs(beta), steps, eps, factored=factored)
        return
    th0 = net.dE_dtheta(s0, x)
    s = s0.copy()
    r = net.rates(s, x)
    for _ in range(steps):
        step = -eps * (net.dE_ds(s, x, r) + beta * net.dC_ds(s, y))
        s_tilde = -step / (eps * beta)
        s = s + step
        r = net.rates(s, x)  # shared by E_theta now and the gradient at the next step
        dW, db = net.dE_dtheta(s, x, r=r)
        theta = ([(a - b) / beta for a, b in zip(dW, th0[0])], [(a - b) / beta for a, b in zip(db, th0[1])])
        yield s_tilde, theta, (s - s0) / beta


def _complex_step_run(net, s0, x, y, h, steps, eps, split=True, factored=False):
    """The nudged run with beta = i h: Im(...) / h of the complex trajectory.

    While the imaginary parts stay within the dual-number range (always, for
    h = 1e-20), the state is held in the split form of
    :meth:`~eqprop.numeric.layered_fast.SplitForm.split_grad` (real and
    imaginary parts stacked, the same complex arithmetic without complex
    temporaries); otherwise, or with ``split=False``, as a complex128 array.
    Im E_theta(s0) = 0, so Thetatilde is Im E_theta(s_k) / h. ``factored``:
    the input layer's Thetatilde as a :class:`~eqprop.numeric.layered.Factored`
    (split form only).
    """
    B = s0.shape[0]
    out = net.slices[0]
    S = np.concatenate([s0, np.zeros_like(s0)])
    k = 0
    if split and net.split_ready(S):
        ws = Workspace()  # the yielded arrays are its buffers: valid until the next step
        R, D = net.split_rates(S, x, ws)
        while k < steps:
            G = net.split_grad(S, x, R, D, ws)
            c = net.dC_do(S[:B, out] + 1j * S[B:, out], y)
            G[:B, out] -= h * c.imag  # dE/ds + i h dC/ds
            G[B:, out] += h * c.real
            s_tilde = np.divide(G[B:], h, out=ws.buffer("s_tilde", (B, S.shape[1])))
            G *= eps
            S -= G
            k += 1
            if not net.split_ready(S):
                break
            R, D = net.split_rates(S, x, ws)
            yield (s_tilde, net.split_dE_dtheta_imag(R, 1 / h, ws, factored),
                   np.divide(S[B:], h, out=ws.buffer("u", (B, S.shape[1]))))
        else:
            return
        # the imaginary part outgrew the dual form: finish this step and the rest in complex128
        s = S[:B] + 1j * S[B:]
        dW, db = net.dE_dtheta(s, x, part="imag")
        yield s_tilde, ([a / h for a in dW], [a / h for a in db]), s.imag / h
    else:
        s = s0.astype(complex)
    r = net.rates(s, x)
    while k < steps:
        step = -eps * (net.dE_ds(s, x, r) + 1j * h * net.dC_ds(s, y))
        s_tilde = -step.imag / (h * eps)
        s = s + step
        k += 1
        r = net.rates(s, x)
        dW, db = net.dE_dtheta(s, x, part="imag", r=r)
        yield s_tilde, ([a / h for a in dW], [a / h for a in db]), s.imag / h


def _rbp_steps(net, s0, x, y, steps, eps, factored=False):
    """RBP's discrete adjoint; yields ``(Sbar_k, (Thetabar_{k+1} per W_l, per b_l))``.

    ``Thetabar_{k+1} = Thetabar_k - eps M Sbar_k`` with ``Thetabar_0 = 0`` is,
    M being linear, ``-eps M (Sbar_0 + ... + Sbar_k)``: one product per step
    and no weight-sized accumulation. The yielded arrays are buffers,
    overwritten at the next step: use them before. ``factored``: the input
    layer's Thetabar as a :class:`~eqprop.numeric.layered.Factored`.
    """
    lin = net.linearize(s0, x)  # H and M are fixed at s0: precompute once
    sb = net.dC_ds(s0, y)
    partial = np.zeros_like(sb)
    ws = Workspace()
    for _ in range(steps):
        partial += sb
        yield sb, lin.mv(-eps * partial, ws, factored)
        sb = sb - eps * lin.hv(sb, transpose=True, ws=ws)


def rbp_limit(net, s0, x, y, *, eps, steps, tail=False):
    """Thetabar after ``steps`` RBP steps (the RBP estimate of dJ/dtheta).

    ``Thetabar_K = -eps M (Sbar_0 + ... + Sbar_{K-1})``: K products with H^T
    and one with M at the end. ``tail=True`` also returns the part still to
    come, ``M H^-T Sbar_K``: ``Thetabar_K`` minus it is the implicit-function
    gradient exactly, for every K (the sum of the geometric series).
    """
    lin = net.linearize(s0, x)
    ws = Workspace()
    sb = net.dC_ds(s0, y)
    total = np.zeros_like(sb)
    for _ in range(steps):
        total += sb
        sb = sb - eps * lin.hv(sb, transpose=True, ws=ws)
    dW, db = lin.mv(-eps * total)
    if not tail:
        return list(dW), list(db)
    rest = lin.mv(solve(lin, sb, transpose=True))
    return (list(dW), list(db)), (list(rest[0]), list(rest[1]))


def check_theorem3(net, s0, x, y, *, eps=0.5, steps=100, h=1e-20, beta=0.01, real=True):
    """Per-layer rows comparing EP's discrete temporal derivatives with RBP's (see module doc).

    Every run advances in lockstep and only running sums are kept, so
    memory stays at a few copies of the state and the weights whatever the
    number of steps. ``real=False`` skips the real-beta columns.
    """
    quantities = [f"s{l}" for l in range(net.L)] + [f"W{l}{l + 1}" for l in range(net.L)]
    has_b = any(np.any(b) for b in net.b)
    if has_b:
        quantities += [f"b{l}" for l in range(net.L)]
    estimators = ("complex_step", "real_beta", "symmetric_beta") if real else ("complex_step",)
    stats = {(q, e): _Agreement() for q in quantities for e in estimators}
    runs = [_ep_steps(net, s0, x, y, 1j * h, steps, eps, factored=True)]
    if real:
        runs += [_ep_steps(net, s0, x, y, beta, steps, eps), _ep_steps(net, s0, x, y, -beta, steps, eps)]

    def pieces(s_side, theta_side):
        out = {f"s{l}": s_side[..., sl] for l, sl in enumerate(net.slices)}
        out.update({f"W{l}{l + 1}": theta_side[0][l] for l in range(net.L)})
        if has_b:
            out.update({f"b{l}": theta_side[1][l] for l in range(net.L)})
        return out
    for (sb, tb), *eps_runs in zip(_rbp_steps(net, s0, x, y, steps, eps, factored=True), *runs):
        rbp = pieces(sb, tb)
        ep = {"complex_step": pieces(*eps_runs[0][:2])}
        u = eps_runs[0][2]
        if real:
            plus, minus = eps_runs[1], eps_runs[2]
            ep["real_beta"] = pieces(*plus[:2])
            ep["symmetric_beta"] = pieces((plus[0] + minus[0]) / 2,
                                          ([(a + b) / 2 for a, b in zip(plus[1][0], minus[1][0])],
                                           [(a + b) / 2 for a, b in zip(plus[1][1], minus[1][1])]))
        for e, parts in ep.items():
            for q in quantities:
                uq = u[..., net.slices[int(q[1:])]] if (q.startswith("s") and e == "complex_step") else None
                stats[(q, e)].add(parts[q], rbp[q], uq)
    rows = []
    for q in quantities:
        st = stats[(q, "complex_step")]
        defined = [v for v in st.steps if not np.isnan(v)] or [np.nan]
        lost = [v for v in st.lost if not np.isnan(v)]
        row = {"quantity": q, "complex_step": st.normalized,
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


def continuous_check(net, s0, x, y, *, T=5.0, points=21, h=1e-8, rtol=1e-12):
    """Theorem 3 in continuous time with DOP853: per-layer normalized error on a time grid.

    The EP run is the complex-step nudged flow (beta = i h) written in the
    deviation from s0 with its imaginary part divided by h, so that the
    solver's error control sees the derivative at its own scale.
    """
    B, n = s0.shape
    ts = np.linspace(0, T, points)

    lin = net.linearize(s0, x)

    def rbp_rhs(_t, v):
        return -lin.hv(v.reshape(B, n), transpose=True).ravel()

    def ep_rhs(_t, w):
        # the state is s = s0 + Re(w) + i h Im(w): the complex-step trajectory with its
        # imaginary part rescaled by 1/h, so the solver's error norm sees it at order one
        w = w.reshape(B, n)
        s = s0 + w.real + 1j * h * w.imag
        f = -(net.dE_ds(s, x) + 1j * h * net.dC_ds(s, y))
        return (f.real + 1j * f.imag / h).ravel()
    opts = dict(method="DOP853", t_eval=ts, rtol=rtol)
    c = float(np.max(np.abs(net.dC_ds(s0, y)))) or 1.0
    atol = rtol * c * 1e-6  # six orders below the solutions' scale (|C_s|)
    rbp = solve_ivp(rbp_rhs, (0, T), net.dC_ds(s0, y).ravel(), atol=atol, **opts)
    ep = solve_ivp(ep_rhs, (0, T), np.zeros(B * n, dtype=complex), atol=atol, **opts)
    if not (rbp.success and ep.success):
        raise EqpropError(f"continuous check: DOP853 failed ({rbp.message}; {ep.message})")
    s_bar = [rbp.y[:, k].reshape(B, n) for k in range(points)]
    s_tilde = []
    for k in range(points):
        w = ep.y[:, k].reshape(B, n)
        s = s0 + w.real + 1j * h * w.imag
        s_tilde.append((net.dE_ds(s, x) + 1j * h * net.dC_ds(s, y)).imag / h)
    return [{"quantity": f"s{l}",
             "complex_step": normalized_error([a[..., sl] for a in s_tilde], [b[..., sl] for b in s_bar])}
            for l, sl in enumerate(net.slices)]


def _initial_state(init, batch, n, seed):
    """The free phase's start: zeros, or a seeded standard normal state (``init='random'``)."""
    if init == "zeros":
        return np.zeros((batch, n))
    return np.random.default_rng([seed, 1]).standard_normal((batch, n))


def _diverged(free, net, rho):
    """The one-line refusal when the free phase ran away for some examples."""
    bad = [i for i, st in enumerate(free.status) if st == "diverged"]
    size = float(np.max(np.abs(np.nan_to_num(free.s[bad], nan=np.inf))))
    where = (f"the state ran out of range, max|s| = {size:.1e}" if size > 0 else
             "the energy or its gradient became infinite or NaN")
    return EqpropError(
        f"scale: the free phase diverged for {len(bad)} of {len(free.status)} examples (example "
        f"{bad[0]}: {where}): the energy with rho = "
        f"{net.rho.name} and these weights has no minimum within reach; use a bounded activation "
        "(sigmoid, tanh, erf), smaller --layers, another --seed or --init random")


def scale(layers=(10, 512, 512, 784), *, batch=128, data="random", rho="sigmoid", eps=0.5,
          steps=100, h=1e-20, beta=0.01, seed=0, cost="squared", continuous=False,
          asymmetry=0.0, init="zeros", plain_layers=(), progress=None, max_memory=MAX_MEMORY,
          max_flops=MAX_FLOPS):
    """Run the realistic-size check end to end; returns a :class:`ScaleReport`.

    Free phase (:func:`~eqprop.numeric.layered_solve.free_phase`): relaxation
    with steps of at most ``eps``, each lowering every example's energy,
    then Newton-CG with a line search, to ``max|dE/ds| <= 1e-15`` or
    float64's floor; an example whose state runs away is refused
    (EqpropError). Then the hypotheses, per example
    (:mod:`~eqprop.proofs.scale_hypotheses`), :func:`check_theorem3` and the
    gradient comparison (implicit function theorem, EP limit by complex-step
    nudged fixed point, RBP limit run until its tail is below 1e-14).

    ``init``: the free phase's start, ``"zeros"`` or ``"random"``.
    ``plain_layers``: free layers whose update lacks rho' (a non-gradient
    control, see :class:`~eqprop.numeric.layered.LayeredNetwork`).

    Every argument is checked before anything is allocated, and a run whose
    :func:`estimate` exceeds ``max_memory`` bytes (default 8 GiB) or
    ``max_flops`` (default 1e13) is refused with the estimate in the message.
    """
    say = progress or (lambda msg: None)
    layers, batch, steps, seed, eps, beta, h = _check_arguments(
        layers, batch, eps, steps, h, beta, seed, cost, continuous, asymmetry, data, max_memory,
        max_flops)
    if init not in ("zeros", "random"):
        raise EqpropError(f"init: {str(init)[:40]!r}; choose zeros or random")
    seconds = {}
    t0 = time.perf_counter()
    try:
        with np.errstate(all="ignore"):  # a value out of range is found and refused, not warned
            net = network(layers, rho=rho, seed=seed, cost=cost, asymmetry=asymmetry,
                          plain_layers=plain_layers)
            check_activation(net, rho)
    except OverflowError:  # a number of rho beyond float64 ('1e999*z'), met when it is evaluated
        raise EqpropError(f"rho: {str(rho)[:60]!r} overflows float64 (its numbers or values pass "
                          "1e308); the layered network computes in float64: use an activation "
                          "whose values stay within range, such as sigmoid or tanh") from None
    x, y = load(data, n_in=net.sizes[-1], n_out=net.sizes[0], batch=batch, seed=seed)
    x, y = net.check_data(x, y)
    with np.errstate(all="ignore"):  # overflow is detected and reported, not warned about
        say("free phase: relaxation and Newton-CG")
        free = free_phase(net, x, _initial_state(init, batch, net.n_free, seed), eps=eps)
        if "diverged" in free.status:
            raise _diverged(free, net, rho)
        s0 = free.s
        residual = float(np.max(free.residual))
        seconds["free phase"] = time.perf_counter() - t0
        say("hypotheses: fixed point, strict minimum (Lanczos), stable step, gradient field")
        t1 = time.perf_counter()
        hyp = check_hypotheses(net, s0, x, free, eps=eps, seed=seed)
        seconds["hypotheses"] = time.perf_counter() - t1
        say(f"nudged phase ({steps} complex-step and real-beta steps) and RBP ({steps} steps)")
        t1 = time.perf_counter()
        rows = check_theorem3(net, s0, x, y, eps=eps, steps=steps, h=h, beta=beta)
        seconds["theorem 3"] = time.perf_counter() - t1
        say("gradients: implicit function theorem, EP limit, RBP limit")
        t2 = time.perf_counter()
        gradient, notes = _gradients(net, s0, x, y, hyp, eps=eps, h=h, beta=beta)
        seconds["gradients"] = time.perf_counter() - t2
        cont = []
        if continuous:
            say("continuous time: DOP853 for RBP and the complex-step nudged flow")
            t3 = time.perf_counter()
            cont = continuous_check(net, s0, x, y)
            seconds["continuous"] = time.perf_counter() - t3
    seconds["total"] = time.perf_counter() - t0
    return ScaleReport(layers=list(net.sizes), batch=batch, data=data, eps=eps, steps=steps, h=h,
                       beta=beta, residual=residual, rows=rows, gradient=gradient, continuous=cont,
                       seconds=seconds, notes=notes, hypotheses=hyp, init=init)


def _gradients(net, s0, x, y, hyp, *, eps, h, beta):
    """dJ/dtheta three ways against the implicit-function gradient; returns ``(gradient, notes)``."""
    implicit = implicit_gradient(net, s0, x, y)
    s_beta, _, _ = net.newton(s0.astype(complex), x, y, beta=1j * h, tol=1e-300, maxiter=4)
    dW, db = net.dE_dtheta(s_beta, x)
    ep_limit = ([a.imag / h for a in dW], [a.imag / h for a in db])
    s_r, res_r, _ = net.newton(s0.copy(), x, y, beta=beta, tol=1e-12)
    th0, thb = net.dE_dtheta(s0, x), net.dE_dtheta(s_r, x)
    real_limit = ([(a - b) / beta for a, b in zip(thb[0], th0[0])],
                  [(a - b) / beta for a, b in zip(thb[1], th0[1])])
    cap = int(np.ceil(RBP_LIMIT_TIME / eps))
    k_inf, rate, cut = rbp_limit_steps(hyp, eps, cap)
    notes, tail = [], 0.0
    real = _rel(real_limit, implicit)
    if not (np.isfinite(real) and res_r <= 1e-8):  # shown for comparison only, never a criterion
        notes.append(f"EP with real beta = {beta:g}: Newton found no nudged fixed point (residual "
                     f"{res_r:.1e}); that line is left out")
        real = None
    if cut:
        # RBP contracts, but too slowly to decay within the budget: compare Thetabar_K with
        # the implicit gradient plus the tail M H^-T Sbar_K still to come (exact for any K)
        theta_inf, rest = rbp_limit(net, s0, x, y, eps=eps, steps=k_inf, tail=True)
        tail = _rel(rest, implicit, size_only=True)
        theta_inf = ([a - b for a, b in zip(theta_inf[0], rest[0])],
                     [a - b for a, b in zip(theta_inf[1], rest[1])])
        notes.append(f"RBP limit cut at t = {RBP_LIMIT_TIME:g} ({cap} steps, rho = {rate:.6f}): "
                     f"the tail still to come, M H^-T Sbar_K, {tail:.1e} of the gradient, is "
                     "subtracted (a larger --eps decays sooner)")
    else:
        theta_inf = rbp_limit(net, s0, x, y, eps=eps, steps=k_inf)
    gradient = {"ep_vs_implicit": _rel(ep_limit, implicit), "rbp_vs_implicit": _rel(theta_inf, implicit),
                "real_beta_vs_implicit": real,
                "rbp_limit_steps": k_inf, "rbp_rate": rate, "rbp_tail": tail}
    return gradient, notes

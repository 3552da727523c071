"""Notebook 4: Theorem 3 watched in time; truncated RBP is early-stopped EP."""

from .cells import code, exercise, md, solution

NAME = "4_theorem3.ipynb"
TITLE = "4. Theorem 3 in time: truncated RBP is early-stopped EP"

CELLS = [
    md(r"""
    # 4. Theorem 3 in time: truncated RBP is early-stopped EP

    *Notebook 4 of 7 of the course unit on Scellier & Bengio (2019). Runs offline in a few
    seconds; public API of `eqprop` only.*

    **You will learn:** the central result of the paper: while the nudged phase of EP is
    still *moving*, the velocity of every neuron is RBP's error signal at the same moment,
    and the change of every Hebbian readout is RBP's partial gradient. Stopping EP early is
    therefore exactly truncated RBP.
    """),
    md(r"""
    ## EP's temporal derivatives

    Start the nudged phase $ds/dt = -E_s - \beta C_s$ at the free fixed point $s_0$ and call
    its trajectory $S^\beta_t$. At $\beta = 0$ nothing moves; for small $\beta$ the network
    drifts slowly towards $s^\beta$. Measure that drift per unit of $\beta$
    (paper, section 5):
    $$\tilde S_t = -\lim_{\beta\to 0}\frac1\beta \frac{dS^\beta_t}{dt}
        = \frac{\partial}{\partial\beta}\Big|_{\beta=0} E^\beta_s\big(S^\beta_t\big),
    \qquad
    \tilde\Theta_t = \frac{\partial}{\partial\beta}\Big|_{\beta=0} E^\beta_\theta\big(S^\beta_t\big).$$
    $\tilde S_t$ is (minus) the neurons' velocity, $\tilde\Theta_t$ the change of the Hebbian
    readouts since the start, both per unit of nudging.

    **Theorem 3 (paper 5.4, 5.5).** For every $t \ge 0$: $\quad\tilde S_t = \bar S_t$ and
    $\tilde\Theta_t = \bar\Theta_t$, RBP's error derivatives of notebook 2.

    *Proof sketch.* Let $u(t) = \partial_\beta S^\beta_t\,|_{\beta=0}$ be the first-order
    response of the trajectory to the nudge; $u(0) = 0$ because every trajectory starts at
    $s_0$. Differentiating the nudged ODE in $\beta$ along the unperturbed trajectory (which
    sits still at $s_0$) gives the linear equation $\dot u = -H u - C_s$. Differentiating
    $E^\beta_s(S^\beta_t)$ in $\beta$ gives $\tilde S_t = H u(t) + C_s$, so
    $$\dot{\tilde S}_t = H\dot u = -H\,(H u + C_s) = -H\tilde S_t, \qquad \tilde S_0 = C_s .$$
    This is the equation and the initial value of $\bar S_t$ in Theorem 1, and a linear ODE
    has only one solution: $\tilde S_t = \bar S_t$. In the same way
    $\tilde\Theta_t = M u(t) + C_\theta$, so $\dot{\tilde\Theta}_t = M\dot u = -M\tilde S_t$
    and $\tilde\Theta_0 = C_\theta$, which is Theorem 1's equation for $\bar\Theta_t$.

    *Where the proof uses that $E$ is an energy.* RBP's equation is really
    $\dot{\bar S} = -H^{\top}\bar S$ (the adjoint), EP's is $\dot{\tilde S} = -H\tilde S$.
    They coincide because a Hessian is symmetric; notebook 5 breaks exactly this.

    **Corollary (early stopping).** Stopping the nudged phase at time $t$ gives
    $\tilde\Theta_t = \bar\Theta_t$, truncated RBP, whose error to $dJ/d\theta$ is
    $M H^{-1} e^{-tH} C_s$ and decays like $e^{-\lambda_1 t}$; the limit $t \to \infty$ is
    Theorem 2.
    """),
    md(r"""
    ## Watched in time

    `eqprop.verify` computes both sides on a time grid: $\bar S_t$, $\bar\Theta_t$ by
    integrating RBP's side network, and $\tilde S_t$, $\tilde\Theta_t$ from **one** nonlinear
    nudged trajectory with $\beta = ih$ (the complex step of notebook 3: the limit
    $\beta \to 0$ with no bias and no cancellation). The report keeps the time series;
    `eqprop.figures` draws them: RBP as lines, EP as circles.
    """),
    code(r"""
    import mpmath
    import numpy as np
    import matplotlib.pyplot as plt

    import eqprop
    from eqprop.figures import theorem3_params, theorem3_states, truncation

    times = [k / 2 for k in range(31)]                          # t = 0, 0.5, ..., 15
    report = eqprop.verify("paper", dps=15, engine="gbs", times=times)
    print(report.verdict.value)
    theorem3_states(report);
    """, figures=1),
    code(r"""
    theorem3_params(report);
    """, figures=1),
    md(r"""
    The largest gap between the two sides over the whole grid, read from the report's series
    (`report.series` holds them, time first; numbers at the working precision):
    """),
    code(r"""
    def largest_gap(rbp_side, ep_side):
        return max(abs(a - b) for rows in zip(report.series[rbp_side], report.series[ep_side])
                   for a, b in zip(*rows))


    print("max |Sbar - Stilde|         =", mpmath.nstr(largest_gap("s_bar", "s_tilde"), 3))
    print("max |Thetabar - Thetatilde| =", mpmath.nstr(largest_gap("theta_bar", "theta_tilde"), 3))
    series = {k: np.array([[float(v) for v in row] for row in rows]) for k, rows in report.series.items()}
    print("fewest digits, rows T3.S and T3.Theta:",
          min(c.digits for c in report.checks if c.id.startswith("T3")))
    """),
    md(r"""
    ## Early stopping: the gradient error decays like $e^{-\lambda_1 t}$

    The figure plots $\max_k|\bar\Theta_t - dJ/d\theta|_k$ against $t$ (it is the same for
    $\tilde\Theta_t$, by the theorem) beside the decay $e^{-\lambda_1 t}$ predicted from the
    smallest eigenvalue of $H(s_0)$.
    """),
    code(r"""
    truncation(report);
    """, figures=1),
    md(r"""
    ## The EP side by hand

    The same $\tilde S_t$ from the public building blocks: a nudged trajectory with
    $\beta = ih$ by `System.flow`, then $\operatorname{Im} E^\beta_s(S^\beta_t)/h$; RBP's side
    from `adjoint_flow`. At 20 digits. Watch the gap *relative* to $|\bar S_t|$ grow as
    $\bar S_t$ decays: EP reads $\tilde S_t$ as $Hu(t) + C_s$, a small difference of two
    large terms once the network has drifted, so each digit that $\bar S_t$ loses to the
    decay is a digit lost by that subtraction (a property of reading error signals as
    velocities, not of the complex step).
    """),
    code(r"""
    from eqprop.numeric import System, adjoint_flow, newton

    mpmath.mp.dps = 20
    model = eqprop.load_model("paper")
    compiled = eqprop.compile_model(eqprop.derive(model))
    system = System(compiled, *model.values())
    s0, _, _ = newton(system, [mpmath.mpf(v) for v in report.s_free])      # the report's s0, refined to 20 digits
    H, M = system.d2Ebeta_ds2(s0), system.d2E_dtheta_ds(s0)

    h = mpmath.mpf(10) ** -40
    grid = [mpmath.mpf(t) for t in (0.5, 2, 5)]
    nudged = system.flow(s0, grid, tol=mpmath.mpf(10) ** -20, beta=mpmath.mpc(0, h)).states
    rbp = adjoint_flow(H, M, system.dC_ds(s0), system.dC_dtheta(s0), grid, tol=mpmath.mpf(10) ** -20).states
    for t, s_nudged, (s_bar, _) in zip(grid, nudged, rbp):
        s_tilde = [mpmath.im(v) / h for v in system.dEbeta_ds(s_nudged, beta=mpmath.mpc(0, h))]
        gap = max(abs(a - b) for a, b in zip(s_tilde, s_bar))
        print(f"t = {float(t):<4}  max|Stilde - Sbar| = {mpmath.nstr(gap, 3):<9} (|Sbar| = {mpmath.nstr(max(abs(v) for v in s_bar), 3)})")
    """),
    exercise(1, r"""
    **How long must EP run?** From $\lambda_1$ (`report.hessian_min_eigenvalue`) and the
    measured error at $t = 5$, predict the time after which the early-stopped gradient
    $\tilde\Theta_t$ is within $10^{-6}$ of $dJ/d\theta$ (relative to its largest entry):
    $t^* \approx 5 + \ln\!\big(\text{err}(5)/10^{-6}\big)/\lambda_1$. Check it against the
    first grid time at which the measured error is below $10^{-6}$.
    """),
    solution(r"""
    dJ = np.array([float(v) for v in report.dJ_dtheta["implicit"]])
    err = np.abs(series["theta_tilde"] - dJ).max(axis=1) / np.abs(dJ).max()
    t_grid = np.array(report.times, float)
    lam1 = float(report.hessian_min_eigenvalue)
    predicted = 5 + np.log(err[t_grid == 5][0] / 1e-6) / lam1
    measured = t_grid[np.argmax(err < 1e-6)]
    print(f"lambda_1 = {lam1:.4f}: predicted t* = {predicted:.2f}, measured {measured}")
    assert err.min() < 1e-6 and abs(predicted - measured) < 1
    print("check passed")
    """, r"""
    The prediction is within one grid step (0.5) of the measurement. Past a few time units
    only the slowest mode of $e^{-tH}$ remains, so every further digit of the gradient costs
    the same time, $\ln 10/\lambda_1 \approx 2.6$. A network with a small $\lambda_1$ (a
    flat minimum) needs long nudged phases, for EP and RBP alike.
    """),
    exercise(2, r"""
    **Break Theorem 3 with a saddle.** In the two-neuron network of notebook 1 with $x = 0$,
    $s = (0, 0)$ is always a fixed point and $H(0) = \begin{pmatrix}1 & -w\\ -w & 1\end{pmatrix}$,
    with eigenvalues $1 \pm w$. Find a weight for which $H(s_0)$ stops being positive
    definite. Then compare, for $w = 0.5$ and for your $w$, RBP's $\bar S_t$ with EP's
    temporal derivative measured at a real $\beta = 10^{-3}$ (what a physical network can
    do): $E^\beta_s(S^\beta_t)/\beta$. What does `eqprop.verify` say?
    """),
    solution(r"""
    from fractions import Fraction
    from eqprop.numeric import adjoint_closed_form

    two = eqprop.load_model("two-neurons")
    two_compiled = eqprop.compile_model(eqprop.derive(two))
    beta, t_grid = mpmath.mpf("1e-3"), [mpmath.mpf(t) / 2 for t in range(41)]


    def relative_gap(w):
        net = System(two_compiled, (Fraction(w),), (Fraction(0), Fraction(1, 5)))   # x = 0, y = 0.2
        origin = [mpmath.mpf(0), mpmath.mpf(0)]
        H0, M0 = net.d2Ebeta_ds2(origin), net.d2E_dtheta_ds(origin)
        path = net.flow(origin, t_grid, tol=mpmath.mpf(10) ** -18, beta=beta).states
        gaps = []
        for t, s in zip(t_grid, path):
            s_tilde = [v / beta for v in net.dEbeta_ds(s, beta=beta)]
            s_bar, _ = adjoint_closed_form(H0, M0, net.dC_ds(origin), net.dC_dtheta(origin), t)
            gaps.append(float(max(abs(a - b) for a, b in zip(s_tilde, s_bar)) / max(abs(v) for v in s_bar)))
        return min(mpmath.eigsy(H0)[0]), np.array(gaps)


    fig, ax = plt.subplots(figsize=(6, 3.5))
    for w in ("0.5", "1.5"):
        lam, gaps = relative_gap(w)
        ax.semilogy(np.array(t_grid, float)[1:], gaps[1:], label=rf"$w$ = {w}, $\lambda_1$ = {float(lam):g}")
        print(f"w = {w}: lambda_1 = {float(lam):g}, relative gap at t = 5: {gaps[10]:.1e}, at t = 20: {gaps[-1]:.2f}")
        if w == "0.5":
            assert lam > 0 and gaps.max() < 0.02
        else:
            assert lam < 0 and gaps[-1] > 0.5
    ax.set(xlabel="time $t$", ylabel=r"$|\tilde S^\beta_t - \bar S_t| / |\bar S_t|$",
           title=r"EP at $\beta = 10^{-3}$ against RBP")
    ax.legend()
    plt.tight_layout()

    saddle = eqprop.Model(energy=two.energy, cost=two.cost, state=two.state,
                          params={"w": "1.5"}, data={"x": "0", "y": "0.2"}, name="two neurons at a saddle")
    verdict = eqprop.verify(saddle, dps=15, engine="gbs", times=[0, 1, 2], initial_state=[0, 0]).verdict
    print(verdict.value)
    assert verdict is eqprop.Verdict.ASSUMPTION_VIOLATED
    print("check passed")
    """, r"""
    Any $w > 1$ makes $\lambda_1 = 1 - w$ negative: the origin becomes a saddle. At $w = 0.5$
    the real-$\beta$ measurement stays within about 1% of RBP for the whole run (the
    expected $O(\beta)$ bias). At $w = 1.5$ it agrees at first, then the gap grows until it
    is of order one: the nudge pushes the state along the unstable direction, the state
    slides away towards a minimum, and the first-order picture ($u(t)$, linear in $\beta$) no
    longer describes the network. RBP's $\bar S_t = e^{-tH}C_s$ grows without bound, so
    neither side has a limit, and there is no gradient to stop early at. The linear
    identity $\tilde S_t = \bar S_t$ is still true *at first order in* $\beta$, which a
    complex step would show; what the saddle removes is every reason to care. `verify`
    refuses to call anything verified: *assumption violated*.
    """, figures=1),
    exercise(3, r"""
    **The bias of a real $\beta$ in time.** For the paper's network, measure
    $E^\beta_s(S^\beta_t)/\beta$ at $t = 2$ with real $\beta = 10^{-2}$ and $10^{-3}$, and
    compare each with RBP's $\bar S_2$ (the `rbp` list above, `rbp[1]`). By how much does
    the gap shrink when $\beta$ shrinks tenfold?
    """),
    solution(r"""
    gaps = []
    for beta in (mpmath.mpf("1e-2"), mpmath.mpf("1e-3")):
        s_t = system.flow(s0, [mpmath.mpf(2)], tol=mpmath.mpf(10) ** -20, beta=beta).states[-1]
        s_tilde = [v / beta for v in system.dEbeta_ds(s_t, beta=beta)]
        gaps.append(max(abs(a - b) for a, b in zip(s_tilde, rbp[1][0])))
        print(f"beta = {mpmath.nstr(beta, 1)}: max|Stilde - Sbar| = {mpmath.nstr(gaps[-1], 3)}")
    ratio = gaps[0] / gaps[1]
    print("ratio:", mpmath.nstr(ratio, 4))
    assert 8 < ratio < 12
    print("check passed")
    """, r"""
    The gap shrinks by a factor of about 10: the error of a real nudge is $O(\beta)$, the
    second-order term of $S^\beta_t$ in $\beta$. A physical network must choose $\beta$
    between this bias and the noise of measuring a tiny drift; the complex step used by the
    toolkit has neither problem, so it can test the *identity* itself.
    """),
    md(r"""
    **Next:** notebook 5 writes its own energy, then leaves energies altogether, and finds
    the one place where the proof above needs them.
    """),
]

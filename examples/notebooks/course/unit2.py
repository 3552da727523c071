"""Notebook 2: recurrent backpropagation as an adjoint ODE."""

from .cells import FREE_PHASE, code, exercise, md, solution

NAME = "2_recurrent_backprop.ipynb"
TITLE = "2. Recurrent backpropagation: the projected cost and an adjoint ODE"

CELLS = [
    md(r"""
    # 2. Recurrent backpropagation: the projected cost and an adjoint ODE

    *Notebook 2 of 7 of the course unit on Scellier & Bengio (2019). Runs offline in a few
    seconds; public API of `eqprop` only.*

    **You will learn:** why the gradient of the cost at rest is
    $C_\theta - M H^{-1} C_s$; how recurrent backpropagation (RBP) computes it *without*
    solving a linear system, by running a linear "side network" forward in time; and the
    equation behind that, a Kolmogorov backward equation for the projected cost.
    """),
    md(r"""
    ## The gradient we are after

    Learning wants $\dfrac{dJ}{d\theta}$, where $J(\theta) = C(\theta, s_0(\theta))$ and
    $s_0(\theta)$ is the free fixed point of notebook 1. The fixed point moves with
    $\theta$; how it moves follows from differentiating its defining equation
    $E_s(\theta, s_0(\theta)) = 0$ with respect to $\theta$:
    $$H \,\frac{\partial s_0}{\partial\theta} + M^{\top} = 0
    \quad\Longrightarrow\quad
    \frac{\partial s_0}{\partial\theta} = -H^{-1} M^{\top},
    \qquad
    \frac{dJ}{d\theta} = C_\theta - M H^{-1} C_s .$$
    ($H$ is invertible at a strict minimum.) This is the **implicit-function gradient**. It
    needs a linear solve with $H$, a global operation a network of neurons cannot do.
    RBP replaces the solve by a *dynamics*.
    """),
    md(r"""
    ## The projected cost

    Let $S^0(s, t)$ be the state reached after running the free phase for a time $t$ from
    $s$ (the **flow**). The **projected cost** looks a time $t$ into the future:
    $$L(s, t) = C\big(S^0(s, t)\big), \qquad L(s, 0) = C(s), \qquad L(s_0, t) = J \text{ for all } t .$$

    **Lemma (Kolmogorov backward equation, paper A.3).** For every state $s$ and time $t$,
    $$\frac{\partial L}{\partial t}(s, t) = -E_s(s) \cdot \frac{\partial L}{\partial s}(s, t).$$

    *Proof sketch.* The flow can be cut anywhere: running for $\tau$, then for $t$, is the
    same as running for $t + \tau$. So $L\big(S^0(s, \tau), t\big) = L(s, t + \tau)$ for all
    $\tau$. Differentiate both sides at $\tau = 0$. On the right this gives
    $\partial_t L(s, t)$. On the left, the chain rule gives $\partial_s L(s, t)$ dotted with
    the initial velocity of the flow, which is $-E_s(s)$.

    **Error derivatives (paper 3.3).** At the fixed point, define
    $$\bar S_t = \frac{\partial L}{\partial s}(s_0, t), \qquad \bar\Theta_t = \frac{\partial L}{\partial\theta}(s_0, t),$$
    where for $\bar\Theta_t$ the starting point is held at $s_0$ while $\theta$ changes the
    flow and the cost.

    **Theorem 1 (paper 3.5-3.8).** $(\bar S_t, \bar\Theta_t)$ solves a linear ODE with constant
    coefficients, RBP's **side network**:
    $$\bar S_0 = C_s,\quad \bar\Theta_0 = C_\theta,\qquad
    \frac{d\bar S_t}{dt} = -H \bar S_t,\quad \frac{d\bar\Theta_t}{dt} = -M \bar S_t .$$

    *Proof sketch.* The initial values come from $L(s, 0) = C(s)$. Differentiate the
    Kolmogorov equation with respect to $s$:
    $\partial_t \partial_s L = -H(s)\,\partial_s L - \partial_s^2 L \; E_s(s)$. At $s = s_0$
    the force $E_s$ vanishes, so the second term drops and what is left is
    $\dot{\bar S}_t = -H\bar S_t$. The equation holds for every $\theta$, so it can also be
    differentiated with respect to $\theta$; at $s_0$ the same term drops and
    $\dot{\bar\Theta}_t = -M\bar S_t$ remains.

    **Corollary (RBP converges to the gradient).** With constant coefficients the ODE solves
    in closed form, $\bar S_t = e^{-tH}C_s$ and
    $\bar\Theta_t = C_\theta - M H^{-1}(I - e^{-tH})C_s$. When $H$ is positive definite,
    $e^{-tH} \to 0$, so $\bar S_t \to 0$ and $\bar\Theta_t \to C_\theta - MH^{-1}C_s = dJ/d\theta$.
    Stopping at time $t$ (*truncated RBP*) leaves the error $M H^{-1} e^{-tH} C_s$, which
    decays at least like $e^{-\lambda_1 t}$.
    """),
    md(r"""
    ## The paper's network

    The paper's example (eq. 2.4) is a layered Hopfield-like network, output layer $s_0$
    first, input $x$ clamped last; `eqprop.figures.network` draws it (the paper's Figure 1):
    """),
    code(r"""
    import mpmath
    import numpy as np
    import matplotlib.pyplot as plt

    import eqprop
    from eqprop.figures import network
    from eqprop.numeric import (System, adjoint_closed_form, adjoint_flow, derivative, newton,
                                relax)

    mpmath.mp.dps = 20

    model = eqprop.load_model("paper")
    print(model, "layers", model.layers)
    network(model.layers);
    """, figures=1),
    md(r"""
    ## The side network, computed

    The free phase as in notebook 1, then the four constant ingredients at $s_0$, and the
    side network integrated by `adjoint_flow` (an ODE solver at 20 digits), beside the
    closed form `adjoint_closed_form` (a matrix exponential) and the implicit-function
    gradient (one linear solve).
    """),
    code(FREE_PHASE, r"""
    H = system.d2Ebeta_ds2(s0)          # n x n
    M = system.d2E_dtheta_ds(s0)        # p x n
    C_s, C_theta = system.dC_ds(s0), system.dC_dtheta(s0)
    dJ = list(mpmath.matrix(C_theta) - M * mpmath.lu_solve(H, mpmath.matrix(C_s)))
    print(f"{system.n} neurons, {system.p} parameters; C_theta = 0 here (the cost has no weights)")

    times = [mpmath.mpf(k) / 2 for k in range(61)]                  # t = 0 ... 30
    side = adjoint_flow(H, M, C_s, C_theta, times, tol=mpmath.mpf(10) ** -20).states
    s_bar = np.array([sb for sb, _ in side], float)
    theta_bar = np.array([tb for _, tb in side], float)

    closed_s, closed_theta = adjoint_closed_form(H, M, C_s, C_theta, times[6])     # t = 3
    print("t = 3: integrated vs closed form:",
          mpmath.nstr(max(abs(a - b) for a, b in zip(side[6][0], closed_s)), 3), "(Sbar),",
          mpmath.nstr(max(abs(a - b) for a, b in zip(side[6][1], closed_theta)), 3), "(Thetabar)")
    print("t = 30: |Thetabar - (C_theta - M H^-1 C_s)| =",
          mpmath.nstr(max(abs(a - b) for a, b in zip(side[-1][1], dJ)), 3),
          "(the truncation error, of order exp(-lambda_1 t) = exp(-0.89 * 30))")
    """),
    md(r"""
    ## Both sides of the Kolmogorov equation and of the definition 3.3

    Nothing above used $L$ itself. Here it is, computed from the **nonlinear** free flow:
    derivatives of $L$ along a direction are taken by a *complex step*,
    $\frac{d}{de} f(e)\big|_0 = \operatorname{Im} f(ih)/h$ up to $O(h^2)$, which loses no
    digits to cancellation (notebook 3 explains why), via `eqprop.numeric.derivative`.
    """),
    code(r"""
    rng = np.random.default_rng(0)
    h, tol = mpmath.mpf(10) ** -30, mpmath.mpf(10) ** -20

    def projected_cost(start, t):
        return system.C(system.flow(start, [t], tol=tol).states[-1])

    # Kolmogorov: a random state near s0, t = 2
    s = [a + mpmath.mpf(0.05) * float(r) for a, r in zip(s0, rng.standard_normal(system.n))]
    t_kbe, force = mpmath.mpf(2), system.dEbeta_ds(s)
    end = system.flow(s, [t_kbe], tol=tol).states[-1]
    dL_dt = -mpmath.fsum(c * g for c, g in zip(system.dC_ds(end), system.dEbeta_ds(end)))   # chain rule at the end
    rhs = derivative(lambda e: [projected_cost([a - e * g for a, g in zip(s, force)], t_kbe)],
                     holomorphic=True, h=h)[0]                                              # -E_s . dL/ds at the start
    print("Kolmogorov at t = 2:  dL/dt =", mpmath.nstr(dL_dt, 15), "  -E_s . dL/ds =", mpmath.nstr(rhs, 15))

    # definition 3.3: v . Sbar_t = d/de L(s0 + e v, t), for a random unit direction v, t = 2
    v = rng.standard_normal(system.n)
    v /= np.linalg.norm(v)
    by_definition = derivative(lambda e: [projected_cost([a + e * float(b) for a, b in zip(s0, v)], times[4])],
                               holomorphic=True, h=h)[0]
    by_side_network = mpmath.fsum(float(b) * sb for b, sb in zip(v, side[4][0]))
    print("t = 2: d/de L(s0 + e v) =", mpmath.nstr(by_definition, 15), "  v . Sbar_t =", mpmath.nstr(by_side_network, 15))
    """),
    md(r"""
    ## Picture: the side network in time

    Left: the error signals $\bar S_t$ of the eight neurons die out. Right: four entries of
    $\bar\Theta_t$ (the largest gradient entries) settle on $dJ/d\theta$ (dashed).
    """),
    code(r"""
    names = [str(p) for p in model.params]
    largest = np.argsort(-np.abs(np.array(dJ, float)))[:4]
    t = np.array(times, float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for i, name in enumerate(model.state):
        left.plot(t, s_bar[:, i], label=str(name))
    left.set(xlabel="time $t$", ylabel=r"$\bar S_t$", title="error derivatives of the neurons", xlim=(0, 12))
    left.legend(fontsize=7, ncol=2)
    for k in largest:
        line, = right.plot(t, theta_bar[:, k], label=names[k])
        right.axhline(float(dJ[k]), ls="--", color=line.get_color(), lw=0.8)
    right.set(xlabel="time $t$", ylabel=r"$\bar\Theta_t$", title=r"$\bar\Theta_t \to dJ/d\theta$ (dashed)",
              xlim=(0, 12))
    right.legend(fontsize=7)
    plt.tight_layout()
    """, figures=1),
    md(r"""
    ## The toolkit's verdict on the same identities

    `eqprop.verify` computes each identity along two independent routes and reports the
    digits to which they agree (rows `KBE`, `T1.*`; the other rows are notebooks 3 and 4):
    """),
    code(r"""
    report = eqprop.verify(model, dps=15, engine="gbs", times=[0, 1, 2, 4, 8])
    fewest = {}
    for c in report.checks:
        if c.id.startswith(("KBE", "T1")):
            fewest[c.id] = min(fewest.get(c.id, 99.0), c.digits)
    for row, digits in fewest.items():
        print(f"{row:<14} fewest digits of agreement {digits:5.1f} (of 15)")
    """),
    exercise(1, r"""
    **The Kolmogorov equation elsewhere.** Check the lemma at a state farther from $s_0$
    (steps of size 0.3 instead of 0.05) and at $t = 5$. Both sides should still agree to
    about 15 digits: the lemma holds at *every* state, not only near the fixed point.
    """),
    solution(r"""
    far = [a + mpmath.mpf(0.3) * float(r) for a, r in zip(s0, np.random.default_rng(7).standard_normal(system.n))]
    t5, force = mpmath.mpf(5), system.dEbeta_ds(far)
    end = system.flow(far, [t5], tol=tol).states[-1]
    lhs = -mpmath.fsum(c * g for c, g in zip(system.dC_ds(end), system.dEbeta_ds(end)))
    rhs = derivative(lambda e: [projected_cost([a - e * g for a, g in zip(far, force)], t5)],
                     holomorphic=True, h=h)[0]
    print("dL/dt =", mpmath.nstr(lhs, 15), "   -E_s . dL/ds =", mpmath.nstr(rhs, 15))
    assert abs(lhs - rhs) < 1e-15 * abs(lhs)
    print("check passed")
    """, r"""
    The two sides agree to the integrator's tolerance. The proof used only that the flow can
    be cut and restarted, true for any autonomous ODE, so the lemma holds everywhere.
    Theorem 1 needs the fixed point only at the last step, where $E_s(s_0) = 0$ kills the
    term with the second derivative of $L$.
    """),
    exercise(2, r"""
    **RBP's limit is the true gradient.** Differentiate $J(\theta)$ directly: move one weight
    (the one with the largest gradient entry) by $\pm 10^{-6}$, re-solve the fixed point with
    `newton(system, s0, theta=...)`, and take the central difference of
    $C(s_0(\theta))$. Compare with $\bar\Theta_{30}$ from the side network.
    """),
    solution(r"""
    k = int(largest[0])
    step = mpmath.mpf("1e-6")

    def J(shift):
        shifted = system.theta()
        shifted[k] += shift
        fixed_point, _, _ = newton(system, s0, theta=shifted)
        return system.C(fixed_point, shifted)

    by_differences = (J(step) - J(-step)) / (2 * step)
    print(f"{names[k]}: dJ/dtheta by differences {mpmath.nstr(by_differences, 12)},"
          f" RBP at t = 30 {mpmath.nstr(side[-1][1][k], 12)}")
    assert abs(by_differences - side[-1][1][k]) < 1e-9 * abs(by_differences)
    print("check passed")
    """, r"""
    They agree to the accuracy of the central difference (its error is of order
    $10^{-12}$ relative). The side network never solved a linear system, never moved a
    weight and never re-ran the free phase, yet its state at $t = 30$ is the gradient to 13
    digits (the rest is the truncation error $M H^{-1} e^{-30 H} C_s$).
    """),
    exercise(3, r"""
    **Modes of the side network.** Write $H = \sum_i \lambda_i q_i q_i^\top$ (use
    `mpmath.eigsy(H)`). Then $\bar S_t = \sum_i e^{-\lambda_i t} (q_i \cdot C_s)\, q_i$.
    Check this against the integrated $\bar S_t$ at $t = 3$, and find which mode carries
    most of $\bar S_t$ at $t = 10$.
    """),
    solution(r"""
    lam, Q = mpmath.eigsy(H)
    Cs = mpmath.matrix(C_s)

    def by_modes(t):
        out = mpmath.matrix(system.n, 1)
        for i in range(system.n):
            q = Q[:, i]
            out += mpmath.exp(-lam[i] * t) * (q.T * Cs)[0] * q
        return out

    gap = max(abs(a - b) for a, b in zip(by_modes(times[6]), side[6][0]))
    print("t = 3: modes vs integrated side network:", mpmath.nstr(gap, 3))
    weights = [abs(mpmath.exp(-lam[i] * 10) * (Q[:, i].T * Cs)[0]) for i in range(system.n)]
    top = max(range(system.n), key=lambda i: weights[i])
    print("t = 10: the largest mode is number", top, "with eigenvalue", mpmath.nstr(lam[top], 6))
    assert gap < 1e-18
    assert top == 0   # the slowest mode (eigsy sorts the eigenvalues in increasing order)
    print("check passed")
    """, r"""
    The eigen-expansion reproduces the integrated side network to the working precision.
    Each mode fades at its own rate, so after a while only the slowest one, $\lambda_1$,
    is left: that is why truncated RBP's error decays like $e^{-\lambda_1 t}$ (watched again
    in notebook 4). A mode along which $C_s$ has no component never appears at all.
    """),
    md(r"""
    **Next:** notebook 3 gets the same gradient without any side network, from two
    equilibria of the *same* network, one of them slightly nudged towards the target.
    """),
]

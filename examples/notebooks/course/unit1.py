"""Notebook 1: the free phase and the minima of an energy."""

from .cells import SHOW_EQUATIONS, code, exercise, md, solution

NAME = "1_free_phase.ipynb"
TITLE = "1. The free phase: an energy and its minima"

CELLS = [
    md(r"""
    # 1. The free phase: an energy and its minima

    *Course unit on B. Scellier & Y. Bengio, "Equivalence of Equilibrium Propagation and
    Recurrent Backpropagation", Neural Computation 31(2), 2019. Notebook 1 of 7; it runs
    offline in a few seconds and uses only the public API of `eqprop`.*

    **You will learn:** what a network *is* in this theory (an energy and a cost), what its
    free phase does, why it settles, how fast, and how to find its resting point to twenty
    digits. Everything in notebooks 2-6 is computed at this resting point.
    """),
    md(r"""
    ## The setting

    A network has a **state** $s \in \mathbb{R}^n$ (one number per neuron), **parameters**
    $\theta$ (weights, biases), an **input** $x$ that is held fixed and a **target** $y$.
    Two scalar functions describe it completely:

    * the **energy** $E(\theta, x, s)$, which the neurons lower;
    * the **cost** $C(\theta, y, s)$, which says how far the state is from what we want.

    Subscripts are partial derivatives: $E_s = \partial E / \partial s$ (a vector),
    $H = \partial^2 E / \partial s^2$ (the Hessian, a symmetric $n \times n$ matrix),
    $M = \partial^2 E / \partial\theta\,\partial s$ ($p \times n$), and $C_s$, $C_\theta$.
    When no point is named they are taken at the fixed point $s_0$ below.

    **Definition (free phase).** With the input clamped, the state follows the
    steepest-descent dynamics of the energy (paper, eq. 2.1):
    $$\frac{ds}{dt} = -E_s(\theta, x, s).$$

    **Definition (free fixed point).** $s_0$ is a point where the force vanishes,
    $E_s(\theta, x, s_0) = 0$ (eq. 2.2). It is a **strict minimum** when $H(s_0)$ is positive
    definite: every eigenvalue $\lambda_1 \le \dots \le \lambda_n$ is positive. The
    objective of learning is the cost at rest, $J(\theta) = C(\theta, y, s_0(\theta))$ (eq. 2.3).
    """),
    md(r"""
    ## Two facts about the free phase

    **Proposition 1 (the energy never increases).** Along any solution of the free phase,
    $$\frac{d}{dt} E\big(s(t)\big) = -\big|E_s\big(s(t)\big)\big|^2 \le 0,$$
    with equality only where the state is at rest.

    *Proof sketch.* Apply the chain rule to $t \mapsto E(s(t))$: the derivative is the
    gradient $E_s$ dotted with the velocity, and the velocity *is* $-E_s$. So $E$ acts as a
    Lyapunov function: a bounded trajectory keeps losing energy until the gradient dies out,
    which can only happen near a point where $E_s = 0$.

    **Proposition 2 (how fast it settles).** Near a strict minimum, the distance to $s_0$
    shrinks like $e^{-\lambda_1 t}$, $\lambda_1$ the smallest eigenvalue of $H(s_0)$. If
    $H(s_0)$ has a negative eigenvalue, $s_0$ is a saddle and almost every nearby start
    moves away from it.

    *Proof sketch.* Write $s = s_0 + \delta$. Expanding the force to first order,
    $E_s(s_0 + \delta) = H\delta + O(|\delta|^2)$, since $E_s(s_0) = 0$. So
    $\dot\delta \approx -H\delta$, whose solution is $\delta(t) = e^{-tH}\delta(0)$. In the
    orthonormal eigenbasis of the symmetric matrix $H$ each coordinate evolves on its own,
    $c_i(t) = e^{-\lambda_i t} c_i(0)$: all of them decay when every $\lambda_i > 0$, the
    slowest at rate $\lambda_1$; a coordinate with $\lambda_i < 0$ grows.
    """),
    md(r"""
    ## A two-neuron network

    The smallest example: two neurons $a, b$, one weight $w$, input $x$ feeding $b$, and the
    cost asks neuron $a$ to sit at $y$:
    $$E = \tfrac12(a^2 + b^2) - w \tanh(a)\tanh(b) - x\tanh(b), \qquad C = \tfrac12 (a - y)^2 .$$
    It is built in as `two-neurons` (the same as `examples/two_neurons.toml`).
    `eqprop.describe` derives the free dynamics, $H$, $M$ and the equations of the later
    notebooks symbolically, exactly as `eqprop derive two-neurons --latex` prints them:
    """),
    code(r"""
    import mpmath
    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import Math

    import eqprop
    from eqprop.numeric import System, newton, relax

    mpmath.mp.dps = 20          # this notebook's working precision: 20 significant digits

    model = eqprop.load_model("two-neurons")
    print(model, "  parameters:", model.params, "  data:", model.data)
    """, SHOW_EQUATIONS, """
    show_equations(model)
    """),
    md(r"""
    ## The free phase, computed

    `eqprop.compile_model` turns the derived expressions into functions of
    `(s, theta, data)`: NumPy ones (`compiled.E`, `compiled.dE_ds`, `compiled.d2E_ds2`, ...)
    and, through `eqprop.numeric.System`, arbitrary-precision ones. The free phase is done
    in two stages, as `eqprop verify` does it:

    1. `relax`: integrate $ds/dt = -E_s$ in float64 until the force is below $10^{-10}$ (a
       few digits more at best: float64 carries 16);
    2. `newton`: Newton's method on $E_s(s) = 0$ at 20 digits, started there. Each step
       doubles the number of correct digits.
    """),
    code(r"""
    compiled = eqprop.compile_model(eqprop.derive(model))
    theta, data = model.values()                 # exact fractions: w = 3/10, x = 1/2, y = 1/5
    system = System(compiled, theta, data)       # the same functions, at mpmath's precision
    th, dt = np.array(theta, float), np.array(data, float)

    s_float, res_float, t_relax = relax(lambda s: compiled.dE_ds(s, th, dt),
                                        lambda s: compiled.d2E_ds2(s, th, dt), [0.0, 0.0])
    s0, residual, steps = newton(system, [mpmath.mpf(v) for v in s_float])

    with mpmath.workdps(40):                     # the residual of the 20-digit point, read at 40 digits
        res40 = max(abs(g) for g in system.dEbeta_ds(s0))
    print(f"float64 relaxation to t = {t_relax:g}: s = {s_float},  max|dE/ds| = {res_float:.1e}")
    print(f"Newton at 20 digits ({steps} steps):   s0 = {mpmath.nstr(s0, 20)}")
    print(f"                                  max|dE/ds(s0)| = {mpmath.nstr(res40, 3)}")

    H = system.d2Ebeta_ds2(s0)
    lam = mpmath.eigsy(H)[0]
    print("eigenvalues of H(s0):", mpmath.nstr(lam.T, 10), "-> all positive: a strict minimum")
    lam_min = float(min(lam))
    """),
    md(r"""
    ## Picture: the landscape and three free phases

    Left: contour lines of $E$, three free phases (integrated at 15 digits by the toolkit's
    own integrator, `System.flow`) and the minimum $s_0$. Right: the distance to $s_0$ on a
    log scale; the dashed line has slope $-\lambda_1$ (Proposition 2).
    """),
    code(r"""
    starts = [(-1.5, 1.5), (1.5, -1.2), (1.4, 1.6)]
    times = [mpmath.mpf(k) / 4 for k in range(65)]                 # t = 0 ... 16
    with mpmath.workdps(15):
        flows = [system.flow([mpmath.mpf(v) for v in st], times, tol=mpmath.mpf(10) ** -13).states
                 for st in starts]
    t = np.array(times, float)

    A, B = np.meshgrid(np.linspace(-2, 2, 161), np.linspace(-2, 2, 161))
    grid = np.stack([A.ravel(), B.ravel()], axis=1)       # a batch of states: one row each
    energy = compiled.E(grid, th, dt).reshape(A.shape)

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.contour(A, B, energy, levels=25, cmap="viridis", linewidths=0.8)
    looks = [("-", "o"), ("--", "s"), (":", "^")]   # the late curves run together: style, marker
    for st, states, (ls, mk) in zip(starts, flows, looks):
        path = np.array(states, float)
        left.plot(path[:, 0], path[:, 1], ls, lw=1.5, label=f"start {st}")
        right.semilogy(t, np.linalg.norm(path - np.array(s0, float), axis=1), ls, marker=mk,
                       markevery=8, ms=5, mfc="none", lw=1.5, label=f"start {st}")
    left.plot(*np.array(s0, float), "k*", ms=12, label="$s_0$")
    left.set(xlabel="$a$", ylabel="$b$", title="energy contours and free phases")
    left.legend(fontsize=8)
    right.semilogy(t, 3 * np.exp(-lam_min * t), "k--", label=rf"$e^{{-\lambda_1 t}}$, $\lambda_1$ = {lam_min:.3f}")
    right.set(xlabel="time $t$", ylabel=r"$|s(t) - s_0|$", title="convergence to the minimum")
    right.legend(fontsize=8)
    plt.tight_layout()
    """, figures=1),
    md(r"""
    ## What the toolkit checks before any theorem

    `eqprop.verify` starts with exactly these computations and lists them as the
    **hypotheses** of the theorems: a fixed point to the working precision, a smooth ($C^2$)
    energy and cost, and a positive definite $H(s_0)$. (`engine="gbs"` picks the built-in
    integrator; the optional heyoka engine gives the same numbers after a compilation of a
    few seconds.)
    """),
    code(r"""
    report = eqprop.verify(model, dps=15, engine="gbs", times=[0, 1, 2])
    for a in report.assumptions:
        print(f"[{'ok' if a.holds else 'FAIL':<4}] {a.id:<22} {a.value:<10} {a.message}")
    print("s0 =", [mpmath.nstr(v, 15) for v in report.s_free])
    print(report.verdict.value)
    """),
    exercise(1, r"""
    **The energy never increases.** Check Proposition 1 numerically: on the free phase
    started at $(-1.5, 1.5)$, estimate $\frac{d}{dt}E(s(t))$ at $t = 2$ by a central
    difference of $E$ between $t \pm 10^{-4}$ (use `system.flow` at 20 digits and
    `compiled.E.mp(s, system.theta(), system.data())`), and compare it with
    $-|E_s(s(2))|^2$. They should agree to about 8 digits (the difference quotient has an
    error of order $10^{-8}$).
    """),
    solution(r"""
    t2, d = mpmath.mpf(2), mpmath.mpf("1e-4")
    before, at, after = system.flow([mpmath.mpf(-1.5), mpmath.mpf(1.5)], [t2 - d, t2, t2 + d],
                                    tol=mpmath.mpf(10) ** -19).states
    energy_mp = lambda s: compiled.E.mp(s, system.theta(), system.data())
    dE_dt = (energy_mp(after) - energy_mp(before)) / (2 * d)
    minus_grad_sq = -mpmath.fsum(g ** 2 for g in system.dEbeta_ds(at))
    print("dE/dt by differences:", mpmath.nstr(dE_dt, 12))
    print("-|dE/ds|^2          :", mpmath.nstr(minus_grad_sq, 12))
    assert dE_dt < 0
    assert abs(dE_dt - minus_grad_sq) < 1e-6 * abs(minus_grad_sq)
    print("check passed: the energy decreases at the rate -|dE/ds|^2")
    """, r"""
    The two numbers agree to about eight digits, the accuracy of a central difference with
    step $10^{-4}$ (its error is of order $10^{-8}$ relative). The rate is negative, and it
    is exactly minus the squared force: the energy falls fastest where the landscape is
    steepest, and stops falling only at rest.
    """),
    exercise(2, r"""
    **The rate of convergence.** Fit a straight line to $\log|s(t) - s_0|$ over
    $10 \le t \le 16$ for the first free phase of the picture (`flows[0]`) and compare the
    slope with $-\lambda_1$. Why must the fit avoid small $t$?
    """),
    solution(r"""
    dist = np.linalg.norm(np.array(flows[0], float) - np.array(s0, float), axis=1)
    late = t >= 10
    slope = np.polyfit(t[late], np.log(dist[late]), 1)[0]
    print(f"fitted rate {-slope:.6f}, smallest eigenvalue {lam_min:.6f}")
    assert abs(-slope - lam_min) < 1e-3 * lam_min
    print("check passed: the distance decays like exp(-lambda_1 t)")
    """, r"""
    The fitted rate matches $\lambda_1$ to a few parts in a million. Early on, two things
    spoil the fit: the nonlinear terms $O(|\delta|^2)$ of the force, and the component along
    the other eigenvector, which decays faster ($e^{-\lambda_2 t}$, $\lambda_2 \approx 1.50$)
    and is gone only after a few time units. Late in the run only the slowest mode is left.
    """),
    exercise(3, r"""
    **Two minima and a saddle.** With a strong weight the network can store two patterns.
    Take $w = 2$, $x = 0.1$ (build `System(compiled, (Fraction(2),), (Fraction(1, 10),
    Fraction(1, 5)))`), run Newton from $(1, 1)$, $(-1, -1)$ and $(0, 0)$, and classify each
    fixed point by the signs of the eigenvalues of $H$. Then start the free phase just off
    the saddle and see where it goes.
    """),
    solution(r"""
    from fractions import Fraction

    strong = System(compiled, (Fraction(2),), (Fraction(1, 10), Fraction(1, 5)))
    found = {}
    for start in [(1, 1), (-1, -1), (0, 0)]:
        point, _, _ = newton(strong, [mpmath.mpf(v) for v in start])
        eigs = mpmath.eigsy(strong.d2Ebeta_ds2(point))[0]
        kind = "minimum" if min(eigs) > 0 else "saddle"
        found[start] = (point, kind)
        print(f"from {start}: s = {mpmath.nstr(point, 8)}, eigenvalues {mpmath.nstr(eigs.T, 5)} -> {kind}")
    assert [k for _, k in found.values()] == ["minimum", "minimum", "saddle"]

    saddle = found[(0, 0)][0]
    nudged_off = [saddle[0] + mpmath.mpf("1e-3"), saddle[1] + mpmath.mpf("1e-3")]
    end = strong.flow(nudged_off, [mpmath.mpf(40)], tol=mpmath.mpf(10) ** -15).states[-1]
    print("from just off the saddle the free phase ends at", mpmath.nstr(end, 8))
    assert mpmath.norm(mpmath.matrix(end) - mpmath.matrix(found[(1, 1)][0])) < 1e-6
    print("check passed: two minima, one saddle between them, and the saddle repels")
    """, r"""
    Two minima, near $(0.77, 0.79)$ and $(-0.74, -0.72)$, and a saddle near the origin with
    one negative eigenvalue (about $-0.98$). A start $10^{-3}$ off the saddle slides into the
    minimum on its side: a saddle is a fixed point that the free phase does not reach from
    a generic start (Proposition 2). Which minimum a network settles in depends on where the
    free phase starts, and every theorem of this unit is about the minimum that was reached
    (`eqprop verify --initial-state` chooses the start).
    """),
    md(r"""
    **Next:** notebook 2 asks how the cost at rest, $J(\theta)$, changes with $\theta$, and
    answers with a second, linear network run backwards in time: recurrent backpropagation.
    """),
]

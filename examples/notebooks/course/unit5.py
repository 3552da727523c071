"""Notebook 5: your own energy, and where the equivalence breaks for non-gradient dynamics."""

from .cells import SHOW_EQUATIONS, code, exercise, md, solution

NAME = "5_your_own_energy.ipynb"
TITLE = "5. Your own energy, and where the equivalence breaks"

CELLS = [
    md(r"""
    # 5. Your own energy, and where the equivalence breaks

    *Notebook 5 of 7 of the course unit on Scellier & Bengio (2019). Runs offline in a few
    seconds; public API of `eqprop` only.*

    **You will learn:** to check all three theorems for an energy you write down yourself,
    which hypotheses the toolkit checks first, and what happens when the dynamics is not the
    gradient of any energy: RBP survives, EP does not, and the failure is proportional to
    the asymmetry of the couplings.
    """),
    md(r"""
    ## Any energy

    Notebooks 1-4 used nothing specific to Hopfield networks. The theorems need only:

    1. $E$ and $C$ twice continuously differentiable ($C^2$) near the fixed point;
    2. a fixed point $s_0$, $E_s(s_0) = 0$, reached by the free phase;
    3. a strict minimum there: $H(s_0)$ positive definite.

    `eqprop.Model` takes the energy and the cost as formulas (parsed, never evaluated; values
    kept exact); `eqprop.verify` derives every derivative symbolically, checks the
    hypotheses, then every identity of notebooks 2-4 along two independent routes.
    """),
    code(r"""
    import mpmath
    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import Math

    import eqprop
    from eqprop.figures import theorem3_states

    mine = eqprop.Model(
        energy="(a**2 + b**2 + c**2)/2 - w*tanh(a)*tanh(b) - u*sin(b - c) - x*c",
        cost="(a - y)**2/2", state=["a", "b", "c"],
        params={"w": "0.4", "u": "0.2"}, data={"x": "0.3", "y": "0.1"}, name="three units")
    """, SHOW_EQUATIONS, """
    show_equations(mine)
    """),
    code(r"""
    report = eqprop.verify(mine, dps=15, engine="gbs", times=[0, 1, 2, 4, 8])


    def summary(report):
        for a in report.assumptions:
            print(f"  [{a.mark:<4}] {a.id:<22} {a.value:<8} {a.message}")  # as the CLI marks it
        rows = {}
        for c in report.checks:
            rows[c.id] = rows.get(c.id, True) and c.passed
        print("  rows:", ", ".join(f"{k} {'ok' if v else 'FAIL'}" for k, v in rows.items()))
        print(" ", report.verdict.value)


    summary(report)
    """),
    md(r"""
    ## Dynamics without an energy

    A network can also be given by its dynamics directly, $ds/dt = F(\theta, s)$, with no
    energy behind it: for instance neurons whose couplings are not symmetric (the synapse
    from $a$ to $b$ differs from the one from $b$ to $a$). Such an $F$ is the gradient of
    some energy exactly when its Jacobian $\partial F/\partial s$ is symmetric (on a region without
    holes). Write
    $A = -\partial F/\partial s$ at $s_0$ (it takes the place of $H$) and
    $M = -(\partial F/\partial\theta)^{\top}$.

    * **The true gradient.** Differentiating $F(\theta, s_0(\theta)) = 0$ as in notebook 2:
      $\dfrac{dJ}{d\theta} = C_\theta - M A^{-\top} C_s$.
    * **RBP still works.** The Kolmogorov equation only used that a flow can be restarted,
      so Theorem 1 holds with the transpose: $\dot{\bar S}_t = -A^{\top}\bar S_t$, hence
      $\bar S_t = e^{-tA^{\top}} C_s$ and $\bar\Theta_t \to C_\theta - M A^{-\top} C_s$.
    * **EP does not.** The linear response still obeys $\dot u = -A u - C_s$, so
      $\tilde S_t = A u + C_s = e^{-tA} C_s$ (no transpose), and EP's limit is
      $C_\theta - M A^{-1} C_s$.

    So the two sides of Theorem 3 are now
    $$\bar S_t = e^{-tA^{\top}} C_s, \qquad \tilde S_t = e^{-tA} C_s .$$

    **Proposition.** $\tilde S_t = \bar S_t$ for all $t$ and every cost iff $A = A^{\top}$.

    *Proof sketch.* If $A$ is symmetric the two exponentials are equal. Conversely, the two
    curves start at the same point, $C_s$, and their velocities at $t = 0$ are $-AC_s$ and
    $-A^{\top}C_s$; these agree for every $C_s$ only if $A = A^{\top}$. For a small asymmetry
    $A = A_{\text{sym}} + \delta K$ the gap $e^{-tA}C_s - e^{-tA^{\top}}C_s$ is, to first
    order, proportional to $\delta$: the equivalence degrades smoothly, linearly in the
    asymmetry.

    The toolkit's example is `examples/asymmetric.toml` (`eqprop verify
    examples/asymmetric.toml` on the command line); here is the same model in Python:
    """),
    code(r"""
    asymmetric = eqprop.Model(vector_field=["-a + w*tanh(b)", "-b + u*tanh(a) + x"],
                              cost="(a - y)**2/2", state=["a", "b"],
                              params={"w": "0.5", "u": "-0.3"}, data={"x": "0.2", "y": "0.1"},
                              name="asymmetric vector field")
    asym_report = eqprop.verify(asymmetric, dps=15, engine="gbs", times=[k / 2 for k in range(17)])
    summary(asym_report)
    """),
    md(r"""
    The Kolmogorov equation and Theorem 1 hold to every digit; Theorems 2 and 3 fail. In a
    picture, EP's circles leave RBP's lines:
    """),
    code(r"""
    theorem3_states(asym_report);
    """, figures=1),
    md(r"""
    ## Picture: how fast the equivalence degrades

    A one-parameter family that starts at an energy: the two-neuron network of notebook 1,
    written as its gradient field $F = -E_s$, with the coupling from $a$ into $b$ changed
    from $w$ to $w + \delta$. At $\delta = 0$ it is the energy's own dynamics; every
    $\delta \neq 0$ breaks the symmetry. The gap $\max_t|\bar S_t - \tilde S_t|$ (relative to
    $|C_s|$) against $\delta$:
    """),
    code(r"""
    def coupled(delta):
        field = ["-a + w*(1 - tanh(a)**2)*tanh(b)",
                 f"-b + (w + {delta})*tanh(a)*(1 - tanh(b)**2) + x*(1 - tanh(b)**2)"]
        return eqprop.Model(vector_field=field, cost="(a - y)**2/2", state=["a", "b"],
                            params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"}, name=f"delta = {delta}")


    def theorem3_gap(report):
        s_bar = np.array([[float(v) for v in row] for row in report.series["s_bar"]])
        s_tilde = np.array([[float(v) for v in row] for row in report.series["s_tilde"]])
        return np.abs(s_bar - s_tilde).max() / np.abs(s_bar[0]).max()


    deltas = ["0", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3"]
    family = {d: eqprop.verify(coupled(d), dps=15, engine="gbs", times=[0, 1, 2, 4, 8]) for d in deltas}
    gaps = {d: theorem3_gap(r) for d, r in family.items()}
    for d, r in family.items():
        print(f"delta = {d:<6} gap {gaps[d]:.2e}   {r.verdict.short}")

    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.array([float(d) for d in deltas[1:]])
    ax.loglog(x, [gaps[d] for d in deltas[1:]], "o-", label="measured")
    ax.loglog(x, gaps["0.01"] * x / 0.01, "k--", lw=0.8, label=r"slope 1 ($\propto\delta$)")
    ax.set(xlabel=r"asymmetry $\delta$", ylabel=r"$\max_t |\bar S_t - \tilde S_t| / |C_s|$",
           title=r"Theorem 3 for $F = -E_s$ plus an asymmetric coupling")
    ax.legend()
    plt.tight_layout()
    """, figures=1),
    exercise(1, r"""
    **A kink.** Replace $\tanh(a)$ in the energy of `mine` by $|a|$ (`Abs(a)`) and verify.
    Which hypothesis fails? (The theorems need second derivatives, which $|a|$ lacks at 0.)
    """),
    solution(r"""
    kinked = eqprop.Model(
        energy="(a**2 + b**2 + c**2)/2 - w*Abs(a)*tanh(b) - u*sin(b - c) - x*c",
        cost="(a - y)**2/2", state=["a", "b", "c"],
        params={"w": "0.4", "u": "0.2"}, data={"x": "0.3", "y": "0.1"}, name="with a kink")
    kinked_report = eqprop.verify(kinked, dps=15, engine="gbs", times=[0, 1, 2])
    summary(kinked_report)
    failed = [a.id for a in kinked_report.assumptions if not a.holds]
    assert kinked_report.verdict is eqprop.Verdict.ASSUMPTION_VIOLATED and failed == ["twice differentiable"]
    print("check passed")
    """, r"""
    The smoothness hypothesis fails, and the verdict is *assumption violated* even where
    rows agree: with a kink the derivatives the theorems are about may not exist, and
    agreement could be luck. The toolkit flags `Abs`, `Min`, `Max`, `Heaviside`, `sign`,
    `floor`, `ceiling` and the hard sigmoid this way.
    """),
    exercise(2, r"""
    **The form does not matter, the symmetry does.** Show that the family's member at
    $\delta = 0$, given as a vector field, is verified like an energy, and that the
    toolkit's measured asymmetry $|J - J^\top|$ is 0 for it and grows with $\delta$.
    """),
    solution(r"""
    def asymmetry(report):
        return [a for a in report.assumptions if a.id == "symmetric Jacobian"][0]

    print("delta = 0:", family["0"].verdict.value)
    for d in ("0", "0.01", "0.1"):
        a = asymmetry(family[d])
        print(f"delta = {d:<5} |J - J^T| = {a.value:<8} holds: {a.holds}")
    assert family["0"].verdict is eqprop.Verdict.VERIFIED and asymmetry(family["0"]).holds
    assert not asymmetry(family["0.01"]).holds
    assert float(asymmetry(family["0.1"]).value) > float(asymmetry(family["0.01"]).value)
    print("check passed")
    """, r"""
    At $\delta = 0$ the Jacobian is the (negative) Hessian of the two-neuron energy,
    symmetric, and everything is verified: EP does not need to be told there is an energy,
    only that the couplings are symmetric. The measured asymmetry is proportional to
    $\delta$, and so is the failure of Theorem 3 in the picture above.
    """),
    exercise(3, r"""
    **What EP computes instead.** For the asymmetric model, build
    `System(compiled, *asymmetric.values(), has_energy=False)`, get $A$ and $M$ at $s_0$
    (`d2Ebeta_ds2`, `d2E_dtheta_ds` hold $-\partial F/\partial s$ and
    $-(\partial F/\partial\theta)^{\top}$ for a vector field), and show that the report's
    `dJ_dtheta["implicit"]` is $C_\theta - MA^{-\top}C_s$ while EP's limit
    `dJ_dtheta["ep_limit"]` is $C_\theta - MA^{-1}C_s$.
    """),
    solution(r"""
    from eqprop.numeric import System, newton

    mpmath.mp.dps = 20
    compiled = eqprop.compile_model(eqprop.derive(asymmetric))
    system = System(compiled, *asymmetric.values(), has_energy=False)
    s0, _, _ = newton(system, [mpmath.mpf(v) for v in asym_report.s_free])
    A, M = system.d2Ebeta_ds2(s0), system.d2E_dtheta_ds(s0)
    C_s, C_theta = mpmath.matrix(system.dC_ds(s0)), mpmath.matrix(system.dC_dtheta(s0))
    true_gradient = C_theta - M * mpmath.lu_solve(A.T, C_s)
    ep_answer = C_theta - M * mpmath.lu_solve(A, C_s)
    print("A = -dF/ds(s0) =", mpmath.nstr(A.tolist(), 6), "(not symmetric)")
    for name, ours, key in (("true gradient (RBP)", true_gradient, "implicit"), ("EP's limit", ep_answer, "ep_limit")):
        theirs = asym_report.dJ_dtheta[key]
        print(f"{name:<20} by hand {mpmath.nstr(ours.T, 8)}   report {mpmath.nstr(mpmath.matrix(theirs).T, 8)}")
        assert max(abs(a - b) for a, b in zip(ours, theirs)) < 1e-13
    print("check passed")
    """, r"""
    Both match the report to its 15 digits. EP has no way to apply a transpose: its
    response to the nudge is governed by $A$ itself, so its "gradient" solves the wrong
    linear system. For the weight $u$ (second entry) it even has the wrong sign here.
    """),
    md(r"""
    **Next:** notebook 6 leaves 20-digit arithmetic for float64 and networks of thousands of
    neurons, in discrete time, as EP is trained in practice.
    """),
]

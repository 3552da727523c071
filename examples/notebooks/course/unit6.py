"""Notebook 6: the discrete-time theorem at realistic size, with eqprop's scale check."""

from .cells import code, exercise, md, solution

NAME = "6_discrete_time_at_scale.ipynb"
TITLE = "6. Discrete time at realistic size"

CELLS = [
    md(r"""
    # 6. Discrete time at realistic size

    *Notebook 6 of 7 of the course unit on Scellier & Bengio (2019). Runs offline in a few
    seconds; public API of `eqprop` only.*

    **You will learn:** the form Theorem 3 takes when time is discrete (Euler steps, as EP
    is simulated in practice), why it holds step by step, when a step is too large, and how
    to check it on a network of hundreds of thousands of weights in float64 with
    `eqprop scale`, to the last bits of double precision.

    *Notation:* the layers of the network are called `s0` (output), `s1`, ... as in the
    toolkit's reports, so in this notebook the free fixed point is written $s_\star$.
    """),
    md(r"""
    ## Discrete time

    Replace the ODEs by Euler steps of size $\varepsilon$, as in Ernoult et al. (2019),
    who compared EP and backpropagation through time step by step. With $H$, $M$, $C_s$, $C_\theta$ taken at $s_\star$:

    * **EP**, nudged phase from $s^\beta_0 = s_\star$:
      $\; s^\beta_{k+1} = s^\beta_k - \varepsilon\,E^\beta_s(s^\beta_k)$, and its readouts
      $$\tilde S_k = -\frac{s^\beta_{k+1} - s^\beta_k}{\varepsilon\beta} = \frac{E^\beta_s(s^\beta_k)}{\beta},
      \qquad \tilde\Theta_k = \frac{E^\beta_\theta(s^\beta_k) - E_\theta(s_\star)}{\beta};$$
    * **RBP**, the side network stepped the same way:
      $\;\bar S_0 = C_s,\ \bar S_{k+1} = (I - \varepsilon H)\bar S_k$ and
      $\bar\Theta_0 = C_\theta,\ \bar\Theta_{k+1} = \bar\Theta_k - \varepsilon M \bar S_k$.

    **Theorem (discrete Theorem 3).** To first order in $\beta$, $\tilde S_k = \bar S_k$ and
    $\tilde\Theta_k = \bar\Theta_k$ for every step $k$.

    *Proof sketch (induction on $k$).* Let $u_k = \partial_\beta s^\beta_k$ at $\beta = 0$;
    $u_0 = 0$. Differentiating the Euler step in $\beta$ at $s_\star$ gives
    $u_{k+1} = u_k - \varepsilon(Hu_k + C_s)$. At first order $\tilde S_k = Hu_k + C_s$, so
    $$\tilde S_{k+1} = H u_{k+1} + C_s = (Hu_k + C_s) - \varepsilon H (Hu_k + C_s) = (I - \varepsilon H)\tilde S_k,$$
    with $\tilde S_0 = C_s$: the recursion of $\bar S_k$. Likewise $\tilde\Theta_k = Mu_k + C_\theta$
    and $\tilde\Theta_{k+1} = \tilde\Theta_k - \varepsilon M\tilde S_k$. (As in continuous time,
    RBP's recursion is really $(I - \varepsilon H^{\top})$; symmetry makes them one.)

    **Stability.** The identity holds for *any* $\varepsilon$; but the recursions converge
    only if every eigenvalue of $I - \varepsilon H$ lies in $(-1, 1)$, i.e.
    $0 < \varepsilon\lambda_{\max} < 2$. Then $\bar\Theta_k \to dJ/d\theta$ as $k \to \infty$;
    beyond $\varepsilon = 2/\lambda_{\max}$ neither side has a limit.
    """),
    md(r"""
    ## How agreement is measured

    Per quantity $q$ (a layer's states, a weight matrix), over the $K$ steps, Ernoult et al.'s
    **normalized error**
    $$e_q = \sqrt{\frac{\sum_k \|\tilde q_k - \bar q_k\|^2}{\max\big(\sum_k\|\tilde q_k\|^2,\ \sum_k\|\bar q_k\|^2\big)}}.$$
    `eqprop scale` runs three nudged phases: a real $\beta = 0.01$ (bias $O(\beta)$), the
    symmetric pair $\pm\beta$ (bias $O(\beta^2)$) and the complex step $\beta = ih$,
    $h = 10^{-20}$ (notebook 3), whose readouts are exact to float64 rounding. It first
    checks the hypotheses for every example of the batch: the residual of the free phase,
    $\lambda_{\min} > 0$ and $\varepsilon\lambda_{\max} < 2$ (by Lanczos iterations on
    products $Hv$: no $n \times n$ matrix is ever formed) and the symmetry of $H$.

    The network is the layered energy of the paper with sigmoid units, 784 inputs (an image
    of $28 \times 28$ pixels; random here, nothing is downloaded), two hidden layers of 256
    and 10 outputs: 522 free units and 268,800 weights, a batch of 32 examples, 60 steps.
    The call is the Python form of
    `eqprop scale --layers 10,256,256,784 --batch 32 --steps 60`.
    """),
    code(r"""
    import numpy as np
    import matplotlib.pyplot as plt

    from eqprop.figures import scale as scale_figure
    from eqprop.proofs.scale import scale

    report = scale([10, 256, 256, 784], batch=32, steps=60, data="random", seed=0)
    print(report.table())
    """),
    md(r"""
    ## Picture: per-step error, complex step against real $\beta$

    For each layer, the relative error $\|\tilde S_k - \bar S_k\| / \|\bar S_k\|$ at each step.
    Solid: complex step; dashed: $\beta = 0.01$; dotted: float64's rounding bound for EP's
    readout. The complex-step error follows the bound, which rises as $\bar S_k$ decays
    below the accumulated drift $u_k$ ($\tilde S_k = Hu_k + C_s$ is then a small difference
    of large terms, as in notebook 4): by step 60 the output layer's $\bar S_k$ has decayed
    by about 16 orders of magnitude, and float64 keeps nothing of it (the table's *digits
    lost*). The normalized error weighs each step by its size, so these late steps hardly
    enter it.
    """),
    code(r"""
    fig, ax = plt.subplots(figsize=(9, 4))
    scale_figure(report, ax=ax);
    """, figures=1),
    md(r"""
    And the normalized errors per quantity, three ways of nudging side by side:
    """),
    code(r"""
    rows = report.to_dict()["rows"]
    names = [r["quantity"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for k, (key, label) in enumerate([("complex_step", r"complex step $\beta = ih$"),
                                      ("real_beta", rf"real $\beta$ = {report.beta:g}"),
                                      ("symmetric_beta", r"symmetric $\pm\beta$")]):
        ax.bar(x + (k - 1) * 0.27, [r[key] for r in rows], width=0.27, label=label)
    ax.set_yscale("log")
    ax.axhline(2.0 ** -52, color="k", lw=0.8, ls=":", label="float64 epsilon")
    ax.set_xticks(x, names)
    ax.set(ylabel="normalized error $e_q$", title="discrete Theorem 3, per layer and weight matrix",
           ylim=(1e-17, 1))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    plt.tight_layout()
    print("gradients against the implicit-function gradient:", report.gradient)
    """, figures=1),
    exercise(1, r"""
    **Too large a step.** On a smaller network, `scale([10, 64, 64], batch=8, steps=40)`,
    read the largest stable step from `report.hypotheses["largest_stable_eps"]`, then run
    with $\varepsilon$ 10% above it. Which hypothesis fails? Does the *per-step* identity
    (the complex-step rows) still hold? Does RBP's limit?
    """),
    solution(r"""
    small = scale([10, 64, 64], batch=8, steps=40)
    eps_max = small.hypotheses["largest_stable_eps"]
    unstable = scale([10, 64, 64], batch=8, steps=40, eps=1.1 * eps_max)
    print(f"largest stable eps {eps_max:.3f}; with eps = {1.1 * eps_max:.3f}:")
    for failure in unstable.failures:
        print("  ", failure)
    print(f"worst complex-step row {unstable.worst_complex:.1e}, "
          f"RBP limit vs implicit gradient {unstable.gradient['rbp_vs_implicit']:.1e}")
    assert small.passed and not unstable.passed
    assert "hypothesis violated: stable step" in unstable.failures
    assert unstable.worst_complex < 1e-10 and unstable.gradient["rbp_vs_implicit"] > 1
    print("check passed")
    """, r"""
    The *stable step* hypothesis fails: $\varepsilon\lambda_{\max} > 2$. The step-by-step
    identity still holds to float64 rounding (it is algebra, true for every $\varepsilon$),
    but both recursions now oscillate with growing amplitude: RBP's "limit" is off by more
    than 100%, and the early-stopped EP estimate with it. `scale` reports the largest stable
    step so that the fix is one option away.
    """),
    exercise(2, r"""
    **The bias of a real nudge, at scale.** Run the small network with
    $\beta = 10^{-1}, 10^{-2}, 10^{-3}$ and fit the slopes of the real-$\beta$ and the
    symmetric normalized errors of the output layer `s0` against $\beta$.
    """),
    solution(r"""
    betas = [1e-1, 1e-2, 1e-3]
    runs = [scale([10, 64, 64], batch=8, steps=40, beta=b) for b in betas]
    out = [[r for r in run.rows if r["quantity"] == "s0"][0] for run in runs]
    slope_real = np.polyfit(np.log10(betas), np.log10([r["real_beta"] for r in out]), 1)[0]
    slope_sym = np.polyfit(np.log10(betas), np.log10([r["symmetric_beta"] for r in out]), 1)[0]
    for b, r in zip(betas, out):
        print(f"beta = {b:g}: real {r['real_beta']:.2e}, symmetric {r['symmetric_beta']:.2e}, "
              f"complex step {r['complex_step']:.1e}")
    print(f"slopes: real {slope_real:.2f}, symmetric {slope_sym:.2f}")
    assert abs(slope_real - 1) < 0.1 and abs(slope_sym - 2) < 0.1
    print("check passed")
    """, r"""
    The same orders as in notebook 3, now in float64 on a real network: $\beta$ and $\beta^2$.
    The complex-step row does not depend on $\beta$ at all. At $\beta = 0.01$ the real nudge
    agrees with RBP to about two digits, which is what simulations of EP with a real
    $\beta$ report; the complex step shows the identity itself holds to all sixteen.
    """),
    exercise(3, r"""
    **Asymmetric weights at scale.** `scale(..., asymmetry=0.5)` makes the backward weights
    differ from the forward ones, so the dynamics is no longer the gradient of an energy
    (notebook 5). Which hypothesis fails, and what happens to the complex-step rows and to
    EP's limit?
    """),
    solution(r"""
    skewed = scale([10, 64, 64], batch=8, steps=40, asymmetry=0.5)
    for check in skewed.hypotheses["checks"]:
        print(f"  [{'ok' if check['holds'] else 'FAIL':<4}] {check['id']:<15} {check['value']:.3g}")
    print(f"worst complex-step row {skewed.worst_complex:.2f}, "
          f"EP limit vs implicit gradient {skewed.gradient['ep_vs_implicit']:.2f}, "
          f"RBP limit {skewed.gradient['rbp_vs_implicit']:.1e}")
    assert "hypothesis violated: gradient field" in skewed.failures
    assert skewed.worst_complex > 1e-3 and skewed.gradient["rbp_vs_implicit"] < 1e-10
    print("check passed")
    """, r"""
    The *gradient field* hypothesis fails ($Hv \neq H^{\top}v$). Even the complex-step rows
    now disagree by tens of percent: no choice of $\beta$ can repair a missing transpose.
    RBP, which uses the transpose explicitly, still converges to the true gradient; EP
    converges to something else, as in notebook 5, now at the size of a real network.
    """),
    md(r"""
    ## Looking back

    Six notebooks, one thread: the free phase settles at a minimum (1); RBP's side network
    carries the gradient in time (2); EP reads the same gradient from a nudged equilibrium,
    best with a complex nudge (3); inside the nudged phase, EP's velocities *are* RBP's
    error signals (4); that equivalence needs symmetric couplings and nothing else (5); and
    it survives discretization and scale, to the last bit of float64 (6). To go further:
    `eqprop verify --help`, `eqprop scale --help`, and `docs/MATH.md` for every identity
    with the conventions the toolkit computes it in. Notebook 7 closes the unit with the
    practical question: which estimator of the gradient to train with.
    """),
]

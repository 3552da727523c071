"""Notebook 3: equilibrium propagation, Theorem 2, and the bias of a finite beta."""

from .cells import FREE_PHASE, code, exercise, md, solution

NAME = "3_equilibrium_prop.ipynb"
TITLE = "3. Equilibrium propagation: finite, symmetric and complex beta"

CELLS = [
    md(r"""
    # 3. Equilibrium propagation: finite, symmetric and complex $\beta$

    *Notebook 3 of 7 of the course unit on Scellier & Bengio (2019). Runs offline in a few
    seconds; public API of `eqprop` only.*

    **You will learn:** how equilibrium propagation (EP) reads the gradient off two
    equilibria of the same network (Theorem 2), why any real nudging strength $\beta$
    leaves a bias, how the symmetric estimator shrinks it, and how an *imaginary* $\beta$
    removes both the bias and the loss of digits.
    """),
    md(r"""
    ## Nudging the network

    **Definitions (paper 4.1-4.3).** Add the cost to the energy with a small weight $\beta$,
    the **augmented energy** $E^\beta = E + \beta C$. The **nudged phase** is the free phase
    of $E^\beta$, $\;ds/dt = -E_s - \beta C_s$: the output is pulled gently towards the
    target. Its resting point, the **nudged fixed point** $s^\beta$, solves
    $E_s(s^\beta) + \beta C_s(s^\beta) = 0$, and $s^0 = s_0$. EP measures
    $$g(\beta) = E^\beta_\theta(s^\beta) = E_\theta(s^\beta) + \beta\, C_\theta(s^\beta),$$
    which in a layered network is a *local* quantity: for a weight $W_{ij}$ it is
    $-\rho(s_i)\rho(s_j)$ (Hebbian).

    **Theorem 2 (paper 4.4).** $\displaystyle \frac{dJ}{d\theta} = g'(0) = \lim_{\beta \to 0} \frac{g(\beta) - g(0)}{\beta}.$

    *Proof sketch.* At $\beta = 0$ the equation $E_s(s) + \beta C_s(s) = 0$ has the
    solution $s_0$, and its Jacobian in $s$ is $H$, invertible. By the implicit function
    theorem $\beta \mapsto s^\beta$ is a smooth curve near $0$; differentiating the equation
    in $\beta$ at $0$ gives $H\,\frac{ds^\beta}{d\beta} + C_s = 0$. Differentiating $g$ by
    the chain rule, $g'(0) = M \frac{ds^\beta}{d\beta} + C_\theta = C_\theta - M H^{-1} C_s$:
    the implicit-function gradient of notebook 2. Two equilibria replace the side network.
    """),
    md(r"""
    ## Three estimators of $g'(0)$, and their errors

    A computer evaluates $g$ at a finite $\beta$, so $g'(0)$ must be estimated. By Taylor's
    theorem, with $g_k = g^{(k)}(0)$:

    | estimator | formula | error |
    |---|---|---|
    | one-sided | $D_1(\beta) = \dfrac{g(\beta) - g(0)}{\beta}$ | $\tfrac12 g_2\,\beta + O(\beta^2)$ |
    | symmetric | $D_2(\beta) = \dfrac{g(\beta) - g(-\beta)}{2\beta}$ | $\tfrac16 g_3\,\beta^2 + O(\beta^4)$ |
    | complex step | $D_c(h) = \dfrac{\operatorname{Im} g(ih)}{h}$ | $-\tfrac16 g_3\,h^2 + O(h^4)$ |

    *Why.* Subtracting the expansions of $g(\beta)$ and $g(-\beta)$ cancels every even power,
    which is why the symmetric estimator loses its $O(\beta)$ term. For the complex step,
    the nudged fixed point is solved with $\beta = ih$ in complex arithmetic. Since $g$ is
    real on the real axis its Taylor coefficients are real, and
    $g(ih) = g_0 + ih\,g_1 - \tfrac12 h^2 g_2 - \tfrac16 i h^3 g_3 + \dots$: the imaginary part
    holds only the odd terms.

    **Rounding.** Each value of $g$ carries a relative rounding error of about $10^{-p}$ at
    $p$ digits. A real difference quotient subtracts two nearly equal numbers and divides by
    $\beta$, so its total error is about
    $\text{bias}(\beta) + 10^{-p}|g|/\beta$: shrinking $\beta$ first helps, then hurts. The
    complex step subtracts nothing, so $h$ can be as small as we like (here $10^{-24}$):
    its bias $h^2$ falls below any working precision.
    """),
    code(r"""
    import mpmath
    import numpy as np
    import matplotlib.pyplot as plt

    import eqprop
    from eqprop.figures import beta_bias
    from eqprop.numeric import System, newton, relax

    mpmath.mp.dps = 30          # 30 digits: the rounding floor shows at small beta

    model = eqprop.load_model("paper")
    """, FREE_PHASE, r"""
    H, M = system.d2Ebeta_ds2(s0), system.d2E_dtheta_ds(s0)
    dJ = list(mpmath.matrix(system.dC_dtheta(s0)) - M * mpmath.lu_solve(H, mpmath.matrix(system.dC_ds(s0))))


    def g(beta):
        # EP's readout at the nudged fixed point, solved by Newton from s0 (beta may be complex)
        s_beta, _, _ = newton(system, s0, beta=beta)
        return system.dEbeta_dtheta(s_beta, beta)


    def error(estimate):
        return float(max(abs(a - b) for a, b in zip(estimate, dJ)))


    g0 = g(0)
    exponents = np.arange(2, 49) / 2                      # beta = 10^-1 ... 10^-24, half decades
    betas = [mpmath.mpf(10) ** -k for k in exponents]
    one_sided, symmetric, complex_step = [], [], []
    for b in betas:
        g_plus, g_minus = g(b), g(-b)
        one_sided.append(error([(a - c) / b for a, c in zip(g_plus, g0)]))
        symmetric.append(error([(a - c) / (2 * b) for a, c in zip(g_plus, g_minus)]))
        complex_step.append(error([mpmath.im(a) / b for a in g(mpmath.mpc(0, b))]))
    print("max |dJ/dtheta| =", mpmath.nstr(max(abs(v) for v in dJ), 6),
          "  max |g(0)| =", mpmath.nstr(max(abs(v) for v in g0), 6))
    """),
    md(r"""
    ## Picture: three estimators against $\beta$

    Errors are the largest absolute error over the 21 weights, at 30 digits. The real
    estimators fall like $\beta$ and $\beta^2$ until rounding takes over and they rise like
    $1/\beta$; the complex step keeps falling like $h^2$ down to the working precision and
    stays there.
    """),
    code(r"""
    b = 10.0 ** -exponents
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(b, one_sided, "o-", ms=3, label=r"one-sided $D_1(\beta)$")
    ax.loglog(b, symmetric, "s-", ms=3, label=r"symmetric $D_2(\beta)$")
    ax.loglog(b, np.maximum(complex_step, 1e-33), "^-", ms=3, label=r"complex step $D_c(h)$, $h = \beta$")
    ax.loglog(b, 1e-30 / b, "k:", lw=1, label=r"rounding: $10^{-30}/\beta$")
    ax.axhline(1e-30, color="0.6", lw=5, alpha=0.4, label="working precision")
    ax.invert_xaxis()
    ax.set(xlabel=r"nudging strength $\beta$ (or $h$)", ylabel=r"max error against $dJ/d\theta$",
           title="Theorem 2: EP's gradient at finite nudging, 30 digits")
    ax.legend(fontsize=8)
    plt.tight_layout()
    """, figures=1),
    md(r"""
    ## The toolkit's measurement

    `eqprop verify` measures the same biases (rows `T2.bias1`, `T2.bias2`, with fitted
    slopes) at four values of $\beta$, and checks Theorem 2 itself (row `T2`) by Richardson
    extrapolation of real-$\beta$ quotients to $\beta \to 0$, against the implicit gradient.
    `eqprop.figures.beta_bias` draws the measured biases:
    """),
    code(r"""
    report = eqprop.verify(model, dps=15, engine="gbs", times=[0, 1])
    for c in report.checks:
        if c.id.startswith(("T2", "IFT")):
            print(f"{c.id:<9} {'ok' if c.passed else 'FAIL':<5} {c.limit}")
    beta_bias(report);
    """, figures=1),
    exercise(1, r"""
    **Orders.** Fit the slope of $\log(\text{error})$ against $\log\beta$ for the one-sided
    and the symmetric estimator over $10^{-6} \le \beta \le 10^{-2}$, where rounding does not
    matter yet. You should find 1 and 2.
    """),
    solution(r"""
    window = (b >= 1e-6) & (b <= 1e-2)
    slope_1 = np.polyfit(np.log10(b[window]), np.log10(np.array(one_sided)[window]), 1)[0]
    slope_2 = np.polyfit(np.log10(b[window]), np.log10(np.array(symmetric)[window]), 1)[0]
    print(f"one-sided: slope {slope_1:.3f}   symmetric: slope {slope_2:.3f}")
    assert abs(slope_1 - 1) < 0.05 and abs(slope_2 - 2) < 0.05
    print("check passed")
    """, r"""
    The slopes are 1 and 2 to within a few thousandths: the leading terms $\tfrac12 g_2\beta$
    and $\tfrac16 g_3\beta^2$ of the Taylor expansion. In the toolkit these are the slope
    rows `T2.bias1` and `T2.bias2`, which must reach 1 and 2 to within 10%.
    """),
    exercise(2, r"""
    **The best real $\beta$.** Balance the symmetric estimator's bias
    $K\beta^2$ (estimate $K$ from the error at $\beta = 10^{-3}$) against the rounding error
    $10^{-30}|g|/\beta$: the sum is smallest at $\beta^* = (10^{-30}|g| / 2K)^{1/3}$. Compare
    with the $\beta$ at which the measured error is smallest. What is the best accuracy a
    real $\beta$ can give at 30 digits, and what does the complex step give?
    """),
    solution(r"""
    K = symmetric[list(exponents).index(3.0)] / 1e-6
    g_size = float(max(abs(v) for v in g0))
    predicted = (1e-30 * g_size / (2 * K)) ** (1 / 3)
    measured = b[int(np.argmin(symmetric))]
    print(f"best beta: predicted {predicted:.1e}, measured {measured:.1e}")
    print(f"best error: symmetric {min(symmetric):.1e}, complex step {min(complex_step):.1e}")
    assert measured / 10 < predicted < measured * 10
    assert min(complex_step) < 1e-8 * min(symmetric)
    print("check passed")
    """, r"""
    The prediction lands within a factor of a few of the measured optimum (about
    $10^{-10.5}$), and there the symmetric estimator is good to about 21 of the 30 digits:
    two thirds, as the balance $\beta^2 \sim 10^{-30}/\beta$ predicts. The complex step keeps
    every digit. This is why `eqprop verify` and `eqprop scale` nudge with $\beta = ih$.
    """),
    exercise(3, r"""
    **Richardson extrapolation.** The symmetric estimator's error is an even series
    $c_2\beta^2 + c_4\beta^4 + \dots$, so the combination
    $R(\beta) = \big(4 D_2(\beta/2) - D_2(\beta)\big)/3$ cancels the $\beta^2$ term. Show that
    its error falls like $\beta^4$ (use $\beta$ from $10^{-1}$ to $10^{-3}$). The toolkit's row
    `T2` repeats this step until the working precision is reached.
    """),
    solution(r"""
    def D2(beta):
        g_plus, g_minus = g(beta), g(-beta)
        return [(a - c) / (2 * beta) for a, c in zip(g_plus, g_minus)]

    steps = [mpmath.mpf(10) ** -k for k in (1, 1.5, 2, 2.5, 3)]
    richardson = [error([(4 * a - c) / 3 for a, c in zip(D2(beta / 2), D2(beta))]) for beta in steps]
    slope = np.polyfit(np.log10(np.array(steps, float)), np.log10(richardson), 1)[0]
    print("errors:", ", ".join(f"{e:.1e}" for e in richardson), f"  slope {slope:.2f}")
    assert abs(slope - 4) < 0.3
    print("check passed")
    """, r"""
    The slope is 4: one extrapolation step gains two orders. Each further step of Neville's
    table gains two more, which is how row `T2` reaches the working precision from real
    values of $\beta$ only (no complex arithmetic, no solve with $H$): an independent check
    of Theorem 2 against the implicit gradient.
    """),
    md(r"""
    **Next:** notebook 4 looks *inside* the nudged phase, before it reaches $s^\beta$, and
    finds RBP's whole side network there (Theorem 3).
    """),
]

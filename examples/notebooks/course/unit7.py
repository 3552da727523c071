"""Notebook 7: choosing an estimator of dJ/dtheta: orders 1, 2 and N, the radius, truncation."""

from .cells import code, exercise, md, solution

NAME = "7_choosing_an_estimator.ipynb"
TITLE = "7. Choosing an estimator"

CELLS = [
    md(r"""
    # 7. Choosing an estimator

    *Notebook 7 of 7 of the course unit on Scellier & Bengio (2019). Runs offline in under a
    minute; public API of `eqprop` only.*

    **You will learn:** how the estimators of $dJ/d\theta$ that EP is trained with relate to
    one another, why their errors fall like $\beta$, $\beta^2$ and $r^N$, how far a nudge
    may go before an estimator breaks (the *radius*), and how long a nudged phase must run
    when it is stopped early. Every claim is measured against the exact gradient on the
    paper's network by `eqprop.estimators`, the Python form of `eqprop estimators`.
    """),
    md(r"""
    ## One family of estimators

    Notebook 3 introduced the readout $g(\beta) = E^\beta_\theta(s^\beta)$ and Theorem 2,
    $dJ/d\theta = g'(0)$. Near $\beta = 0$ the readout is a power series
    $g(\beta) = a_0 + a_1\beta + a_2\beta^2 + \dots$ with $a_1 = dJ/d\theta$. Put $N$ nudges
    on the circle $|\beta| = r$, at $\beta_k = r\,w^k$ with $w = e^{2\pi i/N}$, and combine
    them as a discrete Cauchy integral:
    $$D_N(r) = \frac{1}{N r}\sum_{k=0}^{N-1} w^{-k}\,\big(g(r w^k) - g(0)\big).$$
    With $N = 1$ this is the one-sided estimator $(g(r) - g(0))/r$ (and $r < 0$ nudges the
    other way); with $N = 2$ ($w = -1$) it is the centered one $(g(r) - g(-r))/(2r)$. From
    $N = 3$ on the nudges are complex: *holomorphic EP*.

    **Theorem (the order of $D_N$).** Inside the radius of convergence $R$ of $g$,
    $$D_N(r) = a_1 + a_{N+1}\,r^N + a_{2N+1}\,r^{2N} + \dots,$$
    so the error of $D_N$ falls like $r^N$: order 1 for one-sided nudging, 2 for the
    centered estimator, $N$ for $N$ nudges on a circle.

    *Proof sketch.* Insert the series: $D_N(r) = \sum_{m \ge 1} a_m r^{m-1}\,
    \frac1N\sum_k w^{k(m-1)}$. The inner sum is a sum of $N$-th roots of unity: it equals
    $N$ when $N$ divides $m - 1$ and $0$ otherwise (a geometric series whose ratio
    $w^{m-1} \neq 1$ returns to its start after $N$ steps). Only $m = 1, N+1, 2N+1, \dots$
    survive. The series converges for $r < R$, so the tail is dominated by its first term.
    """),
    md(r"""
    ## How far may the nudge go? The radius

    $g$ is analytic only up to its nearest singularity $\beta^*$, where the nudged fixed
    point stops being a smooth function of $\beta$: typically a *fold*, where
    $H(s^\beta) + \beta\,\partial^2 C/\partial s^2$ turns singular and two equilibria merge,
    or where $s^\beta$ leaves a domain. By the Cauchy-Hadamard formula
    $|a_m| \approx R^{-m}$ with $R = |\beta^*|$, so the error of $D_N$ is about
    $C\,(r/R)^N$: inside the circle $|\beta| = R$ each added nudge multiplies it by
    $r/R < 1$; outside, the series does not converge and the estimate is worthless. The
    radius is therefore the budget of a nudge's size.

    eqprop finds $R$ from the samples themselves: nudges on a circle, turned into Taylor
    coefficients by a discrete Fourier transform, satisfy the mean-value property
    $a_0 = g(0)$ only inside the radius. A scan of small circles (32 nudges) estimates $R$
    roughly; 128 nudges on a circle of about $0.6R$ then give $a_0, \dots, a_{64}$, and a
    short linear recurrence fitted to their tail has a root $z$ that gives
    $\beta^* = \rho / z$: both its distance and its direction.

    ## How long must a nudged phase run? Truncation

    Notebook 4 showed that stopping the nudged phase at time $t$ is truncated RBP, with the
    error $M H^{-1} e^{-tH} C_s$. In the eigenbasis of $H$ each mode decays at its own
    rate; after a while only the slowest mode that both $C_s$ and $M$ reach is left, and the
    error falls like $e^{-\lambda t}$. Every factor of 10 in accuracy costs $\ln 10/\lambda$
    more time.
    """),
    code(r"""
    import numpy as np
    import matplotlib.pyplot as plt

    import eqprop
    from eqprop.figures import estimators as figs

    # the paper's network at 20 digits; holomorphic EP with 4, 8 and 16 nudges (N = 1 and 2
    # always run); the run checks every order and the radius against the exact gradient
    report = eqprop.estimators("paper", dps=20, points=(4, 8, 16), engine="gbs")
    print(report.table())
    """),
    md(r"""
    ## Pictures

    Every curve below is a measured error against the exact $dJ/d\theta$ (one linear solve,
    notebook 2); dashed lines are guides, and each legend says what a guide is anchored on.
    First the whole family against its nudge: the slopes are the orders 1, 1, 2, 4, 8, 16.
    The one-sided and centered estimators are shown at tiny real $\beta$; the holomorphic
    ones at radii of order $0.1$ to $0.5$, far larger nudges, and still more accurate.
    """),
    code(r"""
    figs.errors(report);
    """, figures=1),
    md(r"""
    At one radius, $r = R/2$, the error against the number of nudges: from $N = 1$ to
    $N = 16$ it falls by orders of magnitude, and for large $N$ it follows $(r/R)^N = 2^{-N}$.
    """),
    code(r"""
    figs.points(report);
    """, figures=1),
    md(r"""
    Across the radius, with 32 nudges: the error follows the law $C(r/R)^{32}$ fitted on
    $r \le 0.8R$ up to $0.9R$, and beyond $R$ it has left it (the row `EST.break`). Then the
    complex $\beta$-plane: above the axis the circles the radius search tried (dashed:
    refused), below it the circles the estimators were evaluated on, the circle $|\beta| = R$
    and the singularity $\beta^*$ on it, with its mirror image ($g$ is real on the real axis,
    so its singularities come in conjugate pairs).
    """),
    code(r"""
    figs.radius(report);
    """, figures=1),
    code(r"""
    figs.plane(report);
    """, figures=1),
    md(r"""
    Last, truncation: the error of the nudged phase stopped at time $t$, and the predicted
    $e^{-\lambda t}$ with $\lambda$ the slowest eigenvalue of $H$ that the cost excites.
    """),
    code(r"""
    figs.truncated(report);
    """, figures=1),
    md(r"""
    ## Which estimator, then?

    * **Real nudges only** (an analog circuit, a physical system): use both signs and the
      centered estimator. Its bias is $O(\beta^2)$ instead of $O(\beta)$ for the price of one
      more nudged phase, and a larger $\beta$ keeps more of the signal above the noise.
    * **Complex nudges** (oscillators, or any simulation): $N$ nudges on a circle gain a
      factor $r/R$ per nudge. Keep $r$ well inside $R$ (half of it gives a factor 2 per
      nudge); near or beyond $R$ more nudges do not help.
    * **In simulation**, the complex step $\operatorname{Im} g(ih)/h$ is exact to the
      working precision (row `EST.cs`), with a single nudge.
    * **However you nudge**, the nudged phase must run long enough: about
      $\ln(1/\varepsilon)/\lambda$ for a relative error $\varepsilon$.
    """),
    exercise(1, r"""
    **Orders from the data.** From `report.to_dict()["series"]`, fit the slope of
    $\log(\text{relative error})$ against $\log|\beta|$ for the one-sided ($\beta > 0$) and the
    centered estimator, and against $\log r$ for $N = 8$, with `np.polyfit`. Compare with
    the orders the rows fitted (`lhs` of `EST.N1+`, `EST.N2`, `EST.N8`). How much must
    $\beta$ shrink for the one-sided estimator to reach the error of the centered one at
    $\beta = 10^{-4}$?
    """),
    solution(r"""
    d = report.to_dict()
    series = {s["name"]: s for s in d["series"]}
    rows = {c["id"]: c for c in d["checks"]}

    def xy(name):
        pts = series[name]["points"]
        return (np.abs([float(p["value"]) for p in pts]),
                np.array([float(p["relative"]) for p in pts]))

    slopes = {}
    for name, row in (("one-sided, beta > 0", "EST.N1+"), ("centered", "EST.N2"),
                      ("holomorphic, N = 8", "EST.N8")):
        x, y = xy(name)
        slopes[row] = np.polyfit(np.log10(x), np.log10(y), 1)[0]
        print(f"{name:<22} slope {slopes[row]:.3f}, row {float(rows[row]['lhs']):.3f}")

    # the centered error at 1e-4 (on its line), and the beta where the one-sided line meets it
    x1, y1 = xy("one-sided, beta > 0")
    x2, y2 = xy("centered")
    target = np.interp(-4, np.log10(x2)[::-1], np.log10(y2)[::-1])
    beta = 10 ** np.interp(target, np.log10(y1)[::-1], np.log10(x1)[::-1], left=np.nan)
    if np.isnan(beta):  # below the measured range: extrapolate along order 1
        beta = x1.min() * 10 ** (target - np.log10(y1.min()))
    print(f"centered at 1e-4: relative error {10 ** target:.1e}; the one-sided estimator "
          f"needs beta = {beta:.1e}")
    for row, order in (("EST.N1+", 1), ("EST.N2", 2), ("EST.N8", 8)):
        assert abs(slopes[row] - order) < 0.05 * order
    assert beta < 1e-7
    print("check passed")
    """, r"""
    The slopes are the orders of the theorem: 1, 2 and 8, as the rows fitted. At
    $\beta = 10^{-4}$ the centered estimator is already at about $10^{-8}$; the one-sided
    estimator reaches that only at $\beta \approx 10^{-8}$, four decades smaller, where a
    real system's noise (and float64's rounding, notebook 3) swamps the difference
    $g(\beta) - g(0)$. That is why centered nudging pays for its second phase.
    """),
    exercise(2, r"""
    **How many nudges?** From the series measured at $r = R/2$ (its `parameter` is `"N"`),
    compute the factor by which the error falls per added nudge between $N = 8$ and
    $N = 16$, and compare it with $r/R$. How many nudges would reach a relative error of
    $10^{-15}$ at this radius?
    """),
    solution(r"""
    along = next(s for s in report.to_dict()["series"] if s["parameter"] == "N")
    n = [float(p["value"]) for p in along["points"]]
    err = [float(p["relative"]) for p in along["points"]]
    r, R = float(along["fixed"]["r"]), float(along["fixed"]["R"])
    e8, e16 = err[n.index(8)], err[n.index(16)]
    factor = (e16 / e8) ** (1 / 8)
    needed = 16 + np.log(1e-15 / e16) / np.log(factor)
    print(f"r/R = {r / R:.3f}; the error falls by {factor:.3f} per nudge from N = 8 to 16")
    print(f"about {needed:.0f} nudges for 1e-15 at r = R/2")
    assert abs(r / R - 0.5) < 1e-6
    assert 0.35 < factor < 0.65 and 30 < needed < 80
    print("check passed")
    """, r"""
    The measured factor is close to $r/R = 1/2$: beyond a few nudges the error is the first
    term $a_{N+1} r^N$ of the theorem, and $|a_{N+1}| \approx R^{-(N+1)}$. About fifty
    nudges reach $10^{-15}$ at half the radius; at a quarter of it, half as many would, since
    each nudge then gains a factor 4. The radius is what turns "more nudges" into accuracy.
    """),
    exercise(3, r"""
    **How long must the nudged phase run?** With $\lambda$ from the row `EST.trunc` (its
    `rhs`) and the last point of the truncation series, predict the time at which the
    relative error of early-stopped EP falls to $10^{-6}$, and check the prediction against
    the measured points on either side of it.
    """),
    solution(r"""
    trunc = next(s for s in report.to_dict()["series"] if s["row"] == "EST.trunc")
    rate = float(next(c for c in report.to_dict()["checks"] if c["id"] == "EST.trunc")["rhs"])
    t = [float(p["value"]) for p in trunc["points"]]
    err = [float(p["relative"]) for p in trunc["points"]]
    when = t[-1] - np.log(1e-6 / err[-1]) / rate
    before = max(k for k, e in enumerate(err) if e >= 1e-6)
    print(f"lambda = {rate:.4f}: predicted t = {when:.2f}; measured {err[before]:.1e} at "
          f"t = {t[before]:.2f} and {err[before + 1]:.1e} at t = {t[before + 1]:.2f}")
    assert t[before] <= when <= t[before + 1]
    print("check passed")
    """, r"""
    The prediction falls between the two measured points around $10^{-6}$: from the last
    point backwards, only the slowest mode matters, and every decade of accuracy costs
    $\ln 10/\lambda \approx 2.6$ time units on this network. Early in the phase the faster
    modes are still present and the error is larger than the single exponential says.
    """),
    md(r"""
    ## End of the unit

    Seven notebooks, one thread: the free phase settles at a minimum (1); RBP's side network
    carries the gradient in time (2); EP reads the same gradient from a nudged equilibrium
    (3); while the nudged phase moves, EP's velocities are RBP's error signals (4); that needs
    symmetric couplings (5) and survives discretization and scale (6); and the estimators EP
    is trained with differ by the order of their bias, bounded by the radius of the nudge
    and the time the phase runs (7). From the command line: `eqprop estimators --figures
    DIR` draws these figures for your own model.
    """),
]

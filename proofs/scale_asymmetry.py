"""EP's gradient against the true one as the layered network turns asymmetric, at realistic size.

The float64, batched counterpart of :mod:`~eqprop.proofs.asymmetry` (docs/MATH.md
section 10). The layered vector field of :func:`~eqprop.symbolic.arrays.layered`
with ``asymmetry = alpha_max`` lets layer l+1 hear layer l through constant
backward weights ``B(alpha_max)`` instead of ``W^T``. Its code is generated
once; each strength alpha replaces the constants (``build(..., values=)``) by

    B(alpha) = W + (alpha / alpha_max) (B(alpha_max) - W),

so that alpha = 0 is the gradient field of the Hopfield energy and the field
is affine in alpha at a fixed state. The symmetric fixed point s0 is a minimum
of the Hopfield energy (the free phase on the energy, then on the field at
alpha = 0); each strength's fixed point is continued from s0 through the
smaller strengths of its sign (the free phase started at the previous one), and

- the true gradient is ``C_theta - M H^-T C_s`` (:func:`~.scale_gradients.implicit_gradient`,
  a solve with H^T: Theorem 1 holds for any field);
- EP's gradient is the readout of the complex-step nudged fixed point
  (``beta = i h``), ``M Im(s^beta) / h + C_theta = C_theta - M H^-1 C_s``, as
  :func:`~.scale_gradients.compare_gradients` computes its ``ep`` line.

Their gap ``Delta(alpha) = EP - true = -M (H^-1 - H^-T) C_s`` is O(alpha) with

    Delta'(0) = M0 H0^-1 (A - A^T) H0^-1 C_s0,     A = dH/dalpha at s0 (s held fixed),   (10.1)

H = -dF/ds. Because the field is affine in the B arrays, ``A v`` is exactly
``(H_+ v - H_- v) / (2 alpha_max)`` from the linearizations at s0 of the
networks at ``+-alpha_max`` (the largest step: the least rounding).

Rows (:class:`~.report.Check`): ``ASYM.order``, the fitted order of max|Delta| in
alpha over the strengths above float64's rounding (at least 1, to 10%), and
``ASYM.first``, Delta'(0) measured (the centered quotients
``(Delta(a) - Delta(-a)) / 2a`` at the two smallest strengths, Richardson-extrapolated
in a^2) against (10.1) evaluated at alpha = 0 alone, to :data:`REQUIRED_DIGITS`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from eqprop.errors import EqpropError
from eqprop.numeric.batch_solve import free_phase, solve

from .options import finite_number
from .report import Check
from .scale import _initial_state, arguments
from .scale_agreement import _flat
from .scale_arguments import MAX_ASYMMETRY, MAX_FLOPS, MAX_MEMORY
from .scale_gradients import implicit_gradient
from .scale_network import build, resolve
from .scale_theorem3 import _complex_readout, _Readout

__all__ = ["AsymmetryAtScale", "Gap", "check", "gradients", "first_order", "a_products",
           "ALPHAS", "REQUIRED_DIGITS", "ROUNDING", "MIN_ALPHA_MAX"]

#: the strengths are ``alpha_max / d`` for these ``d``
ALPHAS = (1, 3, 10, 30, 100)
#: ASYM.first's required agreement: float64 gaps at alpha_max / 100 keep about 10 digits of
#: Delta'(0) (rounding 1e-14 of the gradient over the strength), Richardson about 8
REQUIRED_DIGITS = 4.0
#: a gap below this fraction of the gradient (2-norms) is float64's rounding: left out of the fit
ROUNDING = 1e-12
#: the smallest ``alpha_max``: below it the gaps at alpha_max / 100 sink towards the solver's
#: rounding (1e-14 of the gradient), and Delta'(0) keeps fewer than 6 digits
MIN_ALPHA_MAX = 1e-6
#: the complex step of EP's nudged fixed point, and the solver's relative tolerance
H_STEP, SOLVER_TOL = 1e-20, 1e-14
#: Newton steps to the nudged fixed point from s: the first solves H u = -C_s, the second
#: refines it (measured on 10-512-512-784: the gaps of 2 and 4 steps agree to 1e-15)
NEWTON_STEPS = 2
#: digits are capped at float64's
CAP = 15.0


@dataclass(frozen=True)
class Gap:
    """EP's gradient against the true one at strength ``alpha`` (over every parameter entry):
    ``relative`` |EP - true| / |true| (2-norms), the ``cosine`` and ``angle`` (degrees)
    between them, the per-parameter ``rmse``, ``absolute`` max_i |EP_i - true_i|, and the
    free phase's ``residual`` max|F(s)| at this strength."""

    alpha: float
    relative: float
    cosine: float
    angle: float
    rmse: float
    absolute: float
    residual: float

    def to_dict(self):
        return {k: float(getattr(self, k)) for k in
                ("alpha", "relative", "cosine", "angle", "rmse", "absolute", "residual")}


def measure(alpha, ep, true, residual=0.0):
    """The :class:`Gap` of the flat vectors ``ep`` and ``true``."""
    diff = ep - true
    n_ep, n_true = float(np.linalg.norm(ep)), float(np.linalg.norm(true))
    nd = float(np.linalg.norm(diff))
    relative = nd / n_true if n_true else (math.inf if nd else 0.0)
    if n_ep and n_true:
        u, v = ep / n_ep, true / n_true
        cosine = float(np.dot(u, v))
        # 2 atan2(|u - v|, |u + v|): accurate for small angles too, where acos(cos) is not
        angle = math.degrees(2 * math.atan2(np.linalg.norm(u - v), np.linalg.norm(u + v)))
    else:
        cosine = angle = math.nan
    rmse = nd / math.sqrt(diff.size) if diff.size else 0.0
    absolute = float(np.max(np.abs(diff))) if diff.size else 0.0
    return Gap(float(alpha), relative, cosine, angle, rmse, absolute, float(residual))


@dataclass(frozen=True)
class AsymmetryAtScale:
    """The study's numbers: per strength the :class:`Gap` (``gaps``, largest alpha first),
    the fitted ``order`` (None when too few strengths were above rounding), Delta'(0) both
    ways (``formula_norm``, ``measured_norm``: 2-norms over the parameters; ``richardson``:
    the extrapolation's correction, max abs), ``at_zero`` (the :class:`Gap` at alpha = 0,
    where EP is the true gradient but for float64's rounding), ``symmetry`` (max|(H0 - H0^T) x| / max|H0 x|
    at s0), and the wall times."""

    layers: list
    batch: int
    alpha_max: float
    gaps: list
    order: float | None
    formula_norm: float
    measured_norm: float
    richardson: float
    at_zero: Gap
    symmetry: float
    seconds: dict = field(default_factory=dict)

    @property
    def alphas(self):
        return [g.alpha for g in self.gaps]

    def to_dict(self):
        return {"layers": list(self.layers), "batch": self.batch, "alpha_max": self.alpha_max,
                "alphas": self.alphas, "gaps": [g.to_dict() for g in self.gaps],
                "order": self.order, "formula_norm": self.formula_norm,
                "measured_norm": self.measured_norm, "richardson": self.richardson,
                "at_zero": self.at_zero.to_dict(), "symmetry": self.symmetry,
                "seconds": dict(self.seconds)}


# -- the two sides --------------------------------------------------------------------------------
def gradients(net, s):
    """``(EP, true)`` at the fixed point ``s`` of ``net``, as flat vectors over the parameters:
    EP from the complex-step nudged fixed point (no solve with H; Newton from s with
    ``beta = i h``), the true one by one solve with H^T."""
    true = _flat(implicit_gradient(net, s, tol=SOLVER_TOL))
    readout = _Readout(net, s, net.linearize(s))
    s_beta, _, _ = net.newton(s.astype(complex), beta=1j * H_STEP, tol=1e-300, maxiter=NEWTON_STEPS)
    return _flat(_complex_readout(net, s_beta, H_STEP, readout)), true


def a_products(s0, plus, minus, delta, v):
    """``(A v, A^T v)`` with ``A = dH/dalpha`` at ``s0``, from the networks ``plus`` and
    ``minus`` at strengths ``+-delta``: exact (up to rounding) for a field affine in alpha."""
    lp, lm = plus.linearize(s0), minus.linearize(s0)
    av = (lp.hv(v) - lm.hv(v)) / (2 * delta)
    atv = (lp.hv(v, transpose=True) - lm.hv(v, transpose=True)) / (2 * delta)
    return av, atv


def first_order(net0, s0, plus, minus, delta):
    """(10.1) at alpha = 0 alone: ``M0 H0^-1 (A - A^T) H0^-1 C_s0`` (flat), H0 = -dF/ds at
    the symmetric fixed point ``s0`` of ``net0``, A from :func:`a_products`."""
    lin0 = net0.linearize(s0)
    x = solve(lin0, net0.dC_ds(s0), tol=SOLVER_TOL)
    av, atv = a_products(s0, plus, minus, delta, x)
    return _flat(lin0.mv(solve(lin0, av - atv, tol=SOLVER_TOL)))


# -- the run --------------------------------------------------------------------------------------
class _Family:
    """The layered field's code, generated once, and its networks at any strength."""

    def __init__(self, args, alpha_max, rho="sigmoid", cost="squared"):
        self.args, self.alpha_max, self.rho, self.cost = args, alpha_max, rho, cost
        top = self._build(None)
        self.numbers = top.numbers
        self.names = sorted(n for n in top.numbers if n.startswith("B") and n[1:].isdigit())
        if not self.names:
            raise EqpropError("layers: the layered network needs at least two free layers (three "
                              "sizes, such as 10,64,100) to have backward weights to make asymmetric")
        self.W = {n: top.numbers["W" + n[1:]] for n in self.names}
        self.noise = {n: top.numbers[n] - self.W[n] for n in self.names}

    def _build(self, values):
        a = self.args
        return build(a.model, batch=a.batch, data=a.data, seed=a.seed, backend=a.backend,
                     device=a.device, program=a.program, values=values)

    def net(self, alpha):
        """The network whose backward weights are ``W + (alpha / alpha_max) (B - W)``."""
        k = alpha / self.alpha_max
        return self._build({n: self.W[n] + k * self.noise[n] for n in self.names}).net

    def energy(self):
        """The field at alpha = 0 written as the Hopfield energy (its own code), with the
        family's parameters and data: a free phase that descends it finds a minimum, where
        one on the field's residual |F|^2 / 2 may stall (tanh from zeros, say)."""
        a = self.args
        m = resolve(list(a.model.layers), layered_options=dict(rho=self.rho, cost=self.cost,
                                                                seed=a.seed))
        values = {n: v for n, v in self.numbers.items() if n in m.specs}
        return build(m, batch=a.batch, data=a.data, seed=a.seed, backend=a.backend,
                     device=a.device, values=values).net


def _fixed_point(net, start, eps, alpha):
    """The free phase from ``start``; EqpropError where an example found no fixed point."""
    free = free_phase(net, start, eps=eps)
    bad = [i for i, st in enumerate(free.status) if st not in ("converged", "floor")]
    if bad:
        i = bad[0]
        where = (f"at strength {alpha:g} the field has no fixed point near the symmetric one"
                 if alpha else "the symmetric field's free phase found no fixed point")
        fix = ("lower alpha_max or use another seed (a fold of the fixed point may lie near)"
               if alpha else "use another seed or init='random'")
        raise EqpropError(f"asymmetry: {where} for {len(bad)} of {len(free.status)} examples "
                          f"(example {i}: {free.status[i]}, residual {free.residual[i]:.1e}); {fix}")
    return free.s, float(np.max(free.residual))


def check(layers, *, alpha_max, rho="sigmoid", cost="squared", batch=16, seed=0, eps=0.5,
          data="random", init="zeros", backend="numpy", device=None, progress=None,
          estimate=gradients, formula=first_order):
    """Rows ASYM.order and ASYM.first for the layered network ``layers`` ([n_out, ..., n_in]);
    returns ``(AsymmetryAtScale, rows)``.

    ``alpha_max`` is the largest strength (the noise on the backward weights relative to
    their Glorot scale), checked against [:data:`MIN_ALPHA_MAX`, 1e6]. ``estimate(net, s)``
    -> ``(EP, true)`` and ``formula(net0, s0, plus, minus, delta)`` -> Delta'(0) are the two
    sides (replaceable, for the negative controls). The free phase at alpha = 0 starts
    from ``init`` (zeros or a seeded normal state), every other strength's from its s0.
    """
    alpha_max = finite_number(alpha_max, "alpha_max")
    if not MIN_ALPHA_MAX <= alpha_max <= MAX_ASYMMETRY:
        raise EqpropError(f"alpha_max: the largest strength must lie in [{MIN_ALPHA_MAX:g}, "
                          f"{MAX_ASYMMETRY:g}] (below, the gaps sink into float64's rounding), "
                          f"got {alpha_max:g}")
    args = arguments(layers, batch=batch, data=data, rho=rho, eps=eps, steps=1, h=H_STEP,
                     beta=0.01, seed=seed, cost=cost, continuous=False, asymmetry=alpha_max,
                     init=init, plain_layers=(), biases=False, dims=None, backend=backend,
                     device=device, progress=progress, max_memory=MAX_MEMORY,
                     max_flops=MAX_FLOPS)
    family = _Family(args, alpha_max, rho, cost)
    with np.errstate(all="ignore"):
        return _run(family, args, estimate, formula)


def _run(family, args, estimate, formula):
    """The stages of :func:`check` after the arguments: symmetric s0, the strengths, the
    formula, the rows."""
    seconds = {"model": time.perf_counter() - args.started}
    t = time.perf_counter()
    args.say("alpha = 0: free phase of the symmetric field, EP and the true gradient")
    net0 = family.net(0.0)
    start = _initial_state(args.init, args.batch, net0.n_free, args.seed)
    start, _ = _fixed_point(family.energy(), start, args.eps, 0.0)  # a minimum of the energy
    s0, residual = _fixed_point(net0, start, args.eps, 0.0)  # the same point, on the field
    ep0, true0 = estimate(net0, s0)
    at_zero = measure(0.0, ep0, true0, residual)
    seconds["symmetric"] = time.perf_counter() - t
    t = time.perf_counter()
    alphas = [family.alpha_max / d for d in ALPHAS]
    deltas, gaps = {}, []
    # continuation along the branch of s0: each strength from the fixed point of the next
    # smaller one of its sign
    near = {1: s0, -1: s0}
    for a in sorted(alphas + [-a for a in alphas[-2:]], key=abs):
        args.say(f"alpha = {a:.3g}: fixed point (continued from s0), EP (complex step) and the "
                 "true gradient")
        net = family.net(a)
        s, residual = _fixed_point(net, near[np.sign(a)], args.eps, a)
        near[np.sign(a)] = s
        ep, true = estimate(net, s)
        deltas[a] = ep - true
        if a > 0:
            gaps.insert(0, measure(a, ep, true, residual))
    seconds["strengths"] = time.perf_counter() - t
    t = time.perf_counter()
    args.say("Delta'(0) by the first-order formula at alpha = 0")
    plus, minus = family.net(family.alpha_max), family.net(-family.alpha_max)
    predicted = formula(net0, s0, plus, minus, family.alpha_max)
    symmetry = _symmetry(net0, s0)
    seconds["formula"] = time.perf_counter() - t
    measured, correction = _extrapolate(deltas, alphas[-2], alphas[-1])
    order_row, order = _order_row(gaps, at_zero)
    # each gap carries the solves' rounding, about SOLVER_TOL of the gradient (10 times, safe)
    noise = 10 * SOLVER_TOL * (float(np.max(np.abs(true0))) if true0.size else 0.0)
    first = _first_row(measured, predicted, correction, 2 * noise / alphas[-1])
    seconds["total"] = time.perf_counter() - args.started
    m = args.model
    found = AsymmetryAtScale(
        layers=list(m.layers), batch=args.batch, alpha_max=family.alpha_max, gaps=gaps,
        order=order, formula_norm=float(np.linalg.norm(predicted)),
        measured_norm=float(np.linalg.norm(measured)), richardson=correction,
        at_zero=at_zero, symmetry=symmetry, seconds=seconds)
    return found, [order_row, first]


def _symmetry(net0, s0):
    """max|(H0 - H0^T) x| / max|H0 x| at s0 for x = H0^-1 C_s: zero but for rounding, as the
    formula assumes (alpha = 0 is a gradient field)."""
    lin = net0.linearize(s0)
    x = solve(lin, net0.dC_ds(s0), tol=SOLVER_TOL)
    hx = lin.hv(x)
    size = float(np.max(np.abs(hx))) if hx.size else 0.0
    return float(np.max(np.abs(hx - lin.hv(x, transpose=True)))) / size if size else 0.0


def _extrapolate(deltas, a1, a2):
    """Delta'(0) from the centered quotients ``S(a) = (Delta(a) - Delta(-a)) / 2a`` at
    ``a1 > a2`` (error c a^2 + O(a^4)), Richardson in a^2; and the correction it made
    (max |limit - S(a2)|), the size of the error left in S(a2)."""
    s1 = (deltas[a1] - deltas[-a1]) / (2 * a1)
    s2 = (deltas[a2] - deltas[-a2]) / (2 * a2)
    limit = (a1 ** 2 * s2 - a2 ** 2 * s1) / (a1 ** 2 - a2 ** 2)
    return limit, float(np.max(np.abs(limit - s2))) if limit.size else 0.0


# -- the rows -------------------------------------------------------------------------------------
def _order_row(gaps, at_zero):
    """ASYM.order: the fitted order of max|EP - true| in alpha, at least 1 (to 10%), over the
    strengths whose gap lies above float64's rounding (:data:`ROUNDING` of the gradient);
    ``(Check, order or None)``. O(alpha) also needs a gap of zero at alpha = 0 (``at_zero``,
    a gradient field): one beyond the rounding fails the row, whatever the slope."""
    pts = [(g.alpha, g.absolute) for g in gaps if g.relative > ROUNDING]
    sides = ("max|EP - true| at the strengths above rounding", "order 1 (MATH.md 10.1)")
    common = dict(id="ASYM.order", equation="10.1", t=None, scale=1, required=1.0, kind="slope",
                  sides=sides)
    slope = None
    if len(pts) >= 3:
        x, y = np.log10([p[0] for p in pts]), np.log10([p[1] for p in pts])
        slope = float(np.polyfit(x, y, 1)[0])
    if at_zero.relative > ROUNDING:
        return Check(max_abs_error=at_zero.absolute, digits=0.0, lhs=slope, rhs=1, limit=(
            f"EP and the true gradient differ by {at_zero.relative:.1e} (relative) at alpha = 0, "
            "a gradient field, where they must agree: the gap is not O(alpha)"), **common), slope
    if slope is None:
        top = max((g.relative for g in gaps), default=0.0)
        return Check(max_abs_error=0, digits=0.0, testable=False, limit=(
            f"EP and the true gradient agree to float64's rounding at {len(gaps) - len(pts)} of "
            f"{len(gaps)} strengths (largest relative gap {top:.1e}): nothing to fit; the field "
            "acts as a symmetric one here, or the EP side is the true gradient (raise "
            "alpha_max)"), **common), None
    dev = max(0.0, 1.0 - slope)
    digits = min(CAP, -math.log10(dev)) if dev else CAP
    return Check(max_abs_error=dev, digits=digits, lhs=slope, rhs=1, limit=(
        f"fitted order {slope:.4f} of |EP - true| in alpha over {len(pts)} strengths (at least "
        "1)"), **common), slope


def _first_row(measured, predicted, correction, rounding):
    """ASYM.first: Delta'(0) measured (Richardson) against (10.1), digits of the largest
    entry's size; n/a where the extrapolation's ``correction`` plus the gaps' ``rounding``
    over the smallest strength explain the disagreement (the row cannot tell a wrong
    formula from its own noise)."""
    err = float(np.max(np.abs(measured - predicted))) if measured.size else 0.0
    size = max(float(np.max(np.abs(measured))), float(np.max(np.abs(predicted)))) \
        if measured.size else 0.0
    sides = ("(EP - true)(alpha) / alpha as alpha -> 0: centered at the two smallest "
             "strengths, Richardson in alpha^2", "M0 H0^-1 (A - A^T) H0^-1 C_s0 at alpha = 0")
    i = int(np.argmax(np.abs(predicted))) if predicted.size else 0
    common = dict(id="ASYM.first", equation="10.1", t=None, max_abs_error=err, scale=size,
                  required=REQUIRED_DIGITS, sides=sides,
                  lhs=float(measured[i]) if measured.size else None,
                  rhs=float(predicted[i]) if predicted.size else None)
    if size == 0:
        return Check(digits=0.0, testable=False, limit="every entry of Delta'(0) is zero both "
                     "ways: nothing to compare", **common)
    digits = min(CAP, max(0.0, -math.log10(err / size))) if err else CAP
    noise = correction + rounding
    limit = (f"Richardson's correction {correction:.1e} and the gaps' rounding over the "
             f"smallest strength {rounding:.1e}, of entries up to {size:.1e}")
    if digits < REQUIRED_DIGITS and 3 * noise >= err:
        return Check(digits=digits, testable=False, limit=f"undecided: {limit} are as large as "
                     "the disagreement; change alpha_max", **common)
    return Check(digits=digits, limit=limit, **common)

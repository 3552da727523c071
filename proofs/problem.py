"""The shared setting of every check: a model, its free fixed point, its grid.

:func:`prepare` derives and compiles the model once, relaxes the free
dynamics (float64), polishes the fixed point s0 by Newton at the working
precision, evaluates H, M, C_s and C_theta there and checks the theorems'
hypotheses (MATH.md section 1): s0 real and finite with every function in
its real domain, a fixed point, a strict minimum. Every theorem module then
works from the same :class:`Problem`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import NamedTuple

import mpmath

from eqprop.numeric.highprec import GUARD_DPS, System, derivative, digits_of_agreement
from eqprop.symbolic.precision import Precision, working

from . import noise
from .at_fixed_point import at_rest, ingredients, inside_domain, resolution, time_grid
from .free_phase import build, fixed_point, free_phase
from .grid import default_times, t_infinity
from .hypotheses import symmetric_nearby
from .options import Options
from .outcomes import Stop
from .report import Check

__all__ = ["Problem", "Prepared", "prepare", "default_times", "t_infinity"]


@dataclass
class Problem:
    """Everything the checks share. Numbers are mpmath at ``working_dps``."""

    model: object           # eqprop.Model
    compiled: object        # eqprop.symbolic.codegen.Compiled
    system: System
    dps: int
    working_dps: int
    required_digits: float
    s0: list                # (n,) free fixed point
    H: object               # mpmath.matrix (n, n): d2E_ds2 at s0
    M: object               # mpmath.matrix (p, n): d2E_dtheta_ds at s0
    C_s: list               # (n,) dC_ds at s0
    C_theta: list           # (p,) dC_dtheta at s0
    eig_min: object         # smallest eigenvalue of H (real part, vector fields)
    times: list             # the grid, absolute times of each phase
    h: object               # complex step
    tol: object             # integrator tolerance per step
    holomorphic: bool
    seed: int
    h_divisor: object = None  # a deliberately wrong complex-step divisor (negative controls)
    t_infinity: float | None = None
    beta_step: object = mpmath.mpf("1e-3")  # largest real beta, inside beta -> s^beta's radius
    beta_radius: object = mpmath.mpf(1)     # estimated radius of convergence of beta -> s^beta
    edge_distance: object = None  # how far s may move from s0 inside every function's domain
    spreads: dict = field(default_factory=dict)  # s0's rounding in H, M, C_s, C_theta, in eps
    rest: object = None  # |force| at which s0 counts as at rest: 10^-(w-5) of its terms; holomorphic only
    parallel: bool = True  # KBE's trajectories may integrate in a forked child (kbe_sides.Prefetch)
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def size(self, name):
        """Entry-wise size of ingredient ``name`` (H, M, C_s, C_theta) as computed: its value,
        or the rounding that s0's own rounding puts into it if larger (:mod:`.noise`)."""
        return self.kept(("size", name),
                         lambda: noise.size(getattr(self, name), self.spreads.get(name), self.rounding))

    def kept(self, key, compute):
        """``compute()``, once per problem and working precision (its result must not be
        modified). A problem made by ``dataclasses.replace`` (a mutation, another grid)
        starts with nothing kept: nothing computed for one problem serves another."""
        key = (key, mpmath.mp.prec)
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @property
    def precision(self):
        """The working precision: :attr:`working_dps` computed, :attr:`dps` reported."""
        return Precision(self.working_dps, reported=self.dps)

    @property
    def rounding(self):
        """10^(dps - w): an entry's size is at least this times its rounding spread (.noise)."""
        return mpmath.mpf(10) ** (self.dps - self.working_dps)

    @property
    def betas(self):
        """The real betas of the finite-beta estimators (bias rows): three decades down from
        beta_step, at half-decade steps (seven points for each fitted slope)."""
        from .quantities import BETAS
        return [self.beta_step * mpmath.mpf(b) for b in BETAS]

    @property
    def flow_level(self):
        """10^-(dps/2 + 5): the fraction of its cross scale below which a quantity read off an
        integrated flow counts as zero (quantities.term_sizes)."""
        return mpmath.mpf(10) ** -(self.dps / 2 + 5)

    @property
    def n(self):
        return self.system.n

    @property
    def p(self):
        return self.system.p

    def rng(self, salt):
        return random.Random(f"{self.seed}:{salt}")

    def random_direction(self, size, salt):
        """A reproducible random unit vector with exact decimal entries."""
        rng = self.rng(salt)
        v = [mpmath.mpf(rng.randint(-1000, 1000)) / 1000 for _ in range(size)]
        norm = mpmath.sqrt(sum(x * x for x in v)) or 1
        return [x / norm for x in v]

    def derivative(self, fn, response=None):
        """d/de fn(e) at 0 (:func:`~eqprop.numeric.differences.derivative`).

        ``response``: how far the state moves per unit of e (a size, an
        estimate is enough). The complex step is then scaled so that it
        moves the state by h times the state's own size (|s0|, or 1): at a
        state of size 1e-35 an unscaled step on beta moved it by 1e-45, and
        the step's square (1e-20 relative) showed in Theorem 3's rows.
        """
        c = 1
        if response and self.holomorphic and mpmath.isfinite(response):
            c = (max(abs(x) for x in self.s0) or mpmath.mpf(1)) / response
        return derivative(fn, holomorphic=self.holomorphic, h=self.h * c,
                          divisor=None if self.h_divisor is None else self.h_divisor * c)

    def response(self, forcing):
        """How far a constant force ``forcing`` moves the fixed point: |forcing| / lambda_min,
        an estimate for :meth:`derivative` (None where s0 is not a strict minimum)."""
        top = max([abs(x) for x in forcing] + [mpmath.mpf(0)])
        return top / self.eig_min if self.eig_min > 0 and top else None

    def compare(self, id, equation, t, lhs, rhs, *, scale, limit, sides=("", ""), terms=None):
        """A :class:`Check` of two independently computed sides.

        ``scale``: per entry, the size of the terms that form the quantity, at
        least 10^dps times the rounding they carry (see
        :func:`~eqprop.numeric.highprec.digits_of_agreement`, :mod:`.noise`);
        ``terms``: the same sizes from the computed values alone. An entry whose
        terms make up less than half its scale is rounding: no evidence. A row
        with no entry of evidence is untestable ('n/a': it neither passes nor
        fails, and the verdict is incomplete, never verified).
        """
        digits, err, sc = digits_of_agreement(lhs, rhs, cap=self.dps, scale=scale)
        if terms is None:
            testable = any(x != 0 for x in scale)
        else:
            testable = any(p > 0 and 2 * p >= x for p, x in zip(terms, scale))
        if not testable:
            limit = "every term of this quantity is zero here: nothing to compare"
        elif digits >= self.dps:
            limit = f"reported precision (dps {self.dps})"
        elif digits < self.required_digits:
            limit = f"below the required digits ({limit})"
        return Check(id=id, equation=equation, t=None if t is None else float(t),
                     max_abs_error=err, scale=sc, digits=digits, required=self.required_digits,
                     limit=limit, lhs=lhs[0] if len(lhs) else None,
                     rhs=rhs[0] if len(rhs) else None, sides=sides, testable=testable)

    @property
    def limit_integrator(self):
        return f"integrator tolerance {mpmath.nstr(self.tol, 2)}/step"

    @property
    def limit_precision(self):
        return f"working precision 1e-{self.working_dps}"


class Prepared(NamedTuple):
    """What :func:`prepare` returns: the problem (None where a hypothesis needed to go on
    failed), the assumptions in the order the report shows them, and notes."""

    problem: Problem | None
    assumptions: list
    notes: list


def _ordered(found, head, stopped):
    """The report's order: the 'fixed point' assumption first, then the stages' in turn; a
    stage that stopped before s0 was at rest leads with its own (it is why nothing follows)."""
    if head is None:
        return ([stopped] if stopped else []) + found
    return [head] + found + ([stopped] if stopped else [])


def prepare(model, options: Options) -> Prepared:
    """The pipeline up to the :class:`Problem`; see the module docstring and
    docs/ARCHITECTURE.md. Stages: :func:`~.free_phase.build`, :func:`~.free_phase.free_phase`,
    :func:`~.free_phase.fixed_point`, :func:`~.at_fixed_point.ingredients`,
    :func:`~.at_fixed_point.at_rest`, :func:`~.at_fixed_point.time_grid`,
    :func:`~.at_fixed_point.inside_domain`, :func:`~.at_fixed_point.resolution`. The first
    hypothesis needed to go on that fails stops it (:class:`~.outcomes.Stop`, caught here
    alone); the problem is then None and the assumptions say why.
    """
    found, notes, head = [], [], None
    try:
        built = build(model, options)
        found += built.assumptions
        notes += built.notes
        relaxed = free_phase(built, options)
        point = fixed_point(built, relaxed)
        ing = ingredients(built, point)
        found += ing.assumptions
        rest = at_rest(built, relaxed, point, ing)
        head = rest.assumption
        grid = time_grid(built, ing, options)
        notes += grid.notes
        domain = inside_domain(built, point, ing, rest)
        spreads = resolution(built, point, ing, rest, domain)
    except Stop as stop:
        return Prepared(None, _ordered(found, head, stop.assumption), notes + list(stop.notes))
    problem = _problem(built, point, ing, rest, grid, domain, spreads, options)
    if not model.has_energy:
        k = next((i for i, a in enumerate(found) if a.id == "symmetric Jacobian"), None)
        if k is not None:
            with problem.precision.working():
                found[k] = symmetric_nearby(problem, found[k])
    return Prepared(problem, _ordered(found, head, None), notes)


def _problem(built, point, ing, rest, grid, domain, spreads, options):
    """The :class:`Problem` from the stages' results; its numbers (h, tol, rest, beta_step)
    at the working precision."""
    wdps, dps, model = built.working_dps, built.dps, built.model
    with working(wdps):
        return Problem(
            model=model, compiled=built.compiled, system=built.system, dps=dps, working_dps=wdps,
            required_digits=options.required_digits, s0=point.s0, H=ing.H, M=ing.M,
            C_s=ing.C_s, C_theta=ing.C_theta, eig_min=ing.eig_min, times=grid.times,
            h=mpmath.mpf(10) ** (-2 * wdps), tol=mpmath.mpf(10) ** (-(dps + GUARD_DPS // 2)),
            holomorphic=model.holomorphic, seed=options.seed, t_infinity=grid.t_infinity,
            beta_step=min(mpmath.mpf("1e-3"), domain.radius / 100),
            beta_radius=min(domain.radius, mpmath.mpf(1)), edge_distance=domain.edge,
            spreads=spreads, parallel=options.parallel,
            rest=mpmath.mpf(10) ** (-(wdps - 5)) * rest.rest_scale if model.holomorphic else None)

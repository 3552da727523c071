"""The stages at the free fixed point s0: ingredients, rest, grid, domain, resolution.

Each is a function of the earlier stages' frozen results (:mod:`.free_phase`)
and returns its own, at the working precision; a hypothesis needed to go on
that fails raises :class:`~.outcomes.Stop`.

- :func:`ingredients`: H = d2E/ds2, M = d2E/dtheta ds, C_s and C_theta at s0,
  the quantities every theorem relates (paper 2.3, 3.5-3.8, 4.4, 5.4-5.5);
  H positive definite (a strict minimum) or s0 attracting.
- :func:`at_rest`: dE/ds(s0) = 0 to the rounding of its terms (paper 2.1).
- :func:`time_grid`: the grid of times the rows are compared at, within the
  integrators' budget and long enough to see H.
- :func:`inside_domain`: a ball around s0 inside every function's domain
  (E and C twice differentiable near s0), and beta's radius.
- :func:`resolution`: s0's rounding small enough to fix H(s0) to dps digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from eqprop.errors import EqpropError
from eqprop.numeric import linalg
from eqprop.symbolic.precision import working

from . import noise
from .free_phase import MAX_MAGNITUDE, real_finite
from .grid import default_times, largest_rate, sbar_decay, t_infinity
from .hypotheses import definiteness, null_direction
from .options import MAX_TIME
from .outcomes import Stop
from .radius import radius_at_s0
from .report import Assumption

__all__ = ["Ingredients", "Rest", "Grid", "Domain", "ingredients", "at_rest", "time_grid",
           "inside_domain", "resolution", "INTEGRATION_BUDGET", "MAX_CONDITION"]

#: Most "time x fastest rate" a flow may integrate (about the GBS steps it costs).
INTEGRATION_BUDGET = 5e3
#: Largest condition number lambda_max / lambda_min of H(s0) the flows are integrated at.
MAX_CONDITION = 1e6


@dataclass(frozen=True)
class Ingredients:
    """H, M, C_s, C_theta at s0, and H's smallest eigenvalue (real part, vector fields)."""

    H: object
    M: object
    C_s: list
    C_theta: list
    eig_min: object
    definite: bool          # H positive definite (energy) or s0 attracting (vector field)
    assumptions: tuple


@dataclass(frozen=True)
class Rest:
    """How exactly s0 is at rest, and the rounding it carries (:mod:`.noise`)."""

    rest: list              # |H^-1 dE/ds(s0)|: Newton's next step, per entry
    carried: object         # s0's rounding spread per entry, in units of 10^-w (or None)
    terms: object           # the sizes of the force's terms at s0 (or None)
    rest_scale: object      # the force's terms at s0 alone: the propagator's rest
    assumption: Assumption  # 'fixed point'


@dataclass(frozen=True)
class Grid:
    times: list
    lam_max: object
    t_infinity: float | None
    notes: tuple


@dataclass(frozen=True)
class Domain:
    edge: object            # how far s0 may move inside every function's domain (or None)
    radius: object          # beta's radius around 0 (:func:`.radius.radius_at_s0`)


def _entries(A):
    """The non-zero entries of an mpmath matrix (:func:`~eqprop.numeric.linalg.nonzeros`)."""
    return [v for _, v in linalg.nonzeros(A)]


def _check_magnitudes(named):
    """Refuse (bad input) numbers beyond float64's range, where float64 parts would overflow."""
    for name, values in named.items():
        top = max([abs(mpmath.mpmathify(v)) for v in values] + [mpmath.mpf(0)])
        if top > MAX_MAGNITUDE:
            raise EqpropError(
                f"{name} reaches about 10^{mpmath.nstr(mpmath.log10(top), 3)} at the fixed point, beyond "
                f"{MAX_MAGNITUDE:g}: parts of the verification (the free phase, the time grid, "
                "step control) run in float64; rescale the energy's terms or values")


def ingredients(built, point) -> Ingredients:
    """H, M, C_s, C_theta at s0, real and finite, and whether H is definite (MATH.md 1)."""
    system, s0 = built.system, point.s0
    with working(built.working_dps):
        H, M = system.d2Ebeta_ds2(s0), system.d2E_dtheta_ds(s0)
        C_s, C_theta = system.dC_ds(s0), system.dC_dtheta(s0)
        if real_finite(_entries(H) + _entries(M) + list(C_s) + list(C_theta)) is None:
            raise Stop(Assumption("real domain", False, "no",
                                  "H, M, C_s or C_theta is complex or infinite at s0"))
        _check_magnitudes({"H": _entries(H), "M": _entries(M), "C_s": C_s, "C_theta": C_theta,
                           "s0": s0})
        eig_min, pd, found = definiteness(built.model, H, built.working_dps, built.dps)
    return Ingredients(H=H, M=M, C_s=C_s, C_theta=C_theta, eig_min=eig_min, definite=pd,
                       assumptions=found)


def at_rest(built, relaxed, point, ing) -> Rest:
    """The 'fixed point' hypothesis: |dE/ds(s0)| below 10^-(dps+2) of its terms' size."""
    system, s0, wdps = built.system, point.s0, built.working_dps
    with working(wdps):
        # the force is a sum of terms of sizes T (.noise: |dg/dz| |z| over every input z), and
        # Newton converges relative to its start (terms |H| |s_start| on its way): the residual
        # is measured against the larger (a fixed point of E and of 1e-12 E alike; s0 = 0 by
        # symmetry, reached as 1e-70 with terms of that size, against the start's)
        measured = noise.evaluation_rounding({"g": system.dEbeta_ds(s0)},
                                             lambda: {"g": system.dEbeta_ds(s0)}, wdps)["g"]
        carried, terms = noise.state_rounding(built.compiled, s0, built.theta, built.data, measured)
        # and Newton's own truncation: the step it would take next, |H^-1 dE/ds(s0)| (a
        # component that should be 0 by symmetry, left at 1e-89 by a converged iteration)
        rest = [abs(x) for x in linalg.solve(ing.H, system.dEbeta_ds(s0))]
        if carried is not None:
            carried = carried + np.array([float(x * mpmath.mpf(10) ** wdps) for x in rest])
        start_terms = max([abs(x) for x in ing.H] + [mpmath.mpf(0)]) * mpmath.mpf(
            float(np.max(np.abs(relaxed.state))) if relaxed.state.size else 0.0)
        usable = terms is not None and terms.size and np.all(np.isfinite(terms))
        force_scale = max(start_terms, mpmath.mpf(float(np.max(terms)))) if usable \
            else mpmath.mpf(1)
        residual = point.residual
        ok = residual <= mpmath.mpf(10) ** (-(built.dps + 2)) * force_scale
        # the propagator's rest (numeric/propagator.py): the force's terms at s0 alone, not the
        # relaxed start's (an unstable field's float64 phase wandered to 1e250)
        rest_scale = mpmath.mpf(float(np.max(terms))) if usable else force_scale
        name = "dE/ds" if built.model.has_energy else "F"
        assumption = Assumption(
            "fixed point", bool(ok), mpmath.nstr(residual, 3),
            f"max |{name}(s0)| after float64 relaxation (t = {relaxed.time:g}) and "
            f"{point.iterations} Newton steps, against the size of its terms "
            f"{mpmath.nstr(force_scale, 3)}" if ok else
            f"Newton stopped at max |{name}(s0)| = {mpmath.nstr(residual, 3)}, above 10^-(dps+2) "
            f"of the size of its terms ({mpmath.nstr(force_scale, 3)}): give another "
            "initial_state or raise --dps", fatal=True, tool_limit=True)
    if not ok:
        raise Stop(assumption)
    return Rest(rest=rest, carried=carried, terms=terms, rest_scale=rest_scale,
                assumption=assumption)


def time_grid(built, ing, options) -> Grid:
    """The grid: the given times, or from 0 to where Sbar_t (3.3) has decayed by 1e-6;
    within :data:`INTEGRATION_BUDGET` and long enough for its rows to see H."""
    H, eig_min, pd = ing.H, ing.eig_min, ing.definite
    with working(built.working_dps):
        lam_max = largest_rate(H)
        horizon = float(INTEGRATION_BUDGET / lam_max) if lam_max else MAX_TIME
        if pd and lam_max / eig_min > MAX_CONDITION:
            softest = null_direction(H, [x.name for x in built.model.state])
            raise Stop(Assumption.limit(
                "well conditioned", False, mpmath.nstr(lam_max / eig_min, 3),
                f"lambda_max / lambda_min of H(s0) is above {MAX_CONDITION:g}: H is nearly "
                f"singular along ({softest}), and the flows are too stiff for this tool's "
                "explicit integrators (the time to decay takes about that many steps); if a "
                "symmetry or a flat bottom makes that direction soft, pin it (a field term, a "
                "constraint, one state fixed as data), else rescale the energy's terms to "
                "comparable curvatures"))
        times, notes = options.times, ()
        if times is None:
            times = default_times(sbar_decay(H, ing.C_s, built.model.has_energy, eig_min)) \
                if pd else [0.0, 0.5, 1.0, 2.0]
            if times[-1] > horizon:
                notes = (f"the default grid stops at t = {horizon:.3g} (the integration budget "
                         f"at lambda_max = {mpmath.nstr(lam_max, 3)}), before Sbar has decayed "
                         "by 1e-6: H is ill-conditioned",)
                times = [0.0] + [horizon / 2 ** k for k in range(4, -1, -1)]
        if times[-1] > horizon:
            raise EqpropError(
                f"times: t = {times[-1]:g} needs about {times[-1] * float(lam_max):.3g} times the "
                f"fastest rate of H (lambda_max = {mpmath.nstr(lam_max, 3)}) in integration "
                f"steps; at most {INTEGRATION_BUDGET:g} are allowed: give times up to "
                f"{horizon:.3g}")
        uninformative = _informative(times, lam_max, options.required_digits)
        if uninformative:
            raise Stop(uninformative, notes=notes)
        # T1.limit's adjoint reaches t_inf by doubling steps, beyond the grid's budget
        t_inf = t_infinity(eig_min, built.working_dps) if pd else None
    return Grid(times=list(times), lam_max=lam_max, t_infinity=t_inf, notes=notes)


def _informative(times, lam_max, required):
    """A row at t sees H only through t H: a relative error e in H moves it by about
    e t lambda_max, so a grid ending before t lambda_max = 10^-(required/2) cannot show an
    error of half the required digits (t = 1e-200 is t = 0 to every row). The
    'informative grid' assumption failing, or None."""
    reach = float(times[-1] * lam_max) if times else 0.0
    if times and any(times) and reach < 10 ** (-required / 2):
        return Assumption.limit(
            "informative grid", False, f"t lambda_max = {reach:.3g}",
            f"the grid ends at t = {times[-1]:.3g}, where the flows have not moved from their "
            f"start by 10^-{required / 2:g} (lambda_max = "
            f"{mpmath.nstr(lam_max, 3)}): its rows could not tell a wrong H from the right "
            f"one; give times up to at least "
            f"{mpmath.nstr(mpmath.mpf(10) ** (-required / 2) / lam_max, 3)}"
            " (or leave the default grid)")
    return None


def inside_domain(built, point, ing, rest) -> Domain:
    """A neighbourhood of s0 inside every function's domain, proved with balls
    (:func:`.radius.radius_at_s0`), wider than s0's own uncertainty."""
    with working(built.working_dps):
        edge, where, radius = radius_at_s0(built.model, built.system, point.s0, ing.H, ing.C_s,
                                           ing.eig_min, built.fixed)
        if not radius > 0:  # lambda_min zero to this precision: no nudge keeps s^beta near s0
            raise Stop(Assumption.limit(
                "nudge radius", False, mpmath.nstr(radius, 3),
                "beta -> s^beta has no radius around beta = 0 (H(s0)'s smallest eigenvalue, or "
                "real part, is zero to this precision): EP's nudged fixed points cannot be "
                "followed from s0; see 'isolated minimum'"))
        if edge is not None and ing.definite:
            # Newton-Kantorovich (to first order; its Lipschitz condition is not checked): the
            # exact fixed point lies within about 2 |H^-1 dE/ds(s0)| of s0, and the force is
            # known only to the rounding of its terms (.noise): if the edge is nearer, whether
            # the minimum lies inside the domain is undecided at this dps
            carried = rest.carried
            known = 2 * max(rest.rest + [mpmath.mpf(10) ** -built.working_dps * max(
                [mpmath.mpf(float(x)) for x in carried] if carried is not None else [0])])
            if edge <= known:
                raise Stop(Assumption.limit(
                    "inside the domain", False, mpmath.nstr(edge, 3),
                    (f"s0 is {mpmath.nstr(edge, 3)} from the edge of the domain of {where}, "
                     f"within its own uncertainty {mpmath.nstr(known, 3)}" if edge else
                     f"no neighbourhood of s0 could be proved inside the domain of {where}") +
                    ": a minimum on the edge "
                    "violates the hypotheses (E twice differentiable around s0), one inside "
                    "needs more digits to tell; raise --dps, or move the minimum off the edge"))
    return Domain(edge=edge, radius=radius)


def resolution(built, point, ing, rest, domain) -> dict:
    """The rounding that s0 (and each evaluation) puts into H, M, C_s, C_theta, in units of
    10^-w (:mod:`.noise`); stops where it would blur H(s0) beyond dps digits."""
    system, s0, wdps, dps = built.system, point.s0, built.working_dps, built.dps
    with working(wdps):
        spreads = noise.state_spreads(built.compiled, s0, built.theta, built.data, rest.carried,
                                      edge=domain.edge)
        own = noise.evaluation_rounding(
            {"H": ing.H, "M": ing.M, "C_s": ing.C_s, "C_theta": ing.C_theta},
            lambda: {"H": system.d2Ebeta_ds2(s0), "M": system.d2E_dtheta_ds(s0),
                     "C_s": system.dC_ds(s0), "C_theta": system.dC_dtheta(s0)}, wdps)
    spreads = {k: v + spreads[k] if k in spreads else v for k, v in own.items()}
    blur = 10 ** float(dps - wdps) * float(np.max(spreads["H"])) if "H" in spreads else 0.0
    h_size = float(max(abs(x) for x in ing.H))
    if blur > h_size:  # s0's rounding moves H(s0) by more than 10^-dps of itself
        lost = math.log10(blur / h_size)
        raise Stop(Assumption.limit(
            "resolved", False, f"{lost:.1f} digits short",
            f"s0 is known only to about {10.0 ** -wdps * float(np.max(rest.carried)):.3g} (the "
            f"force's terms reach {float(np.max(rest.terms)):.3g}), too coarse to fix H(s0) to "
            f"{dps} digits: the computation would check another system; raise --dps by at "
            f"least {math.ceil(lost)}, or shift the state variables to comparable sizes"))
    return spreads

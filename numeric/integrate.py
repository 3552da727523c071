"""Arbitrary-precision ODE integration: adaptive Gragg-Bulirsch-Stoer.

The right-hand side is any callable ``f(y) -> list`` working on mpmath
numbers (real ``mpf`` or complex ``mpc``); the systems here are autonomous.
One step of size H runs Gragg's modified midpoint rule with
``n_j = 2, 4, 6, ...`` substeps, whose error expands in even powers of the
substep, and extrapolates to zero substep by Aitken-Neville (one more
column = two more orders). The step is accepted when two successive
diagonal entries agree within the tolerance; H then grows or shrinks with
the column at which that happened. High order (20-40) makes each step long,
so a 50-digit trajectory costs a few thousand evaluations of ``f`` --
orders of magnitude fewer than ``mpmath.odefun``'s Taylor steps built from
finite differences.

Complex step. A state ``y = a + i b`` with ``|b|`` many orders of magnitude
below ``|a|`` carries a derivative in ``b`` (complex-step nudging). The error
test therefore measures the real and the imaginary parts against their own
scales, so that ``b`` keeps its full relative accuracy.

Precision is the caller's: run inside ``mpmath.workdps(...)``.
"""

from __future__ import annotations

import contextvars
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import mpmath

from .backends import MPMATH

__all__ = ["BudgetExhausted", "ComputationBreakdown", "Flow", "GBSIntegrator", "IntegrationError",
           "check_time", "integrate", "note_position", "position", "time_budget"]


class ComputationBreakdown(ArithmeticError):
    """A computation that legitimately breaks down on this input.

    Newton diverging at a kink, a singular Hessian, an integrator that
    cannot meet its tolerance: the check it belongs to is reported as a
    failed row with this message. Bugs are other exceptions and propagate.
    """


class SingularJacobian(ComputationBreakdown):
    """Newton met a singular Jacobian (for an energy, its Hessian) at ``point``: a degenerate
    minimum (a flat direction, a quartic bottom), or a start where the curvature vanishes."""

    def __init__(self, message, point=()):
        super().__init__(message)
        self.point = list(point)


class IntegrationError(ComputationBreakdown):
    """The integrator could not reach the requested tolerance."""


class BudgetExhausted(ComputationBreakdown):
    """A budget of this tool ran out (integration steps, wall time).

    Not evidence against an identity: the check it stopped is incomplete,
    and the message says which budget and what to change.
    """


#: Most steps one trajectory may take (a budget: running out makes the check incomplete).
MAX_STEPS = 5_000

#: Seconds between two "still running" lines of a :func:`time_budget`'s heartbeat.
HEARTBEAT_SECONDS = 10.0


@dataclass
class _Budget:
    deadline: float
    seconds: float
    heartbeat: object = None
    started: float = 0.0
    last: float = 0.0
    counts: dict = field(default_factory=lambda: {"integration steps": 0, "Newton iterations": 0,
                                                  "trajectories": 0})
    where: str = ""  # what runs now, in words (:func:`note_position`)
    at: tuple = None  # and for a trajectory, (t, t_end)


#: The budgets in force in this thread (or task), innermost last; set only by :func:`time_budget`.
_BUDGETS = contextvars.ContextVar("eqprop_time_budgets", default=())


def _innermost():
    budgets = _BUDGETS.get()
    return budgets[-1] if budgets else None


@contextmanager
def time_budget(seconds, heartbeat=None):
    """Within the block, :func:`check_time` raises :class:`BudgetExhausted` after ``seconds``.

    ``None`` sets no limit. ``heartbeat(elapsed, counts)``, if given, is
    called every :data:`HEARTBEAT_SECONDS` while work goes on, with the
    seconds elapsed and the work done so far (integration steps, Newton
    iterations, trajectories): progress on long runs, from real counts.
    Nested budgets: the innermost applies.
    """
    now = time.monotonic()
    limit = math.inf if seconds is None else seconds
    budget = _Budget(now + limit, limit, heartbeat, now, now)
    token = _BUDGETS.set(_BUDGETS.get() + (budget,))
    try:
        yield budget.counts
    finally:
        _BUDGETS.reset(token)


def report_heartbeats_to(heartbeat):
    """Send every budget's heartbeat in force to ``heartbeat(elapsed, counts)`` instead (a
    child process that integrates for its parent reports there)."""
    for budget in _BUDGETS.get():
        budget.heartbeat = heartbeat


def check_time(kind="integration steps"):
    """Count one unit of ``kind``; raise :class:`BudgetExhausted` if the time budget ran out.

    Called once per integration step, per Newton iteration and per
    trajectory: cheap, and frequent enough that no computation outlives its
    budget by much.
    """
    b = _innermost()
    if b is None:
        return
    b.counts[kind] = b.counts.get(kind, 0) + 1
    now = time.monotonic()
    if now > b.deadline:
        raise BudgetExhausted(f"the time limit of {b.seconds:g} s ran out; "
                              "raise time_limit (--time-limit) or lower dps")
    if b.heartbeat is not None and now - b.last >= HEARTBEAT_SECONDS:
        b.last = now
        b.heartbeat(now - b.started, dict(b.counts))


def note_position(text, at=None):
    """Say where the work stands (``"a trajectory at t = 3.2 of 14.3"``, ``at = (3.2, 14.3)``),
    for the heartbeat."""
    b = _innermost()
    if b is not None:
        b.where, b.at = text, at


def position(numbers=False):
    """The last :func:`note_position` of the innermost budget: its words ("" if none), or
    with ``numbers`` its ``at`` (None if none)."""
    b = _innermost()
    if b is None:
        return None if numbers else ""
    return b.at if numbers else b.where


@dataclass
class Flow:
    """States of a flow at the requested times, and the work it took."""

    states: list
    stats: dict = field(default_factory=dict)


class _Blowup(Exception):
    """A substep's state left every sensible magnitude (see GBSIntegrator.step)."""


def _scale(values):
    return max((abs(v) for v in values), default=0)


def _log10(x):
    """log10 of a positive number of any backend, as a float."""
    try:
        return math.log10(x)
    except (OverflowError, ValueError, TypeError):
        return float(mpmath.log10(mpmath.mpf(str(x))))


@dataclass
class GBSIntegrator:
    """Adaptive extrapolation integrator for ``dy/dt = f(y)``.

    Parameters
    ----------
    f : callable
        ``f(y) -> list`` of the same length as ``y``, in the backend's numbers.
    tol : number
        Per-step tolerance, relative to the size of the solution (separately
        for real and imaginary parts). Leave a few digits between it and the
        working precision (``tol >= 10**-(mp.dps - 5)``): extrapolation to
        high order amplifies rounding, and a tolerance below that floor makes
        steps fail.
    max_columns : int
        Most extrapolation columns per step (order ``2 * max_columns``).
    backend : MPMATH or GMPY
        The arithmetic (see :mod:`eqprop.numeric.backends`).
    """

    f: callable
    tol: object
    max_columns: int = 22
    backend: object = MPMATH
    max_steps: int = 5_000
    evaluations: int = 0
    steps: int = 0
    rejected: int = 0

    def _midpoint(self, y, H, n):
        """Gragg's modified midpoint rule: n substeps of size H / n."""
        h = H / n
        h2 = 2 * h
        f = self.f
        z0 = y
        z1 = [a + h * b for a, b in zip(y, self._fy)]
        for _ in range(n - 1):
            if not _scale(z1) <= self._bound:  # a step far too long for a stiff flow
                raise _Blowup
            fz = f(z1)
            z0, z1 = z1, [a + h2 * b for a, b in zip(z0, fz)]
        self.evaluations += n - 1
        return z1

    def _error(self, new, old, y):
        """Largest error relative to the solution's size, real and imaginary parts apart.

        Relative control suits both the nonlinear flows (states of order one)
        and the linear adjoint, whose values scale with C_s and may be tiny.
        The scales are taken over the start and the end of the step, so an
        imaginary part that starts at zero (complex beta from a real s0) is
        controlled from the first step.
        """
        re_scale = max(_scale([v.real for v in y]), _scale([v.real for v in new]))
        im_scale = max(_scale([v.imag for v in y]), _scale([v.imag for v in new]))
        err = _scale([(a - b).real for a, b in zip(new, old)]) / (re_scale or 1)
        if im_scale > 0:
            err = max(err, _scale([(a - b).imag for a, b in zip(new, old)]) / im_scale)
        return err / self.tol

    def step(self, y, H):
        """Try one step; return (y_new, error ratio, {column: error ratio}).

        A substep whose state grows beyond 10^30 times the step's start (a
        step far beyond the stability of a stiff flow) ends the attempt as
        failed at once: the state would otherwise grow to magnitudes whose
        elementary functions take MPFR minutes (the sine of 10^(10^15)).
        """
        self._fy = self.f(y)
        self.evaluations += 1
        self._bound = (1 + _scale(y)) * 10 ** 30
        table = []  # the previous row of the extrapolation table
        err, errors = math.inf, {}
        for j in range(1, self.max_columns + 1):
            n = 2 * j
            try:
                row = [self._midpoint(y, H, n)]
            except _Blowup:
                return y, math.inf, errors
            for k in range(1, j):
                # Neville in h^2: T + (T - T_prev) / ((n_j / n_{j-k})^2 - 1), in exact integers
                num, den = (j - k) ** 2, j * j - (j - k) ** 2
                prev = table[k - 1]
                row.append([a + (a - b) * num / den for a, b in zip(row[k - 1], prev)])
            if j > 1:
                err = errors[j] = self._error(row[-1], row[-2], y)
                if err <= 1:
                    return row[-1], err, errors
                if j > 3 and err > errors[j - 1] > errors[j - 2]:
                    # diverging (the step is beyond the midpoint rule's stability): more
                    # columns only cost evaluations; reject now and shrink the step
                    return row[-1], err, errors
            table = row
        return row[-1], err, errors

    def _next_step(self, step, errors):
        """Step size of least work per unit time, from the last column's error.

        For extrapolated midpoint with n_j = 2j the error after column k is
        about (H lam)^(2k+1) / (4^k (k!)^2), lam a rate of the solution. The
        observed error gives lam; the step for each column k follows, and the
        column of least work k (k + 1) / H_k is chosen. (Step control only:
        floats suffice.)
        """
        c = max(errors) if errors else 0
        err = errors.get(c, math.inf) if c else math.inf
        if not c or err == math.inf:
            return step / 2
        if err == 0:
            return step * 4
        log_tol = _log10(self.tol)
        ln10 = math.log(10)

        def log10_denominator(k):
            return k * math.log10(4) + 2 * math.lgamma(k + 1) / ln10

        k_obs = c - 1  # errors[c] compares columns c and c - 1: order of column c - 1
        log_lam = (_log10(err) + log_tol + log10_denominator(k_obs)) / (2 * k_obs + 1) - _log10(step)
        best = None
        for k in range(2, self.max_columns - 4):
            log_h = (log_tol + log10_denominator(k)) / (2 * k + 1) - log_lam
            work = k * (k + 1) * 10 ** (-log_h)
            if best is None or work < best[0]:
                best = (work, log_h)
        factor = min(0.9 * 10 ** (best[1] - _log10(step)), 4.0)
        return step * self.backend.number(factor)

    def run(self, y0, t_eval, *, h0=None):
        """Integrate from t = t_eval[0] and return the states at every t in ``t_eval``.

        ``t_eval`` must be non-decreasing; the step is shortened to land exactly
        on each requested time. Inputs and outputs are mpmath numbers.
        """
        B = self.backend
        with B.scope():
            self.tol = B.from_mp(mpmath.mpf(self.tol))
            y = [B.from_mp(v) for v in y0]
            t = B.from_mp(mpmath.mpf(t_eval[0]))
            out = [[B.to_mp(v) for v in y]]
            H = B.from_mp(mpmath.mpf(h0 if h0 is not None else "0.5"))
            for target in t_eval[1:]:
                target = B.from_mp(mpmath.mpf(target))
                if target < t:
                    raise ValueError(f"times must be non-decreasing, got {target} after {t}")
                while t < target:
                    step = min(H, target - t)
                    shortened = step < H
                    rejected = False
                    for _attempt in range(60):
                        check_time()
                        y_new, err, errors = self.step(y, step)
                        if err <= 1:
                            break
                        self.rejected += 1
                        rejected = True
                        step = min(step / 2, self._next_step(step, errors))
                    else:
                        raise IntegrationError(f"no step met tolerance {float(self.tol):.3g} "
                                               f"at t = {float(t):.6g}")
                    self.steps += 1
                    if self.steps > self.max_steps:
                        raise BudgetExhausted(
                            f"more than {self.max_steps} steps by t = {float(t):.6g} (of "
                            f"{float(t_eval[-1]):.6g}): the flow is too stiff or too long for "
                            "an explicit integrator")
                    t = t + step
                    if target - t < step * B.number(1e-12):
                        t = target  # absorb rounding in the landing
                    at = (float(t), float(t_eval[-1]))
                    note_position(f"a trajectory at t = {at[0]:.3g} of {at[1]:.3g}", at)
                    y = y_new
                    h_next = self._next_step(step, errors)
                    if rejected:  # the step that just failed was too long: do not grow at once
                        h_next = min(h_next, step)
                    H = max(H, h_next) if shortened and not rejected else h_next
                out.append([B.to_mp(v) for v in y])
        return out


def integrate(f, y0, t_eval, *, tol, max_columns=None, backend=MPMATH):
    """Solve ``dy/dt = f(y)`` and return the states at the times ``t_eval``.

    Convenience wrapper around :class:`GBSIntegrator`; returns
    ``(states, integrator)`` so that callers can report the work done.
    ``f`` works in the numbers of ``backend``; ``y0``, the times and the
    returned states are mpmath numbers.
    """
    if max_columns is None:
        # 22 columns measured best at 30-60 digits (bench/RESULTS.md); more beyond
        max_columns = max(22, min(40, mpmath.mp.dps // 3))
    integ = GBSIntegrator(f, tol, max_columns=max_columns, backend=backend, max_steps=MAX_STEPS)
    return integ.run(y0, t_eval), integ

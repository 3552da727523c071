"""The two sides of the Kolmogorov backward equation (paper A.3), and where they are taken.

Part of :mod:`eqprop.proofs.quantities` (which re-exports these names):
the points, the precision and the two routes of the ``KBE`` row.
"""

from __future__ import annotations

import mpmath
from eqprop.symbolic.precision import working

from .radius import basin_radius

__all__ = ["kbe_points", "kbe_chain_rule", "kbe_directional"]


# -- A.3: the Kolmogorov backward equation --------------------------------------------
def kbe_points(P, samples=1):
    """Random states near s0 (reproducible from the seed), where the flow is nonlinear.

    Offsets up to 0.5 per coordinate, shrunk to stay inside two radii:

    - half the distance over which H changes by lambda_min along the offset
      (``lambda_min / |dH/de|``, :func:`~.problem.basin_radius`): the flow from the
      point is nonlinear yet stays in s0's basin, at the rates the time grid
      and the integration budget were set for (a point beyond a nearby
      barrier would flow to another minimum, at other rates);
    - a quarter of the distance to the nearest domain edge
      (``P.edge_distance``: near an edge the derivatives of E blow up);

    then halved until every function of E and C is inside its real domain.
    """
    from eqprop.symbolic.domain import domain_violations
    fixed = {**P.model.params, **P.model.data}
    floor = mpmath.mpf(10) ** -(P.dps // 2) * max([abs(x) for x in P.s0] + [1])
    points = []
    for k in range(samples):
        rng = P.rng(f"KBE:{k}")
        offsets = [mpmath.mpf(rng.randint(-500, 500)) / 1000 for _ in P.s0]
        if not any(offsets):  # s0 itself: every KBE term would vanish there
            offsets = [mpmath.mpf(1) / 2 for _ in P.s0]
        size = mpmath.norm(mpmath.matrix(offsets))
        cap = basin_radius(P.system, P.s0, P.H, P.eig_min, [x / size for x in offsets], P.model) / 2
        if P.edge_distance is not None:
            cap = min(cap, P.edge_distance / 4)
        cap = max(cap, floor)
        if size > cap:
            offsets = [x * cap / size for x in offsets]
        for attempt in range(48):
            point = [a + b / 2 ** attempt for a, b in zip(P.s0, offsets)]
            values = {**fixed, **{s: mpmath.nstr(x, 30) for s, x in zip(P.model.state, point)}}
            if not domain_violations(P.model.expressions, values, fixed=frozenset(P.model.data)):
                break
        points.append(point)
    return points


def _kbe_precision(P, s):
    """``(dps, tol)`` for a flow from ``s``: extra digits where s - s0 is small against s.

    The flow's error is relative to |S_t|, but dE/ds(S_t) is of the size of
    S_t - s0: a point close to a large s0 (or to s0 near a domain edge)
    loses log10(|s| / |s - s0|) digits unless the flow carries them. Up to 5
    lost digits are absorbed by the margin between the integrator's tolerance
    (dps + 5) and the required digits (dps - 5); beyond, the flow carries the
    loss rounded up to a multiple of 5, up to twice the working digits (each
    precision is one compilation of heyoka's integrator).
    """
    near = max(abs(a - b) for a, b in zip(s, P.s0))
    far = max(abs(a) for a in s)
    extra = int(mpmath.ceil(mpmath.log10(far / near))) if near and far > near else 0
    extra = 0 if extra <= 5 else min(5 * -(-extra // 5), 2 * P.working_dps)
    return P.working_dps + extra, P.tol * mpmath.mpf(10) ** -extra


def kbe_chain_rule(P, s):
    """dL/dt(s, t) = -C_s(S_t) . dE/ds(S_t), at the END of the free flow from s.

    Returns ``(values, term sizes)``, one per time. The size at t is the
    largest ``sum_i |C_s,i dE/ds_i|`` since the start: the trajectory's
    errors are made relative to where it has been, so a quantity that has
    decayed along it is measured against its earlier size (as Sbar rows are
    against |C_s|).
    """
    values, sizes = [], []
    dps, tol = _kbe_precision(P, s)
    with working(dps):
        size = mpmath.fsum(abs(a * b) for a, b in zip(P.system.dC_ds(s), P.system.dEbeta_ds(s)))
        states = [[mpmath.re(x) for x in y] for y in _shared_flow(P, s, tol)] if P.holomorphic \
            else P.system.flow(s, P.times, tol=tol).states
        for x in states:
            c, g = P.system.dC_ds(x), P.system.dEbeta_ds(x)
            values.append(-mpmath.fdot(c, g))
            size = max(size, mpmath.fsum(abs(a * b) for a, b in zip(c, g)))
            sizes.append(size)
    return values, sizes


def kbe_directional(P, s):
    """-dE/ds(s) . dL/ds(s, t): the derivative at the START along -dE/ds(s), by complex step."""
    dps, tol = _kbe_precision(P, s)
    with working(dps):
        v, c = _direction(P, s)

        def along(e):
            if P.holomorphic and e == mpmath.mpc(0, P.h):
                return [P.system.C(x) for x in _shared_flow(P, s, tol)]
            start = [a + e * b for a, b in zip(s, v)]
            return [P.system.C(x) for x in P.system.flow(start, P.times, tol=tol).states]
        return [-d / c for d in P.derivative(along)]


def _direction(P, s):
    """``(v, c)``: the step direction ``v = c dE/ds(s)``, scaled to the size of the state.

    The complex step then moves the start by h times the state's own size
    (its largest entry, or s0's, or 1), whatever the units of E: unscaled,
    an energy x 6e68 made ``h dE/ds`` 10^-12 of the state, and the step's
    square (10^-24) entered the real part both sides read. The derivative
    along ``dE/ds`` is the one along ``v`` divided by ``c``.
    """
    g = P.system.dEbeta_ds(s)
    top = max(abs(x) for x in g) if g else 0
    if not top:
        return g, mpmath.mpf(1)
    size = max([abs(x) for x in s] + [abs(x) for x in P.s0]) or mpmath.mpf(1)
    c = size / top
    return [x * c for x in g], c


def _shared_flow(P, s, tol):
    """The free flow from ``s + i h v``, integrated once for both sides of a KBE row.

    ``v`` is dE/ds(s) scaled to the state's size (:func:`_direction`). Its
    imaginary part carries the directional side's complex step; its real
    part is the flow from s itself (the step's effect on it is O((h |v|)^2)
    relative, far below the working precision, and the integrator controls the real part's
    error on its own scale), which the chain-rule side reads. One trajectory
    instead of two; each side still evaluates its own functions on it. Kept
    on the problem's system, keyed by the start, the grid, the tolerance, the
    precision and h: a problem with another force (a mutated H, C_s or
    right-hand side) has another system, one with another grid or s0 another
    key; one with another divisor (the ``h`` mutation) rightly shares it.
    """
    key = (tuple(s), tuple(P.times), tol, mpmath.mp.prec, P.h)
    kept = P.system.__dict__.setdefault("_kbe_flows", {})
    if key not in kept:
        start = [a + mpmath.mpc(0, P.h) * b for a, b in zip(s, _direction(P, s)[0])]
        kept[key] = P.system.flow(start, P.times, tol=tol).states
    return kept[key]


# -- KBE's trajectories beside the other checks ---------------------------------------

class Prefetch:
    """KBE's shared trajectories (:func:`_shared_flow`), integrated in a child process.

    KBE's trajectory is the one nonlinear flow left to integrate (the flows
    from s0 are solved by their propagator); at n = 100 it is most of a
    verification. :func:`start` forks a child that integrates it, exactly as
    :func:`_shared_flow` would, while this process runs the other checks;
    :meth:`collect` waits for it and keeps its states on the system, where
    :func:`_shared_flow` finds them. The same function on the same problem:
    the same numbers as in turn. Whatever goes wrong in the child (its time
    budget, a breakdown, a crash) leaves nothing kept, and the KBE check
    then integrates in this process, where the same error is met and
    reported. Not with heyoka (its threads and fork do not mix), nor in a
    daemonic process (a ``multiprocessing.Pool`` worker may have no
    children). The child dies with this process, however it ends (a
    stopped verification kills it; on Linux the kernel does if this process
    is killed).
    """

    def __init__(self, P, process, conn):
        self.P, self.process, self.conn = P, process, conn
        #: what the child said: "ok", its error, or None (nothing heard yet, or it died)
        self.outcome = None

    @classmethod
    def start(cls, P, samples=1):
        """A running prefetch, or None where it does not apply: ``P.parallel`` off
        (``verify(..., parallel=False)``), another engine than gbs, one core, no fork."""
        import multiprocessing
        import os
        import time
        if not (P.parallel and P.holomorphic and P.system.engine == "gbs"
                and (os.cpu_count() or 1) > 1
                and "fork" in multiprocessing.get_all_start_methods()
                and not multiprocessing.current_process().daemon):  # a Pool's worker: no child
            return None
        ctx = multiprocessing.get_context("fork")
        here, there = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_integrate_in_child, args=(P, samples, there, here,
                                                                os.getpid()), daemon=True)
        try:
            process.start()
        except (AssertionError, OSError):  # no child to be had: in turn, in this process
            here.close()
            there.close()
            return None
        there.close()
        prefetch = cls(P, process, here)
        prefetch.started = time.monotonic()
        return prefetch

    def collect(self):
        """Wait for the child (counting against the time budget) and keep what it computed.

        While it runs, the child sends where its trajectory stands every
        :data:`~eqprop.numeric.integrate.HEARTBEAT_SECONDS`; the heartbeat here
        shows it, with the time left at the child's pace so far.
        """
        import time

        from eqprop.numeric.integrate import check_time, note_position
        try:
            counted = time.monotonic()
            while True:
                if self.conn.poll(1.0):  # returns as soon as the child says something
                    status, flows = self.conn.recv()
                    if status != "beat":
                        break
                    note_position(_eta(flows, time.monotonic() - self.started))
                elif not self.process.is_alive() and not self.conn.poll(0):
                    return
                if time.monotonic() - counted >= 1:  # a second waited: count it (the budget,
                    counted += 1                     # the heartbeat that shows the position)
                    check_time("s waiting for KBE's trajectory")
        except (EOFError, OSError):
            return
        finally:
            self.close()
        self.outcome = status if status == "ok" else flows
        if status == "ok":
            self.P.system.__dict__.setdefault("_kbe_flows", {}).update(flows)

    def close(self):
        """Stop the child if it still runs (a stopped verification) and release the pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


def _eta(where, elapsed):
    """The child's position ``(t, t_end)`` in words, with the time left at its pace so far."""
    t, end = where
    if not t or not end:
        return "KBE's trajectory (second process) starting"
    left = elapsed * (end - t) / t
    return f"KBE's trajectory (second process) at t = {t:.3g} of {end:.3g}, about {left:.0f} s left"


def _die_with(parent):
    """Ask the kernel to kill this process when ``parent`` dies (Linux; elsewhere nothing):
    a parent killed by SIGTERM or SIGKILL runs no clean-up, and its child must not outlive it."""
    import ctypes
    import os
    import signal
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the request: go now
        os._exit(0)


def _integrate_in_child(P, samples, conn, parent_end, parent):
    from eqprop.numeric.integrate import position, report_heartbeats_to
    _die_with(parent)
    parent_end.close()  # the parent's end: a write must fail if the parent is gone

    def beat(elapsed, counts):  # the parent prints progress: tell it where the trajectory is
        conn.send(("beat", position(numbers=True) or (0.0, 0.0)))
    report_heartbeats_to(beat)
    try:
        with P.precision.working():
            for s in kbe_points(P, samples):
                dps, tol = _kbe_precision(P, s)
                with working(dps):
                    _shared_flow(P, s, tol)
        conn.send(("ok", P.system.__dict__.get("_kbe_flows", {})))
    except BaseException as exc:  # noqa: BLE001 - the parent computes again and reports it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()

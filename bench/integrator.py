"""Benchmark: the high-precision integrator against mpmath.odefun (issue 3).

Workload: the paper example's nudged trajectory with complex beta = i h,
started at the free fixed point s0, integrated to t = T (default 10) at 30
and 50 digits. Engines, same run, same machine:

- eqprop's default engine (adaptive Gragg-Bulirsch-Stoer, gmpy2 arithmetic);
- the same integrator with mpmath arithmetic;
- mpmath.odefun (Taylor series from finite differences), in a subprocess
  with a time budget; past it the ratio is a lower bound ('>').

All aim at dps digits: eqprop's engine works at dps + 5 digits with a
per-step tolerance of 10^-(dps+1); mpmath.odefun works at dps digits with
its default tolerance. Errors are measured against a reference computed by
the default engine at dps + 20 digits, with the same h. The error of the
imaginary part is relative to its own size (the complex-step derivative).

    python bench/integrator.py [--T 10] [--dps 30,50] [--odefun-budget 600]
"""

import argparse
import multiprocessing as mp
import platform
import time

import mpmath

from eqprop import compile_model, derive, load_model
from eqprop.numeric.backends import MPMATH
from eqprop.numeric.highprec import GUARD_DPS, System, newton  # noqa: F401


def setup(engine="gbs"):
    m = load_model("paper")
    theta, data = m.values()
    return System(compile_model(derive(m)), theta, data, engine=engine)


def trajectory(system, dps, T, *, h_digits, backend=None, guard=5):
    """The nudged trajectory at time T, beta = i 10^-h_digits, aiming at ``dps`` digits.

    Works at dps + guard digits with per-step tolerance 10^-(dps + 1).
    Returns (state, seconds, evaluations).
    """
    with mpmath.workdps(dps + guard):
        s0, _, _ = newton(system, [mpmath.mpf(0)] * system.n)
        beta = mpmath.mpc(0, mpmath.mpf(10) ** -h_digits)
        if backend is not None:
            system._backend = backend
        t = time.perf_counter()
        flow = system.flow(s0, [0, T], tol=mpmath.mpf(10) ** -(dps + 1), beta=beta)
        system.__dict__.pop("_backend", None)
        return flow.states[-1], time.perf_counter() - t, flow.stats.get("evaluations", 0)


def odefun_worker(dps, T, queue):
    system = setup()
    with mpmath.workdps(dps + GUARD_DPS):
        s0, _, _ = newton(system, [mpmath.mpf(0)] * system.n)
        beta = mpmath.mpc(0, mpmath.mpf(10) ** -(dps + GUARD_DPS))  # same h as the others
    with mpmath.workdps(dps):
        theta, data = system.theta(), system.data()

        def F(_t, s):
            g = system.c.dE_ds.mp(s, theta, data)
            c = system.c.dC_ds.mp(s, theta, data)
            return [-(a + beta * b) for a, b in zip(g, c)]
        t = time.perf_counter()
        sol = mpmath.odefun(F, 0, [mpmath.mpc(x) for x in s0])
        y = sol(T)
        queue.put(([str(v.real) for v in y], [str(v.imag) for v in y], time.perf_counter() - t))


def errors(y, ref, dps):
    with mpmath.workdps(dps + 30):
        re = max(abs(mpmath.mpf(a.real) - b.real) for a, b in zip(y, ref))
        im_scale = max(abs(b.imag) for b in ref)
        im = max(abs(mpmath.mpf(a.imag) - b.imag) for a, b in zip(y, ref)) / im_scale
        return re, im


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--T", type=float, default=10.0)
    ap.add_argument("--dps", default="30,50")
    ap.add_argument("--odefun-budget", type=float, default=600.0)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}")
    print(f"workload: paper example (8 state variables), nudged phase with beta = i h, t = 0..{args.T:g}")
    system = setup()
    for dps in (int(d) for d in args.dps.split(",")):
        h_digits = dps + GUARD_DPS
        ref, _, _ = trajectory(system, dps + 20, args.T, h_digits=h_digits)
        y, t_gbs, evals = trajectory(system, dps, args.T, h_digits=h_digits)
        y_mp, t_mp, _ = trajectory(system, dps, args.T, h_digits=h_digits, backend=MPMATH)
        re, im = errors(y, ref, dps)
        print(f"dps {dps}: eqprop GBS (gmpy2)  {t_gbs:8.2f} s  {evals} evaluations  "
              f"error re {mpmath.nstr(re, 2)}, im (relative) {mpmath.nstr(im, 2)}")
        re, im = errors(y_mp, ref, dps)
        print(f"dps {dps}: eqprop GBS (mpmath) {t_mp:8.2f} s  error re {mpmath.nstr(re, 2)}, "
              f"im (relative) {mpmath.nstr(im, 2)}")
        q = mp.Queue()
        proc = mp.Process(target=odefun_worker, args=(dps, args.T, q))
        start = time.perf_counter()
        proc.start()
        proc.join(args.odefun_budget)
        if proc.is_alive():
            proc.terminate()
            waited = time.perf_counter() - start
            print(f"dps {dps}: mpmath.odefun did not finish in {waited:.0f} s")
            print(f"dps {dps}: ratio > {waited / t_gbs:.0f}x (lower bound; target >= 30x, goal 100x)")
            continue
        re_s, im_s, t_ode = q.get()
        with mpmath.workdps(dps + 30):
            y_ode = [mpmath.mpc(a, b) for a, b in zip(re_s, im_s)]
        re, im = errors(y_ode, ref, dps)
        print(f"dps {dps}: mpmath.odefun       {t_ode:8.2f} s  error re {mpmath.nstr(re, 2)}, "
              f"im (relative) {mpmath.nstr(im, 2)}")
        print(f"dps {dps}: ratio {t_ode / t_gbs:.0f}x faster than mpmath.odefun "
              "(target >= 30x, goal 100x)")
    try:
        import heyoka  # noqa: F401
    except ImportError:
        print("heyoka: not installed (pip install 'eqprop[heyoka]'): no heyoka row")
        return
    hsys = setup("heyoka")
    for dps in (int(d) for d in args.dps.split(",")):
        h_digits = dps + GUARD_DPS
        ref, _, _ = trajectory(system, dps + 20, args.T, h_digits=h_digits)
        t = time.perf_counter()
        trajectory(hsys, dps, args.T, h_digits=h_digits)  # first call compiles (LLVM)
        first = time.perf_counter() - t
        y, t_hy, _ = trajectory(hsys, dps, args.T, h_digits=h_digits)
        _, t_gbs, _ = trajectory(system, dps, args.T, h_digits=h_digits)
        re, im = errors(y, ref, dps)
        print(f"dps {dps}: heyoka Taylor           {t_hy:8.2f} s  (first call with compilation "
              f"{first:.2f} s)  error re {mpmath.nstr(re, 2)}, im (relative) {mpmath.nstr(im, 2)}; "
              f"GBS in the same run {t_gbs:.2f} s")


if __name__ == "__main__":
    main()

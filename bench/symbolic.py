"""Benchmark: derive and compile the layered Hopfield model, against naive SymPy.

Workload (issue 2): hopfield([20, 40, 40, 10]) -- 100 state variables, 2,800
weights. eqprop's path: sparse derivation in SymEngine + templated numpy
code generation. Naive path, in the same run: ``sympy.hessian`` and
``sympy.lambdify`` without cse of the dense matrices. Also times one numpy
Hessian evaluation.

    python bench/symbolic.py [--naive-budget SECONDS]

If the naive path does not finish within the budget, the ratio printed is a
lower bound (marked '>').
"""

import argparse
import multiprocessing as mp
import platform
import time
import timeit

import numpy as np

LAYERS = [20, 40, 40, 10]


def eqprop_path():
    from eqprop import compile_model, derive, hopfield
    m = hopfield(LAYERS)
    t0 = time.perf_counter()
    d = derive(m)
    t1 = time.perf_counter()
    c = compile_model(d).warm(["dE_ds", "d2E_ds2", "d2E_dtheta_ds", "dC_ds", "dC_dtheta",
                               "dE_dtheta", "Hv", "Mv"])
    t2 = time.perf_counter()
    theta, data = (np.array([float(v) for v in vals]) for vals in m.values())
    s = np.random.default_rng(0).normal(size=len(m.state))
    c.d2E_ds2(s, theta, data)
    n = 2000
    per_call = min(timeit.repeat(lambda: c.d2E_ds2(s, theta, data), number=n, repeat=5)) / n
    return t1 - t0, t2 - t1, per_call, c.d2E_ds2(s, theta, data)


def naive_path(queue):
    import sympy as sp

    from eqprop import hopfield
    m = hopfield(LAYERS)
    t0 = time.perf_counter()
    H = sp.hessian(m.energy, m.state)
    t1 = time.perf_counter()
    args = [list(m.state), list(m.theta), list(m.data)]
    f = sp.lambdify(args, H, modules="numpy")
    t2 = time.perf_counter()
    theta, data = ([float(v) for v in vals] for vals in m.values())
    s = np.random.default_rng(0).normal(size=len(m.state))
    queue.put((t1 - t0, t2 - t1, np.array(f(list(s), theta, data), dtype=float)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--naive-budget", type=float, default=900.0)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}")
    print(f"model: hopfield({LAYERS}): 100 state variables, 2800 weights")
    derive_s, compile_s, hess_s, H = eqprop_path()
    total = derive_s + compile_s
    print(f"eqprop : derive {derive_s:.2f} s + compile {compile_s:.2f} s = {total:.2f} s "
          f"(target <= 3 s); numpy Hessian {hess_s * 1e6:.0f} us per evaluation (target <= 50 us)")
    q = mp.Queue()
    proc = mp.Process(target=naive_path, args=(q,))
    start = time.perf_counter()
    proc.start()
    proc.join(args.naive_budget)
    if proc.is_alive():
        proc.terminate()
        waited = time.perf_counter() - start
        print(f"naive  : sympy.hessian + lambdify did not finish in {waited:.0f} s")
        print(f"ratio  : > {waited / total:.0f}x faster (lower bound; target >= 20x)")
        return
    h_s, l_s, H_naive = q.get()
    naive = h_s + l_s
    agree = np.max(np.abs(H - H_naive)) / np.max(np.abs(H_naive))
    print(f"naive  : sympy.hessian {h_s:.1f} s + lambdify {l_s:.1f} s = {naive:.1f} s")
    print(f"ratio  : {naive / total:.0f}x faster (target >= 20x); Hessians agree to {agree:.1e} relative")


if __name__ == "__main__":
    main()

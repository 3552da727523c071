"""The high-precision path at size: `eqprop verify` on layered Hopfield networks (issue 12).

For each size, the wall time of every stage of one verification (from the
progress messages), as eqprop runs by default ("flint": dense linear algebra
in Arb through python-flint, kernels evaluated by the numpy plan on gmpy2
numbers) and, where it finishes within the budget, as the baseline
("mpmath": ``numeric.linalg.use("mpmath")``, which also integrates RBP's
adjoint by GBS instead of Taylor steps in Arb and every complex-step flow
(no propagator, no Arb Newton steps), the kernels' own mpmath templates,
``compile_model(..., use_gmpy_plan=False)``, and KBE's trajectory in turn,
``verify(..., parallel=False)``). Then the exponent of total time against n,
fitted on the Arb runs.

    python bench/highprec.py                      # the default sizes
    python bench/highprec.py --sizes 2,3,3,2 --engine heyoka --baseline-budget 0
    python bench/highprec.py --sizes paper --dps 50   # the paper's example network

KBE's stage runs last, its trajectory integrated beside the other stages in
a forked process: its time is what is left to wait for when they are done.

Each run is a separate process, so no compilation is shared between runs.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

SIZES = ["2,3,3,2", "4,6,6,4", "6,10,10,6", "10,15,15,10", "20,40,40,10"]

CHILD = r"""
import json, sys, time
from eqprop.numeric import linalg
from eqprop.proofs.verify import verify
spec, dps, engine, backend, budget = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
marks = []
def say(msg):
    if "still running" not in msg:
        marks.append((msg, time.perf_counter()))
t0 = time.perf_counter()
import functools
from eqprop.symbolic.codegen import compile_model
from eqprop.proofs import free_phase
free_phase.compile_model = functools.partial(compile_model, use_gmpy_plan=backend == "flint")
with linalg.use(backend):
    r = verify(spec if spec == "paper" else f"hopfield:{spec}", dps=dps, engine=engine,
               progress=say, time_limit=budget, parallel=backend == "flint")
end = time.perf_counter()
stages = [(m, (marks[k + 1][1] if k + 1 < len(marks) else end) - t) for k, (m, t) in enumerate(marks)]
print(json.dumps({"n": len(r.state), "p": len(r.params), "total": end - t0, "verdict": r.verdict.short,
                  "digits": r.min_digits, "stages": stages}))
"""

SHORT = {"derive": "free phase", "RBP's": "adjoint", "Kolmogorov": "KBE", "Theorem 1": "T1",
         "Theorem 2": "T2", "Theorem 3": "T3"}


def run(spec, dps, engine, backend, budget):
    out = subprocess.run([sys.executable, "-c", CHILD, spec, str(dps), engine, backend, str(budget)],
                         capture_output=True, text=True, timeout=budget + 120)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def name(spec):
    return spec if spec == "paper" else f"hopfield:{spec}"


def label(stage):
    return next((v for k, v in SHORT.items() if stage.startswith(k)), stage[:10])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=";".join(SIZES), help="';'-separated hopfield layer specs")
    ap.add_argument("--dps", type=int, default=30)
    ap.add_argument("--engine", default="gbs", choices=["gbs", "heyoka"])
    ap.add_argument("--budget", type=float, default=600, help="time limit of one Arb run (s)")
    ap.add_argument("--baseline-budget", type=float, default=300,
                    help="time limit of one mpmath run (s); 0 skips the baseline")
    args = ap.parse_args()
    fits = []
    for spec in args.sizes.split(";"):
        row = {}
        for backend, budget in (("flint", args.budget), ("mpmath", args.baseline_budget)):
            if budget <= 0:
                continue
            res = run(spec, args.dps, args.engine, backend, budget)
            row[backend] = res
            if "error" in res:
                print(f"{name(spec):<21} {backend:<6} error: {res['error']}")
                continue
            stages = "  ".join(f"{label(m)} {s:.1f}" for m, s in res["stages"])
            print(f"{name(spec):<21} n={res['n']:<4} p={res['p']:<5} {backend:<6} "
                  f"{res['total']:7.1f} s  {res['verdict']:<13} {res['digits']:.1f} digits  [{stages}]",
                  flush=True)
            if backend == "flint" and res["verdict"] == "verified" and spec != "paper":
                fits.append((res["n"], res["total"]))
        if "flint" in row and "mpmath" in row and "total" in row["flint"] and "total" in row["mpmath"]:
            ratio = row['mpmath']['total'] / row['flint']['total']
            # a baseline stopped by its budget gives a lower bound only
            bound = "" if row["mpmath"]["verdict"] == row["flint"]["verdict"] else \
                f"> (the baseline stopped at its {args.baseline_budget:g} s budget) "
            print(f"{'':21} mpmath / Arb: {bound}{ratio:.1f}x", flush=True)
    if len(fits) >= 2:
        xs = [math.log(n) for n, _ in fits]
        ys = [math.log(t) for _, t in fits]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
        print(f"fitted exponent of total time against n (Arb runs): {slope:.2f}")


if __name__ == "__main__":
    main()

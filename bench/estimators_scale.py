"""Benchmark: EP's estimators at realistic size (issue 25), against ``eqprop scale`` itself.

W1: layers 10-512-512-784, batch 128, sigmoid (the layered Hopfield network
that bench/scale.py times). In one run, alternating, best of REPEATS:

- **scale**: ``eqprop scale`` on W1 (free phase, hypotheses, 100
  complex-step and RBP steps, the gradients); its free phase is the unit;
- **N = 8**: the holomorphic estimator with 8 nudges on a circle of radius
  ``R_FRACTION`` times the radius, on the same network at its free fixed
  point (the conjugate symmetry of a real model leaves 5 nudged fixed points
  to solve: Newton from a continuation predictor, complex128).

Target (issue 25): N = 8 costs at most 8 free-phase-equivalents more than
``eqprop scale`` (the ratio N = 8 time / free-phase time, both measured here).
Then, once, the whole ``eqprop scale --estimators --points 8`` on W1 (radius
search included), with its count of nudged fixed points.

    python bench/estimators_scale.py [--quick]     # --quick: layers 10-64-64-784, batch 16
"""

import platform
import sys
import time

import numpy as np

from eqprop.proofs import scale as stages
from eqprop.proofs import scale_nudges as sn
from eqprop.proofs.scale_estimators import scale_estimators
from eqprop.proofs.scale_gradients import implicit_gradient

REPEATS = 3
R_FRACTION = 0.5


def _network(layers, batch):
    args = stages.arguments(layers, batch=batch, data="random", rho="sigmoid", eps=None,
                            steps=None, h=1e-20, beta=None, seed=None, cost="squared",
                            continuous=False, asymmetry=0.0, init=None, plain_layers=(),
                            biases=False, dims=None, backend="numpy", device=None, progress=None,
                            max_memory=8 << 30, max_flops=1e13)
    built = stages.build_network(args)
    with np.errstate(all="ignore"):
        fixed = stages.free_fixed_points(built)
    return built.net, fixed


def main(quick=False):
    layers, batch = ([10, 64, 64, 784], 16) if quick else ([10, 512, 512, 784], 128)
    name = "W1" if not quick else "W1-quick"
    import numpy
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, numpy "
          f"{numpy.__version__}")
    net, fixed = _network(layers, batch)
    nudges = sn.Nudges(net, fixed.s0)
    exact = implicit_gradient(net, fixed.s0)
    t = time.perf_counter()
    found = scale_estimators(layers, batch=batch, points=(8,))
    whole = time.perf_counter() - t
    R = found.radius.value
    r = R_FRACTION * R if np.isfinite(R) else 0.1
    best = {"scale": np.inf, "free phase": np.inf, "N = 8": np.inf}
    for _ in range(REPEATS):
        t = time.perf_counter()
        report = stages.scale(layers, batch=batch)
        best["scale"] = min(best["scale"], time.perf_counter() - t)
        best["free phase"] = min(best["free phase"], report.seconds["free phase"])
        t = time.perf_counter()
        before = nudges.solved
        value = sn.holomorphic(nudges, r, 8)
        best["N = 8"] = min(best["N = 8"], time.perf_counter() - t)
        solved = nudges.solved - before
    err = sn.errors(value, exact)
    print(f"{name} scale      : {best['scale']:6.2f} s best of {REPEATS} (free phase "
          f"{best['free phase']:.3f} s)")
    print(f"{name} N = 8      : {best['N = 8']:6.2f} s best of {REPEATS} ({solved} nudged fixed "
          f"points, r = {r:.3g} = {R_FRACTION} R); relative error {err.relative:.2e}, angle "
          f"{err.angle:.2e} degrees")
    ratio = best["N = 8"] / best["free phase"]
    print(f"ratio    : N = 8 costs {ratio:.1f} free-phase-equivalents (target <= 8); "
          f"{best['N = 8'] / best['scale']:.2f}x eqprop scale's whole run")
    print(f"{name} scale --estimators --points 8 (radius search included): {whole:.1f} s, "
          f"{found.solved} nudged fixed points, radius {R:.4g}, verdict: {found.verdict}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])

"""Benchmark: array models -- derivation and code generation at any size, and whole scale runs.

1. Derivation and code generation of each example model (examples/*.toml)
   at its small sizes and at its [scale] sizes, and at 10x those: the time
   must not grow with the shapes (no per-neuron expansion on the scale
   path); target under 2 s. The per-neuron symbolic path is timed beside it
   at the small sizes only (it grows with the size).
2. The whole ``eqprop scale`` run of the modern Hopfield network with 1,000
   stored patterns of 784 pixels, batch 64 (free phase, hypotheses, every
   row), from the command line, wall clock; target under 60 s.
3. Each example's ``eqprop scale`` at its [scale] sizes, wall clock.

    python bench/arrays.py [--skip-runs]
"""

import argparse
import glob
import os
import platform
import subprocess
import sys
import time

from eqprop import compile_model, derive
from eqprop.proofs.scale_arguments import estimate
from eqprop.symbolic.arrays import derive_arrays, generate
from eqprop.symbolic.builtins import load_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _examples():
    return sorted(p for p in glob.glob(os.path.join(ROOT, "examples", "*.toml"))
                  if "[state]" in open(p, encoding="utf-8").read())


def _codegen_seconds(model, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        generate(derive_arrays(model))
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-runs", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("derivation + code generation (best of 3), against the model's size:")
    worst = 0.0
    for path in _examples():
        small = load_model(path)
        big = small.with_dims(**small.scale.get("dims", {}))
        huge = small.with_dims(**{k: 10 * v for k, v in big.dims.items()})
        times = [_codegen_seconds(m) for m in (small, big, huge)]
        worst = max(worst, *times)
        t = time.perf_counter()
        compile_model(derive(small.to_model()))
        scalar = time.perf_counter() - t
        mem, flops = estimate(generate(derive_arrays(big)), big.scale.get("batch", 128),
                              big.scale.get("steps", 100))
        print(f"  {os.path.basename(path):<30} {small.n_state:>7,} states: {times[0]:.3f} s; "
              f"{big.n_state:>9,}: {times[1]:.3f} s; {huge.n_state:>11,}: {times[2]:.3f} s   "
              f"(per-neuron path at the small size: {scalar:.2f} s; estimate at [scale]: "
              f"{mem / 2**20:.0f} MiB, {flops:.1e} flop)")
    print(f"  slowest: {worst:.3f} s (target < 2 s, independent of the shapes)")
    if args.skip_runs:
        return
    print("eqprop scale at each example's [scale] sizes (wall clock, including start-up):")
    for path in _examples():
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "eqprop.cli", "scale", path], capture_output=True,
                             text=True)
        wall = time.perf_counter() - t
        verdict = [ln for ln in out.stdout.splitlines() if ln.startswith("verdict")]
        head = out.stdout.splitlines()[0] if out.stdout else out.stderr.strip()[-200:]
        print(f"  {os.path.basename(path):<30} {wall:6.1f} s  exit {out.returncode}  {head}")
        print(f"  {'':<30} {verdict[0] if verdict else ''}")
        if "modern_hopfield" in path:
            print(f"  {'':<30} modern Hopfield, 1,000 patterns x 784, batch 64: {wall:.1f} s "
                  "(target < 60 s)")


if __name__ == "__main__":
    main()

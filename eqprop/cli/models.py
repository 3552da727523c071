"""``eqprop models``: the built-in models and network specifications, with their sizes."""

from __future__ import annotations

from .output import sanitize

__all__ = ["add_parser", "run"]


def add_parser(subparsers, parents):
    """The ``models`` command (no options of its own)."""
    return subparsers.add_parser(
        "models", help="list the built-in models", parents=parents,
        description="List the model files shipped with eqprop (each usable as MODEL by verify, "
                    "derive and figures, e.g. 'eqprop verify two-neurons'), with their sizes, "
                    "and the built-in network specifications hopfield:L0,L1,...[:rho] and "
                    "quadratic:N.")


def run(_args):
    """One line per built-in model, then the specifications."""
    from ..symbolic.builtins import RHO, builtin_names, load_model
    for name in builtin_names():
        m = load_model(name)
        n_p = len(m.params)
        print(f"{name:<14} {sanitize(m.name)} ({len(m.state)} state variables, {n_p} "
              f"parameter{'s' if n_p != 1 else ''})")
    print("hopfield:L0,L1,...[:rho]  layered Hopfield network, output first, input last "
          f"(rho: {', '.join(RHO)}, or a formula in one variable such as z/(1 + z**2))")
    print("quadratic:N    linear dynamics with closed forms")
    return 0

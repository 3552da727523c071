"""``eqprop derive``: what eqprop derives from a model, as text or LaTeX."""

from __future__ import annotations

import argparse

from ..errors import EqpropError
from .options import MODEL_HELP, with_shape
from .output import sanitize
from .timers import OutOfTime, time_limit

__all__ = ["DERIVE_TIME_LIMIT", "add_parser", "run"]

#: Wall time ``eqprop derive`` may take, in seconds. Within its size budget (display.MAX_TERMS)
#: it takes seconds; reading a model file of megabytes of formulas takes minutes, and is stopped.
DERIVE_TIME_LIMIT = 60

EPILOG = """\
examples:
  eqprop derive                          # the paper's network, summarized
  eqprop derive hopfield:20,40,40,10     # 100 units, 2,800 weights: ~100 lines
  eqprop derive two-neurons --full       # every equation and entry
  eqprop derive paper --latex > paper.tex && pdflatex paper.tex"""


def _description():
    """The command's description, with the summary's limits as they are set."""
    from ..symbolic.display import MAX_TERMS
    from ..symbolic.summary import PATTERN_LIMIT, SHOW_FIRST, UNIT_LIMIT
    return f"""\
Print what eqprop derives from MODEL. By default a summary whose length does
not grow with the model:
  - the model: state, parameters, inputs and targets, by name family
    (W01_i_j, i = 0..1, j = 0..2), with their counts;
  - the energy and cost, terms of one form written as one sum
    (sum[i=0..1, j=0..2](...));
  - the free dynamics ds/dt = -dE/ds (paper 2.1): for a layered network
    the first unit of each layer, and whether the others have the same
    form; otherwise every unit up to {UNIT_LIMIT}, else the first {SHOW_FIRST} and a count;
  - the non-zero pattern of H = d2E/ds2: a picture up to {PATTERN_LIMIT} state
    variables, counts by block of layers beyond; M = d2E/(dtheta ds) by
    parameter family; the cost's gradient;
  - the RBP (paper 3.5-3.8) and EP (4.2-4.4, 5.4-5.5) equations, once,
    in vector form.
--full prints every equation and every structural non-zero of H and M on
its own line. --latex writes a LaTeX document of the same content.
Models of more than {MAX_TERMS:,} terms are refused; derive stops after {DERIVE_TIME_LIMIT} s."""


def add_parser(subparsers, parents):
    """The ``derive`` command and its options."""
    d = subparsers.add_parser(
        "derive", help="print the derived dynamics, Hessian and EP/RBP equations",
        parents=parents, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_description(), epilog=EPILOG)
    d.add_argument("model", nargs="?", default=None, help=MODEL_HELP)
    d.add_argument("--full", action="store_true",
                   help="print everything instead of the summary: every unit's free and nudged "
                        "dynamics and every structural non-zero of H and M, one per line "
                        "('H[s0_0, s1_0] = ...'; as text, in SymPy's one-line syntax)")
    d.add_argument("--shape", default=None, metavar="NAME=SIZE,...",
                   help="an array model's sizes, e.g. n=5,k=3 (default: its [dims])")
    d.add_argument("--latex", action="store_true",
                   help="a standalone LaTeX document (article class, amsmath only) instead of "
                        "text; the summary, or everything with --full")
    return d


def run(args):
    """Print the derivation; a model too large to print is refused, before it is built where its
    size is known from its name (``hopfield:...``), else after :data:`DERIVE_TIME_LIMIT`."""
    from ..symbolic.builtins import load_model, spec_terms
    from ..symbolic.display import check_terms, describe
    spec = "paper" if args.model is None else args.model  # '' is refused, not the paper's model
    terms = spec_terms(spec)  # a built-in network too large to print is refused before it is built
    if terms is not None:
        check_terms(terms)
    try:
        with time_limit(DERIVE_TIME_LIMIT):
            text = describe(with_shape(load_model(spec), args.shape), latex=args.latex,
                            full=args.full, document=True)
    except OutOfTime:
        raise EqpropError(f"derive: stopped after {DERIVE_TIME_LIMIT} s, the time budget of eqprop "
                          "derive; the model is too large to print: check it with 'eqprop verify' "
                          "(a layered network of realistic size with 'eqprop scale')") from None
    print(sanitize(text, newlines=True))
    return 0

"""``eqprop verify``: Theorems 1-3 at high precision, one row per identity and time."""

from __future__ import annotations

import argparse

from .options import MODEL_HELP, ascii_float, ascii_int, number_list, with_shape
from .output import check_output, not_an_input, sanitize, write_json
from .progress import stage_line
from .timers import OutOfTime, run_limit, time_limit

__all__ = ["EPILOG", "add_parser", "run"]

EPILOG = """\
examples:
  eqprop verify                       # the paper's 2-3-3-2 network at 50 digits
  eqprop verify examples/two_neurons.toml --dps 30 --times 0,1,5
  eqprop verify hopfield:2,3,2 --json report.json
  eqprop derive two-neurons --latex   # the derived equations, for slides

A model file (TOML):
  name = "two neurons"
  state = ["a", "b"]
  energy = "(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)"
  cost = "(a - y)**2/2"
  [params]
  w = "0.3"
  [data]
  x = "0.5"
  y = "0.2"

What is checked (paper equation numbers): A.3 Kolmogorov backward equation;
3.5-3.8 RBP's adjoint against expm and against definition 3.3 on the
nonlinear flow; 3.8/2.3 the limit of Thetabar against the implicit-function
gradient; 4.4 EP's gradient (nudged fixed points at real +-beta, Richardson-
extrapolated to beta -> 0) and the O(beta), O(beta^2) bias of finite beta;
5.4-5.5 EP's temporal derivatives (one nudged trajectory with complex beta)
against RBP's error derivatives at every time. 'verified' needs every row,
each to the required digits, and every hypothesis (real, smooth, a strict
minimum); a grid with no t > 0 is 'incomplete'.

exit status: 0 verified, 1 not verified, an assumption violated or
incomplete, 2 bad input, 3 internal error (the traceback is saved to a file,
in $EQPROP_TRACEBACK_DIR if set, else the temporary folder; --debug prints it
instead), 130 interrupted.
"""


def add_parser(subparsers, parents):
    """The ``verify`` command and its options."""
    from ..proofs.options import ENGINES

    v = subparsers.add_parser(
        "verify", help="check Theorems 1-3 at high precision", parents=parents,
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Check Theorems 1-3 of Scellier & Bengio (2019) on MODEL, each identity "
                    "along two independent paths, and print one row per identity and time with "
                    "its digits of agreement.")
    v.add_argument("model", nargs="?", default=None, help=MODEL_HELP)
    v.add_argument("--dps", type=ascii_int, default=None,
                   help="decimal digits to report at (default: the file's [verify] dps, else 50); "
                        "10 guard digits are added internally")
    v.add_argument("--times", default=None,
                   help="comma-separated times, e.g. 0,0.5,1,5 (default: 0 and up to where "
                        "Sbar_t has decayed by 1e-6)")
    v.add_argument("--engine", default=None, choices=ENGINES,
                   help="integrator of the nonlinear flows: gbs (built in), heyoka (Taylor, needs "
                        "eqprop[heyoka]), auto (heyoka when installed and the force has at most "
                        "2,000 terms; default)")
    v.add_argument("--required-digits", type=ascii_float, default=None,
                   help="digits each identity must reach (default: dps - 5)")
    v.add_argument("--seed", type=ascii_int, default=None,
                   help="seed of the random directions and states (default 0)")
    v.add_argument("--initial-state", default=None, metavar="S1,S2,...",
                   help="where the free phase starts, one number per state variable (default: the "
                        "file's [verify] initial_state, else zeros); another start finds another "
                        "minimum of a multi-well energy")
    v.add_argument("--time-limit", type=ascii_float, default=None, metavar="SECONDS",
                   help="wall-time budget of the whole run (default: the file's [verify] "
                        "time_limit, else 600); a check it stops makes the verdict 'incomplete'")
    v.add_argument("--shape", default=None, metavar="NAME=SIZE,...",
                   help="an array model's sizes, e.g. n=5,k=3 (default: its [dims]); the model is "
                        "written out entry by entry at them")
    v.add_argument("--json", metavar="FILE", default=None,
                   help="also write the full report as JSON ('-' for standard output)")
    v.add_argument("--quiet", action="store_true", help="print only the verdict line")
    return v


def run(args):
    """Verify the model; exit status 0 verified, 1 not (the report's own exit code)."""
    from ..proofs import verify
    from ..symbolic.builtins import load_model
    quiet = args.quiet
    check_output(args.json, "--json")
    not_an_input(args.json, [("model file", args.model)], "--json")

    def progress(msg):
        if not quiet:
            stage_line(msg, clock=True)
    limit = run_limit(args.time_limit)
    try:
        # the run's own budget stops the checks and reports 'incomplete'; this alarm, a little
        # later, stops what that budget cannot reach (building, deriving and compiling a large
        # model; the option, else the file's [verify] time_limit, sizes it)
        with time_limit(limit + min(10.0, limit / 2)):
            model = with_shape(load_model("paper" if args.model is None else args.model),
                               args.shape)
        if args.time_limit is None:  # the file's [verify] time_limit, where it gives one
            limit = run_limit((model.verify or {}).get("time_limit"))
        with time_limit(limit + min(10.0, limit / 2)):
            report = verify(model, dps=args.dps, times=number_list(args.times), engine=args.engine,
                            seed=args.seed, required_digits=args.required_digits,
                            time_limit=args.time_limit, progress=progress,
                            initial_state=number_list(args.initial_state, "--initial-state",
                                                      "0.5,-1"))
    except OutOfTime:
        print(f"verdict: incomplete: stopped after the time limit of {limit:g} s while building, "
              "deriving and compiling the model, before any identity was checked; raise "
              "--time-limit or use a smaller model")
        return 1
    if args.json:
        write_json(args.json, report.to_json())
    if args.json != "-":  # with '-', nothing but the JSON on standard output
        print(sanitize(f"verdict: {report.verdict.value}" if quiet else report.table(), newlines=True))
    return report.exit_code

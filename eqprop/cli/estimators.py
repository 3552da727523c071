"""``eqprop estimators``: EP's estimators of dJ/dtheta against the exact gradient."""

from __future__ import annotations

import argparse
import sys

from ..errors import EqpropError

from .options import MODEL_HELP, ascii_float, ascii_int, int_list, number_list, with_shape
from .output import check_output, not_an_input, sanitize, write_json
from .timers import OutOfTime, run_limit, time_limit

__all__ = ["add_parser", "run", "figure_formats", "draw_figures"]

EPILOG = """\
examples:
  eqprop estimators                          # the paper's network, N = 4, 8, 16, 32
  eqprop estimators two-neurons --points 4,30 --json estimators.json
  eqprop estimators examples/asymmetry.toml --asymmetry alpha   # where EP breaks
  eqprop estimators two-neurons --points 4,8 --figures figs --format png

For each estimator, its error against dJ/dtheta (the implicit gradient, one
linear solve) at each value of its parameter: the largest absolute error,
the relative error, 1 - cosine between the two vectors, and the per-unit RMSE.
Rows: the fitted order of the error (1 for one-sided nudging of either sign,
2 for the centered estimator, N for N nudges on a circle of radius r), the
N-point estimate at a small radius against dJ/dtheta to the working digits,
the complex-step limit, and the decay rate of truncated RBP (= early-stopped
EP, Theorem 3) against the slowest eigenvalue of H that the cost excites.
With --asymmetry, EP's gradient against the true one (RBP with the transposed
Jacobian) as the field turns asymmetric: the order of their difference in
alpha and its first-order formula M H^-1 (A - A^T) H^-1 C_s.
With --figures DIR, the run's figures are drawn into DIR (errors against the
nudge, truncation against t, error against N at r = R/2, the break across the
radius, the complex-beta plane, and with --asymmetry the angle against alpha),
each file's path printed.

exit status: 0 every row holds, 1 a row fails or is incomplete, or an
assumption is violated, 2 bad input, 3 internal error.
"""


def add_parser(subparsers, parents):
    """The ``estimators`` command and its options."""
    from ..proofs.options import ENGINES

    e = subparsers.add_parser(
        "estimators", help="measure EP's gradient estimators against the exact gradient",
        parents=parents, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Evaluate every EP estimator of dJ/dtheta on MODEL at high precision (one-"
                    "sided nudging with beta > 0 and beta < 0, centered, N nudges on a circle "
                    "(holomorphic EP), the complex-step limit, truncated RBP / early-stopped EP), "
                    "measure each against the exact gradient, and check its order.")
    e.add_argument("model", nargs="?", default=None, help=MODEL_HELP)
    e.add_argument("--dps", type=ascii_int, default=30,
                   help="decimal digits the rows are measured at (default 30; 10 guard digits "
                        "are added)")
    e.add_argument("--points", default="4,8,16,32", metavar="N1,N2,...",
                   help="numbers of nudges on the circle of the holomorphic estimators, each 3 to "
                        "64 (default 4,8,16,32; N = 1 and 2 always run)")
    e.add_argument("--asymmetry", default=None, metavar="NAME",
                   help="a vector-field model's data value that makes the field asymmetric (0: a "
                        "gradient field): EP's gradient against the true one as it grows, the "
                        "order of their difference, its first-order formula, the angle between them")
    e.add_argument("--alpha-max", default="1e-2", metavar="ALPHA",
                   help="the largest asymmetry strength (default 1e-2; three decades below it)")
    e.add_argument("--engine", default=None, choices=ENGINES, help="as for eqprop verify")
    e.add_argument("--seed", type=ascii_int, default=None, help="as for eqprop verify")
    e.add_argument("--initial-state", default=None, metavar="S1,S2,...",
                   help="where the free phase starts (default: zeros)")
    e.add_argument("--time-limit", type=ascii_float, default=None, metavar="SECONDS",
                   help="wall-time budget (default 600); an estimator it stops makes the verdict "
                        "'incomplete'")
    e.add_argument("--shape", default=None, metavar="NAME=SIZE,...",
                   help="an array model's sizes (default: its [dims])")
    e.add_argument("--json", metavar="FILE", default=None,
                   help="also write the report as JSON ('-' for standard output)")
    e.add_argument("--figures", metavar="DIR", default=None,
                   help="also draw the report's figures into the folder DIR (made if need be)")
    e.add_argument("--format", default=None, metavar="FMT,...",
                   help="with --figures: comma-separated, from png, pdf and svg (default png,pdf)")
    e.add_argument("--quiet", action="store_true", help="print only the verdict line")
    return e


def run(args):
    """Measure the estimators; exit status 0 when every row holds."""
    import json

    from ..proofs import estimators
    from ..symbolic.builtins import load_model
    check_output(args.json, "--json")
    not_an_input(args.json, [("model file", args.model)], "--json")
    formats = figure_formats(args)
    points = int_list(args.points, "--points", "4,8,16,32")
    limit = run_limit(args.time_limit)
    try:  # the run's budget stops the estimators; this alarm what it cannot reach (deriving)
        with time_limit(limit + min(10.0, limit / 2)):
            model = with_shape(load_model("paper" if args.model is None else args.model),
                               args.shape)
            report = estimators(
                model, dps=args.dps, points=points, engine=args.engine, seed=args.seed,
                time_limit=args.time_limit, asymmetry=args.asymmetry, alpha_max=args.alpha_max,
                initial_state=number_list(args.initial_state, "--initial-state", "0.5,-1"))
    except OutOfTime:
        print(f"verdict: incomplete: stopped after the time limit of {limit:g} s while building, "
              "deriving and compiling the model; raise --time-limit or use a smaller model")
        return 1
    if args.json:
        write_json(args.json, json.dumps(report.to_dict(), indent=1, sort_keys=True))
    if args.json != "-":
        print(sanitize(f"verdict: {report.verdict.value}" if args.quiet else report.table(),
                       newlines=True))
    if formats:
        draw_figures(report, args.figures, formats,
                     to=sys.stderr if args.json == "-" else sys.stdout)
    return report.exit_code


def figure_formats(args):
    """The formats of --figures, checked with its folder before the run (none without it;
    matplotlib, half a second to import, only with it)."""
    if args.figures is None:
        if args.format is not None:
            raise EqpropError("--format: goes with --figures DIR, the folder the figures are "
                              "drawn into; add --figures DIR or leave out --format")
        return None
    from ..figures import check_formats
    check_output(args.figures, "--figures", folder=True)
    text = "png,pdf" if args.format is None else args.format
    try:
        return check_formats([f.strip() for f in text.split(",") if f.strip()])
    except EqpropError as exc:
        raise EqpropError(f"--{exc}") from None


def draw_figures(report, folder, formats, to):
    """The report's figures into ``folder``: each file's path to ``to``, each figure left out
    (and why) to standard error."""
    from ..figures.estimators import save

    def note(msg):
        print(f"eqprop: note: {sanitize(msg)}", file=sys.stderr, flush=True)
    for path in save(report, folder, formats, note=note):
        print(sanitize(path), file=to)

"""``eqprop scale``: Theorem 3 at realistic size, in float64, for an array model or a layered
Hopfield network."""

from __future__ import annotations

import argparse

from ..errors import EqpropError
from .options import ascii_float, ascii_int, int_list, layers_option, shape_option
from .output import check_output, not_an_input, write_json
from .progress import Progress

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Check Theorem 3 in discrete time at realistic size: EP's temporal
derivatives with complex-step nudging (beta = i h) against RBP's
error derivatives, per state block and parameter, in Ernoult et
al.'s normalized measure, beside a real beta; then dJ/dtheta by the
implicit function theorem, the EP limit and the RBP limit. MODEL is
an array model file (its [scale] table sets the sizes, --shape
overrides them); without it, the layered Hopfield network of
--layers. Every derivative is generated from the model's array
formulas; no n x n matrix is formed."""

EPILOG = """\
examples:
  eqprop scale examples/modern_hopfield.toml           # its [scale] sizes
  eqprop scale examples/xy_oscillators.toml --shape L=50 --batch 8
  eqprop scale --layers 10,512,512,784 --batch 128
  eqprop scale --layers 10,64,64 --data digits --continuous
  eqprop scale --layers 10,64,64 --batch 16 --estimators --points 8,32
  eqprop scale --layers 10,64,64 --estimators --asymmetry 0.1   # where EP leaves RBP

verdicts: agreement (exit 0) when every hypothesis holds for every
example and every row is within its tolerance; NOT passed (exit 1)
names what failed; incomplete (exit 1) when a row compared nothing
(both sides exactly zero).

limits: a run estimated to need more than 8 GiB of memory or 1e13
floating-point operations is refused before it starts (exit 2)."""


def add_parser(subparsers, parents):
    """The ``scale`` command and its options: the model, then the layered network's own, then
    the run's."""
    sc = subparsers.add_parser(
        "scale", help="Theorem 3 at realistic size, for an array model or a layered network "
                      "(float64)",
        parents=parents, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DESCRIPTION, epilog=EPILOG)
    sc.add_argument("model", nargs="?", default=None,
                    help="an array model file (TOML with a [state] table of arrays); default: the "
                         "layered network of --layers")
    sc.add_argument("--shape", default=None, metavar="NAME=SIZE,...",
                    help="sizes of the model's [dims], e.g. n=10000,k=50 (default: its [scale] dims)")
    sc.add_argument("--layers", default=None,
                    help="layer sizes of the layered Hopfield network, output first and input last "
                         "(default 10,512,512,784; not with MODEL)")
    sc.add_argument("--batch", type=ascii_int, default=None,
                    help="examples per batch (default: the model's [scale] batch, else 128)")
    sc.add_argument("--data", default="random",
                    help="random (default: the model's initializers), digits (scikit-learn's 8x8 "
                         "digits: needs eqprop[data]) or mnist:PATH (a local IDX images file or "
                         ".npz), into the data arrays marked dataset = \"images\" and \"labels\"")
    sc.add_argument("--rho", default=None,
                    help="the layered network's activation: sigmoid (default), tanh, smoothhard, "
                         "softplus (unbounded: the free phase may run away), a function such as atan, "
                         "or a smooth formula in z, finite on the real line with rho'(0) != 0")
    sc.add_argument("--cost", default=None, choices=["squared", "cross_entropy"],
                    help="the layered network's cost: squared (default) or cross_entropy on a "
                         "softmax of the output")
    sc.add_argument("--steps", type=ascii_int, default=None,
                    help="Euler steps of the nudged phase and of RBP (default: [scale], else 100)")
    sc.add_argument("--eps", type=ascii_float, default=None,
                    help="Euler step size, any positive value; whether it is stable (eps lambda_max "
                         "< 2) is checked per example (default: [scale], else 0.5)")
    sc.add_argument("--beta", type=ascii_float, default=None,
                    help="the real beta shown beside (default: [scale], else 0.01)")
    sc.add_argument("--continuous", action="store_true",
                    help="also check continuous time with SciPy's DOP853")
    sc.add_argument("--asymmetry", type=ascii_float, default=None,
                    help="the layered network's negative control: noise added to the backward "
                         "weights, a non-gradient vector field (default 0); with --estimators, "
                         "the largest strength of a study of EP against the true gradient")
    sc.add_argument("--seed", type=ascii_int, default=None,
                    help="seed of the initializers and data (default: the model's seed, else 0)")
    sc.add_argument("--init", default=None, choices=["zeros", "random"],
                    help="the free phase's initial state: zeros (default) or a seeded random one")
    sc.add_argument("--backend", default="numpy", choices=["numpy", "torch"],
                    help="the array library the generated code runs on: numpy (default) or torch "
                         "(pip install 'eqprop[torch]'; with --device cuda on a GPU)")
    sc.add_argument("--device", default=None,
                    help="the torch backend's device: cpu (default) or cuda")
    sc.add_argument("--estimators", action="store_true",
                    help="instead of Theorem 3: EP's gradient estimators (one-sided, centered, N "
                         "nudges on a circle, complex step, truncated RBP) against the exact "
                         "gradient, with the radius of beta -> s^beta per example")
    sc.add_argument("--points", default=None, metavar="N1,N2,...",
                    help="with --estimators: numbers of nudges on the circle, each 3 to 64 "
                         "(default 4,8,16,32; N = 1 and 2 always run)")
    sc.add_argument("--radius", type=ascii_float, default=None, metavar="R",
                    help="with --estimators: take R as the radius of beta -> s^beta instead of "
                         "searching it (the search costs hundreds of nudged fixed points; "
                         "the rows' radii are then fractions of R, and the break row is left out)")
    sc.add_argument("--figures", metavar="DIR", default=None,
                    help="with --estimators: also draw the report's figures into the folder DIR")
    sc.add_argument("--format", default=None, metavar="FMT,...",
                    help="with --figures: comma-separated, from png, pdf and svg (default png,pdf)")
    sc.add_argument("--json", metavar="FILE", default=None,
                    help="also write the report as JSON ('-' for standard output)")
    return sc


def run(args):
    """Run the check; exit status 0 on agreement, else 1."""
    from ..proofs.scale import scale
    layered = {"rho": args.rho, "cost": args.cost, "asymmetry": args.asymmetry}
    model = _model(args, layered)
    dims = shape_option(args.shape) if args.shape is not None else None
    check_output(args.json, "--json")
    inputs = _data_files(args.data) + ([("model file", args.model)] if args.model else [])
    not_an_input(args.json, inputs, "--json")
    options = {k: v for k, v in layered.items() if v is not None}
    if args.estimators:
        return _estimators(args, model, dims, options)
    for name, given in (("--points", args.points), ("--radius", args.radius is not None),
                        ("--figures", args.figures is not None),
                        ("--format", args.format is not None)):
        if given:
            raise EqpropError(f"{name}: applies with --estimators only")
    return _report(args, lambda bar: scale(
        model, batch=args.batch, data=args.data, steps=args.steps, eps=args.eps, beta=args.beta,
        continuous=args.continuous, seed=args.seed, init=args.init, dims=dims,
        backend=args.backend, device=args.device, progress=bar, **options))


def _report(args, run_with, formats=None):
    """Run ``run_with(progress bar)``, write its report (--json), its table and (``formats``)
    its figures; the exit status 0 when it passed."""
    bar = Progress()
    try:
        report = run_with(bar)
    except BaseException:
        bar.stop()  # the error message then starts on its own line
        raise
    bar.done()
    if args.json:
        write_json(args.json, report.to_json())
    if args.json != "-":
        print(report.table())
    if formats:
        import sys

        from .estimators import draw_figures
        draw_figures(report, args.figures, formats,
                     to=sys.stderr if args.json == "-" else sys.stdout)
    return 0 if report.passed else 1


def _estimators(args, model, dims, options):
    """``--estimators``: the estimator family at scale, or with --asymmetry the study of
    where EP's gradient leaves the true one."""
    from ..proofs.scale_estimators import DEFAULT_POINTS, scale_estimators
    from .estimators import figure_formats
    formats = figure_formats(args)
    odd = [n for n, v in (("--steps", args.steps), ("--beta", args.beta),
                          ("--continuous", args.continuous)) if v]
    if odd:
        raise EqpropError(f"{odd[0]}: not with --estimators (the estimators choose their own "
                          "nudges; Euler steps are --eps)")
    points = DEFAULT_POINTS if args.points is None else int_list(args.points, "--points",
                                                                 "4,8,16,32")
    if "asymmetry" in options:
        return _asymmetry(args, model, options, formats)
    return _report(args, lambda bar: scale_estimators(
        model, points=points, radius=args.radius, batch=args.batch, data=args.data,
        eps=args.eps, seed=args.seed, init=args.init, dims=dims, backend=args.backend,
        device=args.device, progress=bar, **options), formats)


def _asymmetry(args, layers, options, formats):
    """``--estimators --asymmetry ALPHA``: EP's gradient against the true one as the layered
    network's backward weights turn asymmetric, strengths from ALPHA down two decades."""
    import time

    from ..proofs import scale_asymmetry
    from ..proofs.scale_estimator_report import AsymmetryReport
    if args.points is not None or args.radius is not None:
        raise EqpropError(f"{'--points' if args.points is not None else '--radius'}: not with "
                          "--asymmetry (the study compares EP's limit with the true gradient)")
    if args.model is not None:
        raise EqpropError("--asymmetry: applies to the layered network (--layers) only")
    chosen = {k: v for k, v in (("batch", args.batch), ("seed", args.seed), ("eps", args.eps),
                                ("init", args.init)) if v is not None}

    def run_with(bar):
        t = time.perf_counter()
        study, rows = scale_asymmetry.check(
            layers, alpha_max=options["asymmetry"], rho=options.get("rho", "sigmoid"),
            cost=options.get("cost", "squared"), data=args.data, backend=args.backend,
            device=args.device, progress=bar, **chosen)
        return AsymmetryReport(study, rows, time.perf_counter() - t)
    return _report(args, run_with, formats)


def _model(args, layered):
    """What scale() checks: the model file as given (scale() reads it, once), else the layer
    sizes; an option of the other kind is refused."""
    if args.model is not None:
        given = [f"--{k}" for k, v in layered.items() if v is not None] + \
            (["--layers"] if args.layers is not None else [])
        if given:
            raise EqpropError(f"{given[0]}: applies to the layered network only, not with a model "
                              "file (the model writes its own energy and cost)")
        return args.model
    if args.shape is not None:
        raise EqpropError("--shape: sets the sizes of a model file's [dims]; the layered "
                          "network takes --layers")
    return layers_option(args.layers or "10,512,512,784")


def _data_files(spec):
    """The files ``--data mnist:PATH`` reads (an IDX images file's labels file beside it)."""
    if not isinstance(spec, str) or not spec.startswith("mnist:"):
        return []
    from pathlib import Path

    from ..numeric.data import labels_path
    path = Path(spec[len("mnist:"):])
    files = [("data file", str(path))]
    try:
        files.append(("labels file", str(labels_path(path))))
    except (EqpropError, ValueError):
        pass
    return files

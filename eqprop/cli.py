"""The command line: a thin layer over the library.

    eqprop verify [MODEL] [--dps N] [--times T1,T2,...] [--json FILE] [--quiet]
    eqprop derive [MODEL] [--latex]
    eqprop scale [--layers 10,512,512,784] [--batch 128] [--data random|digits|mnist:PATH]
    eqprop figures [--out DIR] [--format png,pdf,svg] [--model MODEL] [--from report.json]
    eqprop models

Bad input prints one line ``eqprop: error: ...`` and exits with status 2.
``verify`` exits 0 when verified, 1 when not verified or an assumption is
violated.
"""

from __future__ import annotations

import argparse
import sys
import time

from .errors import EqpropError

MODEL_HELP = ("a TOML model file, a built-in name (paper, two-neurons), "
              "'hopfield:2,3,3,2[:rho]' or 'quadratic:N'; default: paper")

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
gradient; 4.4 EP's gradient (complex-step beta) and the O(beta), O(beta^2)
bias of finite beta; 5.4-5.5 EP's temporal derivatives against RBP's error
derivatives at every time. Exit status: 0 verified, 1 not verified or an
assumption violated, 2 bad input.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line errors (exit status 2)."""

    def error(self, message):
        self.exit(2, f"eqprop: error: {message} (see '{self.prog} --help')\n")


def _parser():
    p = _Parser(
        prog="eqprop", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Verify the equivalence of equilibrium propagation and recurrent "
                    "backpropagation (Scellier & Bengio 2019) for an energy you write down.",
        epilog=EPILOG)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("verify", help="check Theorems 1-3 at high precision",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                       description="Check Theorems 1-3 of Scellier & Bengio (2019) on MODEL, "
                                   "each identity along two independent paths, and print one "
                                   "row per identity and time with its digits of agreement.")
    v.add_argument("model", nargs="?", default=None, help=MODEL_HELP)
    v.add_argument("--dps", type=int, default=None,
                   help="decimal digits to report at (default: the file's [verify] dps, else 50); "
                        "10 guard digits are added internally")
    v.add_argument("--times", default=None,
                   help="comma-separated times, e.g. 0,0.5,1,5 (default: 0 and up to where "
                        "Sbar_t has decayed by 1e-6)")
    v.add_argument("--engine", default="auto", choices=["auto", "gbs", "heyoka"],
                   help="integrator of the nonlinear flows: gbs (built in), heyoka (Taylor, needs "
                        "eqprop[heyoka]), auto (heyoka when installed; default)")
    v.add_argument("--required-digits", type=float, default=None,
                   help="digits each identity must reach (default: dps - 5)")
    v.add_argument("--seed", type=int, default=0, help="seed of the random directions and states")
    v.add_argument("--json", metavar="FILE", default=None,
                   help="also write the full report as JSON ('-' for standard output)")
    v.add_argument("--quiet", action="store_true", help="print only the verdict line")

    d = sub.add_parser("derive", help="print the derived dynamics, Hessian and EP/RBP equations",
                       description="Print what eqprop derives from MODEL: the free dynamics "
                                   "ds/dt = -dE/ds, the Hessian H, the mixed derivative M, and "
                                   "the RBP and EP equations.")
    d.add_argument("model", nargs="?", default=None, help=MODEL_HELP)
    d.add_argument("--latex", action="store_true", help="LaTeX instead of pretty text")

    sc = sub.add_parser("scale", help="Theorem 3 on a realistic-size layered network (float64)",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Check Theorem 3 in discrete time on a layered Hopfield network "
                                    "of realistic size: EP's temporal derivatives with complex-step "
                                    "nudging (beta = i h) against RBP's error derivatives, per layer, "
                                    "in Ernoult et al.'s normalized measure, beside a real beta; "
                                    "then dJ/dtheta by the implicit function theorem, the EP limit "
                                    "and the RBP limit.",
                        epilog="example:\n  eqprop scale --layers 10,512,512,784 --batch 128\n"
                               "  eqprop scale --layers 10,64,64 --data digits --continuous")
    sc.add_argument("--layers", default="10,512,512,784",
                    help="layer sizes, output first and input last (default 10,512,512,784)")
    sc.add_argument("--batch", type=int, default=128, help="examples per batch (default 128)")
    sc.add_argument("--data", default="random",
                    help="random (default), digits (scikit-learn's 8x8 digits: input 64, output 10; "
                         "needs eqprop[data]) or mnist:PATH (a local IDX images file or .npz)")
    sc.add_argument("--rho", default="sigmoid", help="activation: sigmoid, tanh, smoothhard or a formula")
    sc.add_argument("--cost", default="squared", choices=["squared", "cross_entropy"])
    sc.add_argument("--steps", type=int, default=100, help="Euler steps of the nudged phase and of RBP")
    sc.add_argument("--eps", type=float, default=0.5, help="Euler step size (default 0.5)")
    sc.add_argument("--beta", type=float, default=0.01, help="the real beta shown beside (default 0.01)")
    sc.add_argument("--continuous", action="store_true",
                    help="also check continuous time with SciPy's DOP853")
    sc.add_argument("--asymmetry", type=float, default=0.0,
                    help="noise added to the backward weights: a non-gradient negative control")
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument("--json", metavar="FILE", default=None, help="also write the report as JSON")

    fg = sub.add_parser("figures", help="draw the figures of a verification (Theorem 3, truncation, bias)",
                        description="Run a verification with a dense time grid (or read a saved "
                                    "JSON report) and draw its figures: the network, Theorem 3 for "
                                    "states and parameters, truncated RBP, and the bias of finite "
                                    "beta, digits against dps, and the realistic-size check "
                                    "(figures 6 and 7 only when not drawing --from a report).")
    fg.add_argument("--out", default="eqprop-figures", help="folder (default ./eqprop-figures)")
    fg.add_argument("--format", default="png,pdf", help="comma-separated: png, pdf, svg")
    fg.add_argument("--model", default=None, help=MODEL_HELP)
    fg.add_argument("--dps", type=int, default=30, help="digits of the verification (default 30)")
    fg.add_argument("--from", dest="source", default=None,
                    help="draw from a saved report (eqprop verify --json FILE) instead")

    sub.add_parser("models", help="list the built-in models")
    return p


def _times(text):
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise EqpropError(f"--times: expected comma-separated numbers like 0,0.5,1, got {text!r}") from None


def _verify(args):
    import os

    from .proofs import verify
    quiet = args.quiet
    if args.json and args.json != "-":
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder):
            raise EqpropError(f"--json: folder {folder!r} does not exist; create it or choose "
                              "another path")

    def progress(msg):
        if not quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {msg} ...", file=sys.stderr, flush=True)
    report = verify(args.model, dps=args.dps, times=_times(args.times), engine=args.engine,
                    seed=args.seed, required_digits=args.required_digits, progress=progress)
    if args.json:
        text = report.to_json()
        if args.json == "-":
            print(text)
        else:
            try:
                with open(args.json, "w", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            except OSError as exc:
                raise EqpropError(f"--json: cannot write {args.json!r} ({exc.strerror})") from None
    if args.json != "-":
        print(f"verdict: {report.verdict.value}" if quiet else report.table())
    return report.exit_code


def _scale(args):
    from .proofs.scale import scale
    try:
        layers = [int(n) for n in args.layers.split(",")]
    except ValueError:
        raise EqpropError(f"--layers: expected comma-separated integers like 10,512,512,784, "
                          f"got {args.layers!r}") from None
    if args.json and args.json != "-":
        import os
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder):
            raise EqpropError(f"--json: folder {folder!r} does not exist")
    bar = _Progress()
    report = scale(layers, batch=args.batch, data=args.data, rho=args.rho, cost=args.cost,
                   steps=args.steps, eps=args.eps, beta=args.beta, continuous=args.continuous,
                   asymmetry=args.asymmetry, seed=args.seed, progress=bar)
    bar.done()
    print(report.table())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(report.to_json() + "\n")
    return 0 if report.passed else 1


class _Progress:
    """A one-line stage indicator on standard error (stages, elapsed time)."""

    def __init__(self):
        self.start, self.stage = time.perf_counter(), 0

    def __call__(self, msg):
        self.stage += 1
        print(f"\r[{time.perf_counter() - self.start:6.1f} s] stage {self.stage}: {msg:<70}",
              end="", file=sys.stderr, flush=True)

    def done(self):
        print(f"\r[{time.perf_counter() - self.start:6.1f} s] done{'':<80}", file=sys.stderr, flush=True)


def _figures(args):
    from .figures import regenerate
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    extra = {}
    if args.source:
        report = args.source
    else:
        from .proofs import verify
        from .proofs.problem import default_times
        from .symbolic.builtins import load_model
        model = load_model(args.model or "paper")
        first = verify(model, dps=args.dps, times=[0, 1])  # for the decay rate
        lam = float(first.hessian_min_eigenvalue)
        t_max = default_times(lam)[-1] if lam > 0 else 10.0
        times = [round(t_max * k / 24, 4) for k in range(25)]
        print(f"verifying {model.name} at {args.dps} digits on 25 times up to {t_max:g} ...",
              file=sys.stderr)
        report = verify(model, dps=args.dps, times=times)
        print("verifying at 15, 20, 25 and 30 digits for the precision figure ...", file=sys.stderr)
        extra["precision_reports"] = [verify(model, dps=p) for p in (15, 20, 25)] + [report]
        print("the realistic-size check (layers 10-128-128-784, batch 32) ...", file=sys.stderr)
        from .proofs.scale import scale
        extra["scale_report"] = scale([10, 128, 128, 784], batch=32, steps=60)
    for path in regenerate(report, args.out, formats, **extra):
        print(path)
    return 0


def _models(_args):
    from .symbolic.builtins import builtin_names, load_model
    for name in builtin_names():
        m = load_model(name)
        n_p = len(m.params)
        print(f"{name:<14} {m.name} ({len(m.state)} state variables, {n_p} "
              f"parameter{'s' if n_p != 1 else ''})")
    print("hopfield:L0,L1,...[:rho]  layered Hopfield network, output first, input last "
          "(rho: sigmoid, tanh, hardsigmoid, smoothhard)")
    print("quadratic:N    linear dynamics with closed forms")
    return 0


def _derive(args):
    from .symbolic.builtins import load_model
    from .symbolic.display import describe
    print(describe(load_model(args.model or "paper"), latex=args.latex))
    return 0


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"verify": _verify, "derive": _derive, "models": _models,
                "scale": _scale, "figures": _figures}[args.command](args)
    except EqpropError as exc:
        print(f"eqprop: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eqprop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

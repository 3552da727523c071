"""The command line: a thin layer over the library.

    eqprop verify [MODEL] [--dps N] [--times T1,T2,...] [--json FILE] [--quiet]
    eqprop derive [MODEL] [--full] [--latex]
    eqprop scale [MODEL] [--shape n=10000] [--layers 10,512,512,784] [--batch 128] [--data ...]
    eqprop figures [--out DIR] [--format png,pdf,svg] [--model MODEL] [--from report.json]
    eqprop models

Exit status, for every command:

    0  verified (``verify``), agreement (``scale``), done (the others)
    1  not verified, an assumption violated, or incomplete (``Report.exit_code``)
    2  bad input: one line ``eqprop: error: ...`` on standard error
    3  internal error (a bug): one line ``eqprop: internal error: ...`` naming the
       file that holds the traceback; ``--debug`` prints the traceback instead
  130  interrupted
  141  standard output closed early (``eqprop models | head``)

Output files (``--json``, ``--out``) are checked before any work starts;
``--json -`` writes to standard output.
"""

from __future__ import annotations

import argparse
import decimal
import contextlib
import os
import re
import sys
import time

from .errors import EqpropError
from .symbolic.numbers import nonzero_text

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


#: Control characters (but tab), bidirectional overrides and other invisible
#: formatting, and lone surrogates: never written raw to a terminal.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                     "\u2060-\u2069\ufeff\ud800-\udfff]")


def sanitize(text, *, newlines=False):
    """``text`` with control characters written visibly (ESC as ``\\x1b``, U+202E as ``\\u202e``).

    Model files are shared: their names, formulas and the messages quoting
    them must not move the cursor, recolour or rewrite lines, nor reverse
    the reading order. ``newlines=True`` keeps line breaks (tables).
    """
    def visible(m):
        c = m.group()
        return c if newlines and c == "\n" else c.encode("unicode_escape").decode("ascii")
    return _UNSAFE.sub(visible, str(text))


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line errors (exit status 2)."""

    def error(self, message):
        m = re.fullmatch(r"argument (--[\w-]+)(?:/[^:]*)?: expected one argument", message)
        if m:  # '--times -0,1': argparse takes '-0,1' for an option
            message += (f"; a value that starts with '-' goes after '=', as in "
                        f"{m.group(1)}={'-0,1' if m.group(1) in ('--times', '--initial-state') else '-0.5'}")
        self.exit(2, f"eqprop: error: {sanitize(message)} (see '{self.prog} --help')\n")

    def add_argument(self, *args, **kwargs):
        """An option that takes a value may be given once (see :class:`_Once`)."""
        if args and args[0].startswith("-") and kwargs.get("action") is None:
            kwargs["action"] = _Once
        return super().add_argument(*args, **kwargs)


class _Once(argparse.Action):
    """Store an option's value, refusing a second one: with '--dps 10 --dps 12' or '--times 0,1
    --times 0,5' argparse would keep the last silently."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = namespace.__dict__.setdefault("_given", {})
        if self.dest in given:
            def shown(v):
                return repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
            parser.error(f"argument {'/'.join(self.option_strings)}: given twice "
                         f"({shown(given[self.dest])} and {shown(values)}); give it once")
        given[self.dest] = values
        setattr(namespace, self.dest, values)


def _ascii_int(text):
    """An integer option in ASCII digits: int() alone takes '1_0', fullwidth and Arabic-Indic
    digits too, which would be read silently."""
    if not _SIZE.fullmatch(text) or len(text.strip()) > 4000:
        raise argparse.ArgumentTypeError(f"invalid int value: {text[:40]!r} (an integer in ASCII "
                                         "digits, such as 30)")
    return int(text)


def _ascii_float(text):
    """A real option in ASCII (digits, sign, point, exponent; nan and inf are read and then
    refused where a finite number is needed): float() alone takes '0.2_5' and fullwidth digits."""
    if not _NUMBER.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"invalid float value: {text[:40]!r} (a decimal number "
                                         "in ASCII, such as 0.5 or 1e-3)")
    value = float(text)
    if (value == 0 and nonzero_text(text)) or \
            0 < abs(value) < sys.float_info.min:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is below float64's smallest normal "
                                         "number (about 2.2e-308): it would be read as 0, or "
                                         "with fewer digits; write 0")
    return value


DEBUG_HELP = "on an internal error, print the traceback here instead of saving it to a file"

def _derive_help():
    from .symbolic.display import MAX_TERMS
    from .symbolic.summary import PATTERN_LIMIT, SHOW_FIRST, UNIT_LIMIT
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


def _parser():
    from .proofs.verify import ENGINES

    p = _Parser(
        prog="eqprop", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Verify the equivalence of equilibrium propagation and recurrent "
                    "backpropagation (Scellier & Bengio 2019) for an energy you write down.",
        epilog=EPILOG)
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    # --debug after the command too; SUPPRESS: a subcommand does not reset it to False
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("verify", help="check Theorems 1-3 at high precision", parents=[common],
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                       description="Check Theorems 1-3 of Scellier & Bengio (2019) on MODEL, "
                                   "each identity along two independent paths, and print one "
                                   "row per identity and time with its digits of agreement.")
    v.add_argument("model", nargs="?", default=None, help=MODEL_HELP)
    v.add_argument("--dps", type=_ascii_int, default=None,
                   help="decimal digits to report at (default: the file's [verify] dps, else 50); "
                        "10 guard digits are added internally")
    v.add_argument("--times", default=None,
                   help="comma-separated times, e.g. 0,0.5,1,5 (default: 0 and up to where "
                        "Sbar_t has decayed by 1e-6)")
    v.add_argument("--engine", default=None, choices=ENGINES,
                   help="integrator of the nonlinear flows: gbs (built in), heyoka (Taylor, needs "
                        "eqprop[heyoka]), auto (heyoka when installed and the force has at most "
                        "2,000 terms; default)")
    v.add_argument("--required-digits", type=_ascii_float, default=None,
                   help="digits each identity must reach (default: dps - 5)")
    v.add_argument("--seed", type=_ascii_int, default=None,
                   help="seed of the random directions and states (default 0)")
    v.add_argument("--initial-state", default=None, metavar="S1,S2,...",
                   help="where the free phase starts, one number per state variable (default: the "
                        "file's [verify] initial_state, else zeros); another start finds another "
                        "minimum of a multi-well energy")
    v.add_argument("--time-limit", type=_ascii_float, default=None, metavar="SECONDS",
                   help="wall-time budget of the whole run (default: the file's [verify] "
                        "time_limit, else 600); a check it stops makes the verdict 'incomplete'")
    v.add_argument("--shape", default=None, metavar="NAME=SIZE,...",
                   help="an array model's sizes, e.g. n=5,k=3 (default: its [dims]); the model is "
                        "written out entry by entry at them")
    v.add_argument("--json", metavar="FILE", default=None,
                   help="also write the full report as JSON ('-' for standard output)")
    v.add_argument("--quiet", action="store_true", help="print only the verdict line")

    d = sub.add_parser("derive", help="print the derived dynamics, Hessian and EP/RBP equations",
                       parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
                       description=_derive_help(), epilog="examples:\n"
                       "  eqprop derive                          # the paper's network, summarized\n"
                       "  eqprop derive hopfield:20,40,40,10     # 100 units, 2,800 weights: ~100 lines\n"
                       "  eqprop derive two-neurons --full       # every equation and entry\n"
                       "  eqprop derive paper --latex > paper.tex && pdflatex paper.tex")
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

    sc = sub.add_parser("scale", help="Theorem 3 at realistic size, for an array model or a layered "
                                      "network (float64)",
                        parents=[common],
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Check Theorem 3 in discrete time at realistic size: EP's temporal\n"
                                    "derivatives with complex-step nudging (beta = i h) against RBP's\n"
                                    "error derivatives, per state block and parameter, in Ernoult et\n"
                                    "al.'s normalized measure, beside a real beta; then dJ/dtheta by the\n"
                                    "implicit function theorem, the EP limit and the RBP limit. MODEL is\n"
                                    "an array model file (its [scale] table sets the sizes, --shape\n"
                                    "overrides them); without it, the layered Hopfield network of\n"
                                    "--layers. Every derivative is generated from the model's array\n"
                                    "formulas; no n x n matrix is formed.",
                        epilog="examples:\n"
                               "  eqprop scale examples/modern_hopfield.toml           # its [scale] sizes\n"
                               "  eqprop scale examples/xy_oscillators.toml --shape L=50 --batch 8\n"
                               "  eqprop scale --layers 10,512,512,784 --batch 128\n"
                               "  eqprop scale --layers 10,64,64 --data digits --continuous\n\n"
                               "verdicts: agreement (exit 0) when every hypothesis holds for every\n"
                               "example and every row is within its tolerance; NOT passed (exit 1)\n"
                               "names what failed; incomplete (exit 1) when a row compared nothing\n"
                               "(both sides exactly zero).\n\n"
                               "limits: a run estimated to need more than 8 GiB of memory or 1e13\n"
                               "floating-point operations is refused before it starts (exit 2).")
    sc.add_argument("model", nargs="?", default=None,
                    help="an array model file (TOML with a [state] table of arrays); default: the "
                         "layered network of --layers")
    sc.add_argument("--shape", default=None, metavar="NAME=SIZE,...",
                    help="sizes of the model's [dims], e.g. n=10000,k=50 (default: its [scale] dims)")
    sc.add_argument("--layers", default=None,
                    help="layer sizes of the layered Hopfield network, output first and input last "
                         "(default 10,512,512,784; not with MODEL)")
    sc.add_argument("--batch", type=_ascii_int, default=None,
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
    sc.add_argument("--steps", type=_ascii_int, default=None,
                    help="Euler steps of the nudged phase and of RBP (default: [scale], else 100)")
    sc.add_argument("--eps", type=_ascii_float, default=None,
                    help="Euler step size, any positive value; whether it is stable (eps lambda_max "
                         "< 2) is checked per example (default: [scale], else 0.5)")
    sc.add_argument("--beta", type=_ascii_float, default=None,
                    help="the real beta shown beside (default: [scale], else 0.01)")
    sc.add_argument("--continuous", action="store_true",
                    help="also check continuous time with SciPy's DOP853")
    sc.add_argument("--asymmetry", type=_ascii_float, default=None,
                    help="the layered network's negative control: noise added to the backward "
                         "weights, a non-gradient vector field (default 0)")
    sc.add_argument("--seed", type=_ascii_int, default=None,
                    help="seed of the initializers and data (default: the model's seed, else 0)")
    sc.add_argument("--init", default=None, choices=["zeros", "random"],
                    help="the free phase's initial state: zeros (default) or a seeded random one")
    sc.add_argument("--backend", default="numpy", choices=["numpy", "torch"],
                    help="the array library the generated code runs on: numpy (default) or torch "
                         "(pip install 'eqprop[torch]'; with --device cuda on a GPU)")
    sc.add_argument("--device", default=None,
                    help="the torch backend's device: cpu (default) or cuda")
    sc.add_argument("--json", metavar="FILE", default=None,
                    help="also write the report as JSON ('-' for standard output)")

    fg = sub.add_parser("figures", help="draw the figures of a verification (Theorem 3, truncation, bias)",
                        parents=[common],
                        description="Run a verification with a dense time grid (or read a saved "
                                    "JSON report) and draw its figures: the network, Theorem 3 for "
                                    "states and parameters, truncated RBP, and the bias of finite "
                                    "beta, digits against dps, and the realistic-size check "
                                    "(figures 6 and 7 only when not drawing --from a report).")
    fg.add_argument("--out", default="eqprop-figures", help="folder (default ./eqprop-figures)")
    fg.add_argument("--format", default="png,pdf",
                    help="comma-separated, from png, pdf and svg (default png,pdf)")
    fg.add_argument("--model", default=None, help=MODEL_HELP)
    fg.add_argument("--dps", type=_ascii_int, default=None,
                    help="digits of the verification (default 30; not with --from)")
    fg.add_argument("--from", dest="source", default=None,
                    help="draw from a saved report (eqprop verify --json FILE) instead; a partial "
                         "report draws what it has and names each figure it cannot draw")

    sub.add_parser("models", help="list the built-in models", parents=[common],
                   description="List the model files shipped with eqprop (each usable as MODEL by "
                               "verify, derive and figures, e.g. 'eqprop verify two-neurons'), "
                               "with their sizes, and the built-in network specifications "
                               "hopfield:L0,L1,...[:rho] and quadratic:N.")
    return p


def _times(text, option="--times", example="0,0.5,1"):
    if text is None:
        return None
    entries = [t.strip() for t in text.split(",")]
    for k, t in enumerate(entries):  # float() would take '1_0', fullwidth digits and 'nan' too
        if not _NUMBER.fullmatch(t):
            what = "is empty" if not t else f"{t[:30]!r} is not a decimal number"
            raise EqpropError(f"{option}: entry {k + 1} {what}; expected comma-separated numbers "
                              f"like {example}, got {text[:60]!r}")
    values = [float(t) for t in entries]
    for k, (t, v) in enumerate(zip(entries, values)):  # 1e-400 would be read as 0, silently
        if v == 0 and t.lower().lstrip("+-") not in ("nan", "inf", "infinity") \
                and nonzero_text(t):
            raise EqpropError(f"{option}: entry {k + 1} {t[:30]!r} is below the smallest float64 "
                              "number (about 5e-324) and would be read as 0; write 0, or rescale "
                              "the model")
    return values


#: A decimal number as the command line takes it: ASCII digits, optional sign, point and exponent.
_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)",
                     re.ASCII | re.IGNORECASE)  # nan and inf are read, then refused as not finite
_SIZE = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


def _check_output(path, option, *, folder=False):
    """Fail at once, before any work, when the output ``path`` cannot be written: the one check
    of every subcommand's output (``--json`` files, ``--out`` folders).

    ``'-'`` (a file) is standard output. A file needs an existing folder, and
    either to open for appending (an existing file: nothing is truncated
    before the work is done; a pipe with no reader fails instead of blocking)
    or a file to be creatable beside it. A folder (``folder=True``) needs to
    be one, or to be creatable in its nearest existing parent. Whether a file
    can be created is found by creating one: as root, ``os.access`` says yes
    to everything, a read-only file system and ``/proc`` included.
    """
    if path is None or (path == "-" and not folder):
        return
    if not path.strip():  # os.path.abspath('') is the current folder
        raise EqpropError(f"{option}: the path is empty; give a {'folder' if folder else 'file'} "
                          f"name{', or - for standard output' if not folder else ''}")
    if "\x00" in path:
        raise EqpropError(f"{option}: the path contains a NUL character; choose another path")
    full = os.path.abspath(path)
    if os.path.islink(full) and not os.path.exists(full):  # a loop, or a link to nothing
        try:
            os.stat(full)
            reason = "it cannot be followed"
        except OSError as exc:
            reason = exc.strerror or str(exc)
        raise EqpropError(f"{option}: {path!r} is a symbolic link that cannot be followed "
                          f"({reason}); remove it or choose another path")
    if folder:
        if os.path.exists(full) and not os.path.isdir(full):
            raise EqpropError(f"{option}: {path!r} is a file, not a folder")
        existing = full
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise EqpropError(f"{option}: cannot create the folder {path!r} ({existing!r} is a "
                              "file, not a folder)")
        _probe_writable(existing, option, path)
        if existing != full:
            _probe_folder(full, existing, option, path)
        return
    parent = os.path.dirname(full)
    if os.path.isdir(full):
        raise EqpropError(f"{option}: {path!r} is a folder; give a file name, such as "
                          f"{os.path.join(path, 'report.json')!r}")
    if not os.path.isdir(parent):
        what = "is a file, not a folder" if os.path.exists(parent) else "does not exist"
        raise EqpropError(f"{option}: folder {parent!r} {what}; create it or choose another path")
    if not os.path.lexists(full):
        _probe_writable(parent, option, path)
        _probe_file(path, option)
        return
    try:
        fd = os.open(full, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        try:
            os.write(fd, b"")  # appends nothing; /dev/full refuses even that (no space left)
        finally:
            os.close(fd)
    except OSError as exc:
        raise EqpropError(f"{option}: cannot write {path!r} ({exc.strerror or exc}); choose "
                          "another place") from None


def _probe_file(path, option):
    """Fail at once when the new file ``path`` cannot be created (a name too long, a trailing
    '/'): found by creating it, as the report will be, and removing it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise EqpropError(f"{option}: cannot write {path!r} ({exc.strerror or exc}); choose "
                          "another place") from None
    os.close(fd)
    os.unlink(path)


def _probe_folder(full, existing, option, shown):
    """Fail at once when the folder ``full`` cannot be made below ``existing`` (a name too
    long): found by making it, and removing what was made."""
    missing = []
    while full != existing:
        missing.append(full)
        full = os.path.dirname(full)
    made = []
    try:
        for folder in reversed(missing):
            os.mkdir(folder)
            made.append(folder)
    except OSError as exc:
        raise EqpropError(f"{option}: cannot create the folder {shown!r} ({exc.strerror or exc}); "
                          "choose another place") from None
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def _not_an_input(path, inputs, option):
    """Refuse an output file that is one of the files the command reads: '--json model.toml'
    would replace the model with its report."""
    if path is None or path == "-" or not os.path.exists(path):
        return
    for what, source in inputs:
        try:
            same = source is not None and os.path.isfile(source) and os.path.samefile(path, source)
        except (OSError, ValueError):
            same = False
        if same:
            raise EqpropError(f"{option}: {path!r} is the {what} this command reads; writing the "
                              "report there would replace it; choose another file")


def _write_json(path, text):
    """Write a report's JSON to ``path``; '-' is standard output."""
    if path == "-":
        print(text, flush=True)
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        raise EqpropError(f"--json: cannot write {path!r} ({exc.strerror or exc})") from None


def _verify(args):
    from .proofs import verify
    quiet = args.quiet
    _check_output(args.json, "--json")
    _not_an_input(args.json, [("model file", args.model)], "--json")

    def progress(msg):
        if not quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {sanitize(msg)} ...", file=sys.stderr, flush=True)
    from .symbolic.builtins import load_model
    limit = _run_limit(args.time_limit)
    try:
        # the run's own budget stops the checks and reports 'incomplete'; this alarm, a little
        # later, stops what that budget cannot reach (building, deriving and compiling a large
        # model; a file's [verify] time_limit applies from the checks on)
        with _time_limit(limit + min(10.0, limit / 2)):
            model = _with_shape(load_model("paper" if args.model is None else args.model),
                                args.shape)
            report = verify(model, dps=args.dps, times=_times(args.times), engine=args.engine,
                            seed=args.seed, required_digits=args.required_digits,
                            time_limit=args.time_limit, progress=progress,
                            initial_state=_times(args.initial_state, "--initial-state", "0.5,-1"))
    except _OutOfTime:
        print(f"verdict: incomplete: stopped after the time limit of {limit:g} s while building, "
              "deriving and compiling the model, before any identity was checked; raise "
              "--time-limit or use a smaller model")
        return 1
    if args.json:
        _write_json(args.json, report.to_json())
    if args.json != "-":  # with '-', nothing but the JSON on standard output
        print(sanitize(f"verdict: {report.verdict.value}" if quiet else report.table(), newlines=True))
    return report.exit_code


def _probe_writable(folder, option, shown):
    """Fail at once when no file can be created in ``folder`` (as root, os.access says yes to
    everything: a read-only file system or /proc is found only by trying)."""
    import tempfile
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise EqpropError(f"{option}: cannot write {shown!r} ({exc.strerror or exc}); choose "
                          "another place") from None


def _layers_option(text):
    """``--layers`` as integers (ASCII digits only: int() would take '1_0' and fullwidth digits)."""
    entries = text.split(",")
    if not all(_SIZE.fullmatch(n) for n in entries):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise EqpropError(f"--layers: expected comma-separated integers like 10,512,512,784 "
                          f"(ASCII digits only), got {shown!r}")
    if max(len(n.strip()) for n in entries) > 100:  # int() refuses past 4,300 digits anyway
        raise EqpropError(f"--layers: a size of {max(len(n.strip()) for n in entries):,} digits, "
                          "far beyond the memory limit; use sizes such as 10,512,512,784")
    return [int(n) for n in entries]  # a size below 1 is refused by scale(), saying so


_DIM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]{0,99})\s*=\s*([0-9]{1,12})\s*", re.ASCII)


def _shape_option(text):
    """``--shape n=10000,k=50`` as a dict of sizes."""
    dims = {}
    for item in text.split(","):
        m = _DIM.fullmatch(item)
        if m is None:
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise EqpropError(f"--shape: expected NAME=SIZE pairs such as n=10000,k=50 (ASCII), "
                              f"got {shown!r}")
        if m.group(1) in dims:
            raise EqpropError(f"--shape: {m.group(1)} is given twice")
        dims[m.group(1)] = int(m.group(2))
    return dims


def _with_shape(model, shape):
    """``model`` at the sizes of ``--shape`` (an array model's [dims]); refused for another."""
    if shape is None:
        return model
    dims = _shape_option(shape)
    if not hasattr(model, "with_dims"):
        raise EqpropError("--shape: sets the sizes of an array model's [dims]; this model is "
                          "written per neuron")
    return model.with_dims(**dims)


def _scale(args):
    from .proofs.scale import scale
    layered = {"rho": args.rho, "cost": args.cost, "asymmetry": args.asymmetry}
    if args.model is not None:
        given = [f"--{k}" for k, v in layered.items() if v is not None] + \
            (["--layers"] if args.layers is not None else [])
        if given:
            raise EqpropError(f"{given[0]}: applies to the layered network only, not with a model "
                              "file (the model writes its own energy and cost)")
        model = args.model
    else:
        if args.shape is not None:
            raise EqpropError("--shape: sets the sizes of a model file's [dims]; the layered "
                              "network takes --layers")
        model = _layers_option(args.layers or "10,512,512,784")
    dims = _shape_option(args.shape) if args.shape is not None else None
    _check_output(args.json, "--json")
    inputs = _data_files(args.data) + ([("model file", args.model)] if args.model else [])
    _not_an_input(args.json, inputs, "--json")
    options = {k: v for k, v in layered.items() if v is not None}
    bar = _Progress()
    try:
        report = scale(model, batch=args.batch, data=args.data, steps=args.steps, eps=args.eps,
                       beta=args.beta, continuous=args.continuous, seed=args.seed, init=args.init,
                       dims=dims, backend=args.backend, device=args.device, progress=bar, **options)
    except BaseException:
        bar.stop()  # the error message then starts on its own line
        raise
    bar.done()
    if args.json:
        _write_json(args.json, report.to_json())
    if args.json != "-":
        print(report.table())
    return 0 if report.passed else 1


def _data_files(spec):
    """The files ``--data mnist:PATH`` reads (an IDX images file's labels file beside it)."""
    if not isinstance(spec, str) or not spec.startswith("mnist:"):
        return []
    from pathlib import Path

    from .numeric.data import _labels_path
    path = Path(spec[len("mnist:"):])
    files = [("data file", str(path))]
    try:
        files.append(("labels file", str(_labels_path(path))))
    except (EqpropError, ValueError):
        pass
    return files


class _Progress:
    """A one-line stage indicator on standard error (stages, elapsed time).

    Drawn only on a terminal, and erased when the run fails, so that a failing run leaves
    exactly one line, its error; elsewhere (a pipe, a log) only the final ``done`` line is
    written, on success."""

    def __init__(self, stream=None):
        self.start, self.stage = time.perf_counter(), 0
        self.stream = stream or sys.stderr
        try:
            self.live = self.stream.isatty()
        except (AttributeError, ValueError):
            self.live = False

    def __call__(self, msg):
        self.stage += 1
        if self.live:
            print(f"\r[{time.perf_counter() - self.start:6.1f} s] stage {self.stage}: {msg:<70}",
                  end="", file=self.stream, flush=True)

    def stop(self):
        if self.stage and self.live:  # erase the line: the error message takes its place
            print(f"\r{'':<100}\r", end="", file=self.stream, flush=True)

    def done(self):
        line = f"[{time.perf_counter() - self.start:6.1f} s] done"
        print(f"\r{line:<100}" if self.live else line, file=self.stream, flush=True)


def _figures(args):
    from .figures import check_formats, load_report, paper_set, regenerate
    formats = check_formats([f.strip() for f in args.format.split(",") if f.strip()])
    if args.source is not None:  # '--from ""' is an empty file name, not "no report"
        given = [o for o, v in (("--model", args.model), ("--dps", args.dps)) if v is not None]
        if given:
            raise EqpropError(f"{' and '.join(given)}: not with --from, which draws a saved report "
                              f"as it is; leave out {' and '.join(given)}, or --from to run a "
                              "verification")
    else:
        from .proofs.options import MAX_DPS, MIN_DPS, _integer
        _integer(30 if args.dps is None else args.dps, "--dps (decimal digits)", MIN_DPS, MAX_DPS)
    _check_output(args.out, "--out", folder=True)
    if args.source is not None:
        drawn = {"report": load_report(args.source)}  # checked before any folder is made
    else:
        drawn = paper_set("paper" if args.model is None else args.model,
                          30 if args.dps is None else args.dps,
                          progress=lambda msg: print(f"{sanitize(msg)} ...", file=sys.stderr, flush=True))
    note = lambda msg: print(f"eqprop: note: {sanitize(msg)}", file=sys.stderr, flush=True)  # noqa: E731
    for msg in getattr(drawn.get("report"), "notes", None) or []:  # keys of a saved report not read
        note(f"report: {msg}")
    for path in regenerate(out=args.out, formats=formats, note=note, **drawn):
        print(sanitize(path))
    return 0


def _models(_args):
    from .symbolic.builtins import RHO, builtin_names, load_model
    for name in builtin_names():
        m = load_model(name)
        n_p = len(m.params)
        print(f"{name:<14} {sanitize(m.name)} ({len(m.state)} state variables, {n_p} "
              f"parameter{'s' if n_p != 1 else ''})")
    print("hopfield:L0,L1,...[:rho]  layered Hopfield network, output first, input last "
          f"(rho: {', '.join(RHO)}, or a formula in one variable such as z/(1 + z**2))")
    print("quadratic:N    linear dynamics with closed forms")
    return 0


#: Wall time ``eqprop derive`` may take, in seconds. Within its size budget (display.MAX_TERMS)
#: it takes seconds; reading a model file of megabytes of formulas takes minutes, and is stopped.
DERIVE_TIME_LIMIT = 60


class _OutOfTime(BaseException):
    """Raised by the alarm: not an Exception, so no ``except Exception`` in SymPy swallows it."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Raise :class:`_OutOfTime` in the block after ``seconds`` (main thread, Unix; elsewhere, or
    inside a shorter alarm already set, nothing is changed)."""
    import signal
    import threading
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    if 0 < outer <= seconds:  # a shorter alarm (a test's deadline) rings first anyway
        yield
        return

    def ring(signum, frame):
        raise _OutOfTime
    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # the outer alarm, with what was left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 1e-3))


def _run_limit(option):
    """The time limit of the option, or the default (verify validates the option itself)."""
    from .proofs.options import TIME_LIMIT
    value = TIME_LIMIT if option is None else option
    try:
        value = float(value)
    except (TypeError, ValueError):
        return TIME_LIMIT
    return value if 0 < value <= 86400 else TIME_LIMIT


def _derive(args):
    from .symbolic.builtins import load_model, spec_terms
    from .symbolic.display import check_terms, describe
    spec = "paper" if args.model is None else args.model  # '' is refused, not the paper's model
    terms = spec_terms(spec)  # a built-in network too large to print is refused before it is built
    if terms is not None:
        check_terms(terms)
    try:
        with _time_limit(DERIVE_TIME_LIMIT):
            text = describe(_with_shape(load_model(spec), args.shape), latex=args.latex,
                            full=args.full, document=True)
    except _OutOfTime:
        raise EqpropError(f"derive: stopped after {DERIVE_TIME_LIMIT} s, the time budget of eqprop "
                          "derive; the model is too large to print: check it with 'eqprop verify' "
                          "(a layered network of realistic size with 'eqprop scale')") from None
    print(sanitize(text, newlines=True))
    return 0


COMMANDS = {"verify": _verify, "derive": _derive, "models": _models, "scale": _scale,
            "figures": _figures}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv  # until the arguments are parsed
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        debug = args.debug
        if args.command is None:
            parser.print_help()
            print("eqprop: error: no command given; choose one of verify, derive, scale, figures, "
                  "models (see 'eqprop --help')", file=sys.stderr)
            return 2
        return COMMANDS[args.command](args)
    except EqpropError as exc:
        print(f"eqprop: error: {sanitize(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eqprop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # standard output closed early (eqprop models | head): no error
        try:  # nothing more to write; and no second error when Python flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except Exception as exc:  # noqa: BLE001 - a bug (MemoryError, RecursionError too): exit 3
        return _internal_error(exc, argv, debug)


def _internal_error(exc, argv, debug):
    """Report a bug in one line (exit 3); the traceback goes to a file, or here with --debug."""
    import traceback
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = sanitize(" ".join(str(exc).split()))
    if len(message) > 300:
        message = message[:297] + "..."
    head = f"eqprop: internal error: {type(exc).__name__}" + (f": {message}" if message else "")
    if debug:
        print(trace + head, file=sys.stderr, flush=True)
        return 3
    try:
        path = _save_traceback(trace, argv)
    except OSError as err:
        print(f"{head}; the traceback could not be saved ({err.strerror or err}); rerun with "
              "--debug to see it here", file=sys.stderr, flush=True)
    else:
        print(f"{head}; the traceback is in {path} (rerun with --debug to see it here)",
              file=sys.stderr, flush=True)
    return 3


def _save_traceback(trace, argv):
    """Write ``trace`` to a new file in $EQPROP_TRACEBACK_DIR (else the temporary folder)."""
    import platform
    import shlex
    import tempfile

    from . import __version__
    folder = os.environ.get("EQPROP_TRACEBACK_DIR") or tempfile.gettempdir()
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=f"eqprop-traceback-{time.strftime('%Y%m%d-%H%M%S')}-"
                                       f"{os.getpid()}-", suffix=".txt", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"eqprop {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
                 f"command: eqprop {shlex.join(str(a) for a in argv)}\n\n{trace}")
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

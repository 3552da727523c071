"""``eqprop figures``: run a verification (or read a saved report) and draw its figures."""

from __future__ import annotations

import sys

from ..errors import EqpropError
from .options import MODEL_HELP, ascii_int
from .output import check_output, sanitize
from .progress import stage_line

__all__ = ["add_parser", "run"]

#: Digits of the verification drawn, unless --dps says otherwise.
DPS = 30


def add_parser(subparsers, parents):
    """The ``figures`` command and its options."""
    fg = subparsers.add_parser(
        "figures", help="draw the figures of a verification (Theorem 3, truncation, bias)",
        parents=parents,
        description="Run a verification with a dense time grid (or read a saved JSON report) and "
                    "draw its figures: the network, Theorem 3 for states and parameters, "
                    "truncated RBP, and the bias of finite beta, digits against dps, and the "
                    "realistic-size check (figures 6 and 7 only when not drawing --from a "
                    "report).")
    fg.add_argument("--out", default="eqprop-figures", help="folder (default ./eqprop-figures)")
    fg.add_argument("--format", default="png,pdf",
                    help="comma-separated, from png, pdf and svg (default png,pdf)")
    fg.add_argument("--model", default=None, help=MODEL_HELP)
    fg.add_argument("--dps", type=ascii_int, default=None,
                    help=f"digits of the verification (default {DPS}; not with --from)")
    fg.add_argument("--from", dest="source", default=None,
                    help="draw from a saved report (eqprop verify --json FILE) instead; a partial "
                         "report draws what it has and names each figure it cannot draw")
    return fg


def run(args):
    """Draw the figures into ``--out``, printing each file's path; every argument is checked
    before the verification starts or a folder is made."""
    from ..figures import check_formats, load_report, paper_set, regenerate
    formats = check_formats([f.strip() for f in args.format.split(",") if f.strip()])
    dps = DPS if args.dps is None else args.dps
    if args.source is not None:  # '--from ""' is an empty file name, not "no report"
        given = [o for o, v in (("--model", args.model), ("--dps", args.dps)) if v is not None]
        if given:
            raise EqpropError(f"{' and '.join(given)}: not with --from, which draws a saved report "
                              f"as it is; leave out {' and '.join(given)}, or --from to run a "
                              "verification")
    else:
        from ..proofs.options import check_dps
        check_dps(dps, "--dps")
    check_output(args.out, "--out", folder=True)
    if args.source is not None:
        drawn = {"report": load_report(args.source)}  # checked before any folder is made
    else:
        drawn = paper_set("paper" if args.model is None else args.model, dps, progress=stage_line)
    for msg in getattr(drawn.get("report"), "notes", None) or []:  # keys of a saved report not read
        _note(f"report: {msg}")
    for path in regenerate(out=args.out, formats=formats, note=_note, **drawn):
        print(sanitize(path))
    return 0


def _note(msg):
    """A remark on what was drawn (a figure left out, and why), on standard error."""
    print(f"eqprop: note: {sanitize(msg)}", file=sys.stderr, flush=True)

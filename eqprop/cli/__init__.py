"""The command line: a thin layer over the library, one module per command.

    eqprop verify [MODEL] [--dps N] [--times T1,T2,...] [--json FILE] [--quiet]
    eqprop derive [MODEL] [--full] [--latex]
    eqprop scale [MODEL] [--shape n=10000] [--layers 10,512,512,784] [--batch 128] [--data ...]
    eqprop estimators [MODEL] [--points 4,8,16,32] [--json FILE] [--figures DIR]
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

Each command's module (:mod:`.verify`, :mod:`.derive`, :mod:`.scale`,
:mod:`.estimators`, :mod:`.figures`, :mod:`.models`) defines its options in ``add_parser`` next to
its handler ``run(args)``, which returns the exit status. They share
:mod:`.options` (the parser and the readers of option values),
:mod:`.output` (safe text, output paths checked before any work starts),
:mod:`.timers`, :mod:`.progress` and :mod:`.internal` (what a bug prints).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import EqpropError
from . import derive, estimators, figures, models, scale, verify
from .internal import internal_error
from .options import DEBUG_HELP, Parser
from .output import sanitize

__all__ = ["main", "build_parser", "sanitize", "COMMANDS"]

#: The commands, in the order ``eqprop --help`` lists them.
COMMANDS = {"verify": verify, "derive": derive, "scale": scale, "estimators": estimators,
            "figures": figures, "models": models}


def build_parser():
    """The parser of ``eqprop``: ``--debug``, and a subparser per command."""
    p = Parser(
        prog="eqprop", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Verify the equivalence of equilibrium propagation and recurrent "
                    "backpropagation (Scellier & Bengio 2019) for an energy you write down.",
        epilog=verify.EPILOG)
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    # --debug after the command too; SUPPRESS: a subcommand does not reset it to False
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub, [common])
    return p


def main(argv=None):
    """Run ``eqprop`` with ``argv`` (default: the process's arguments); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv  # until the arguments are parsed
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        debug = args.debug
        if args.command is None:
            parser.print_help()
            print(f"eqprop: error: no command given; choose one of {', '.join(COMMANDS)} "
                  "(see 'eqprop --help')", file=sys.stderr)
            return 2
        return COMMANDS[args.command].run(args)
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
        return internal_error(exc, argv, debug)

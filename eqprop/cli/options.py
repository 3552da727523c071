"""The command line's argument parser and the readers of its option values.

Every value is read strictly: ASCII digits only (``int()`` and ``float()``
alone take '1_0', fullwidth and Arabic-Indic digits, which would be read
silently), an option given once, and a number that float64 would read as 0
refused. A bad value is one line, ``eqprop: error: ...``, exit status 2.
"""

from __future__ import annotations

import argparse
import re
import sys

from ..errors import EqpropError
from ..symbolic.numbers import DECIMAL_OR_NONFINITE, nonzero_text
from .output import sanitize

__all__ = ["int_list", "Parser", "MODEL_HELP", "DEBUG_HELP", "ascii_int", "ascii_float", "number_list",
           "layers_option", "shape_option", "with_shape"]

MODEL_HELP = ("a TOML model file, a built-in name (paper, two-neurons), "
              "'hopfield:2,3,3,2[:rho]' or 'quadratic:N'; default: paper")
DEBUG_HELP = "on an internal error, print the traceback here instead of saving it to a file"

#: A real number as the command line takes it, around surrounding space that ``str.strip``
#: removes; nan and inf are read, then refused as not finite.
_NUMBER = re.compile(DECIMAL_OR_NONFINITE, re.ASCII | re.IGNORECASE)
#: An integer as the command line takes it (int() strips the space).
_SIZE = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


class Parser(argparse.ArgumentParser):
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


def ascii_int(text):
    """An integer option (argparse ``type``) in ASCII digits."""
    if not _SIZE.fullmatch(text) or len(text.strip()) > 4000:
        raise argparse.ArgumentTypeError(f"invalid int value: {text[:40]!r} (an integer in ASCII "
                                         "digits, such as 30)")
    return int(text)


def ascii_float(text):
    """A real option (argparse ``type``) in ASCII: digits, sign, point, exponent; nan and inf are
    read, then refused where a finite number is needed. A value float64 would read as 0 or as a
    subnormal, with fewer digits, is refused."""
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


def number_list(text, option="--times", example="0,0.5,1"):
    """Comma-separated numbers (``--times``, ``--initial-state``) as floats; None stays None."""
    if text is None:
        return None
    entries = [t.strip() for t in text.split(",")]
    for k, t in enumerate(entries):
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


def int_list(text, option, example):
    """Comma-separated integers in ASCII digits (``--layers``, ``--points``); None stays None."""
    if text is None:
        return None
    entries = text.split(",")
    if not all(_SIZE.fullmatch(n) for n in entries):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise EqpropError(f"{option}: expected comma-separated integers like {example} "
                          f"(ASCII digits only), got {shown!r}")
    return entries


def layers_option(text):
    """``--layers`` as a list of integers in ASCII digits."""
    entries = int_list(text, "--layers", "10,512,512,784")
    if max(len(n.strip()) for n in entries) > 100:  # int() refuses past 4,300 digits anyway
        raise EqpropError(f"--layers: a size of {max(len(n.strip()) for n in entries):,} digits, "
                          "far beyond the memory limit; use sizes such as 10,512,512,784")
    return [int(n) for n in entries]  # a size below 1 is refused by scale(), saying so


_DIM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]{0,99})\s*=\s*([0-9]{1,12})\s*", re.ASCII)


def shape_option(text):
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


def with_shape(model, shape):
    """``model`` at the sizes of ``--shape`` (an array model's [dims]); refused for another."""
    if shape is None:
        return model
    dims = shape_option(shape)
    if not hasattr(model, "with_dims"):
        raise EqpropError("--shape: sets the sizes of an array model's [dims]; this model is "
                          "written per neuron")
    return model.with_dims(**dims)

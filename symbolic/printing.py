"""The blocks of a derivation written out as text or LaTeX: what :func:`~.display.describe` gives.

Blocks come from :mod:`.summary`, :mod:`.display` or :mod:`.arrays.describe`
with every equation's right side already made or refused within the print
budget (:func:`.display._budgeted`): ``("head", text)``, ``("note", text)``,
``("math", text, latex)``, ``("picture", lines)`` and
``("eq", lhs, lhs_latex, rhs[, reason it is not printed])``. LaTeX output is
ASCII (:func:`tex_ascii`).
"""

from __future__ import annotations

import unicodedata

import sympy as sp
from sympy.printing.str import StrPrinter

from . import forms
from .forms import latex_name

__all__ = ["write_text", "write_latex", "tex_text", "tex_ascii", "WIDE"]


def _show(printer, e, **kw):
    """Printed with SymPy's term order; that order evaluates each term numerically, which
    overflows for a constant such as exp(exp(exp(1000))): then in the order held."""
    marked = isinstance(e, sp.Add) and any(type(a).__name__ == "_More" for a in e.args)
    if not marked:
        try:
            return printer(e, **kw)
        except (OverflowError, ValueError, ZeroDivisionError):
            pass
    return printer(e, order="none", **kw)


#: A summary's equation longer than this is printed a term a line (text) or a row a term (LaTeX:
#: twice as many characters).
WIDE = 100


class _StrPrinter(StrPrinter):
    """SymPy's one-line form, a sum as ``sum[i=0..19, j=0..39](term)``."""

    def _print_Sum(self, e):
        limits = ", ".join(f"{self._print(i)}={self._print(a)}..{self._print(b)}"
                           for i, a, b in e.limits[::-1])
        return f"sum[{limits}]({self._print(e.function)})"


def _sstr(e, **settings):
    return _StrPrinter(settings).doprint(e)


def _wrap(note):
    """A note on lines of at most WIDE characters where it lists families (at "; ")."""
    lines = [f"  {note}"]
    while len(lines[-1]) > WIDE and "; " in lines[-1][:WIDE]:
        cut = lines[-1].rindex("; ", 0, WIDE)
        lines[-1:] = [lines[-1][:cut + 1], "      " + lines[-1][cut + 2:]]
    return lines


def _signed_terms(e):
    """The terms of a sum in printing order, as (sign, term with its sign taken out)."""
    marked = any(type(a).__name__ == "_More" for a in e.args)
    terms = e.args if marked else forms.ordered_terms(e)
    return [(-1, -t) if t.could_extract_minus_sign() else (1, t) for t in terms]


def write_text(blocks, name, tail, full):
    """The text of ``describe``: one line per equation (a summary's long sum a term a line)."""
    out = [f"eqprop derive: {name}"]
    for b in blocks:
        kind = b[0]
        if kind == "head":
            out.append(f"\n{b[1]}")
        elif kind == "note":
            out.extend(_wrap(b[1]))
        elif kind == "math":
            out.append(f"  {b[1]}")
        elif kind == "picture":
            out.extend(f"    {ln}" for ln in b[1])
        else:
            lhs = b[1]
            rhs = b[3]
            if rhs is None:
                out.append(f"  {lhs} = ({b[4]}, not printed; eqprop.derive(model) holds it)")
            else:
                line = _show(_sstr, rhs)
                if full or len(line) + len(lhs) <= WIDE or not isinstance(rhs, sp.Add):
                    out.append(f"  {lhs} = {line}")
                    continue
                pad = " " * (len(lhs) + 3)  # a sum too wide: a term a line
                for k, (sign, term) in enumerate(_signed_terms(rhs)):
                    op = ("-" if sign < 0 else "") if k == 0 else "+-"[sign < 0] + " "
                    out.append(f"  {lhs} = {op}" if k == 0 else f"  {pad}{op}")
                    out[-1] += _show(_sstr, term)
    if tail:
        out.append(f"\n{tail}")
    return "\n".join(out)


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}",
                "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "~": r"\~{}", "<": r"$<$",
                ">": r"$>$"}
_GREEK_COMMANDS = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
                   "kappa", "lamda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon",
                   "phi", "chi", "psi", "omega"}
_GREEK_CAPITALS = {"gamma", "delta", "theta", "lamda", "xi", "pi", "sigma", "upsilon", "phi",
                   "psi", "omega"}


def tex_text(text):
    """``text`` for LaTeX's text mode: its special characters escaped."""
    return "".join(_TEX_SPECIAL.get(c, c) for c in text).replace("--", "-{}-")


def _tex_char(c):
    """A non-ASCII character as ASCII LaTeX (math or text mode): a Greek letter as its command,
    anything else as its code point."""
    words = unicodedata.name(c, "").split()
    if len(words) == 4 and words[:2] == ["GREEK", "SMALL"] and words[2] == "LETTER":
        letter = words[3].lower()
        if letter in _GREEK_COMMANDS:
            return f"\\ensuremath{{\\{'lambda' if letter == 'lamda' else letter}}}"
    if len(words) == 4 and words[:2] == ["GREEK", "CAPITAL"] and words[2] == "LETTER":
        letter = words[3].lower()
        if letter in _GREEK_CAPITALS:
            cmd = "Lambda" if letter == "lamda" else letter.capitalize()
            return f"\\ensuremath{{\\{cmd}}}"
    return f"\\text{{[U+{ord(c):04X}]}}"


def tex_ascii(text):
    """LaTeX ``text`` with every non-ASCII character written in ASCII."""
    return "".join(c if c.isascii() else _tex_char(c) for c in text)


def _tex_math(e):
    names = {x: latex_name(x.name) for x in e.free_symbols if isinstance(x, sp.Symbol)}
    return _show(sp.latex, e, symbol_names={x: t for x, t in names.items() if t})


def _latex_rows(b, full):
    """The ``align*`` rows of one equation block; a summary's long sum a term a row."""
    if b[0] == "math":
        return [f"{b[2]} \\\\"]
    rhs = b[3]
    if rhs is None:
        return [f"{b[2]} &= \\text{{({b[4]}, not printed)}} \\\\"]
    body = _tex_math(rhs)
    if full or len(body) <= 2 * WIDE or not isinstance(rhs, sp.Add):
        return [f"{b[2]} &= {body} \\\\"]
    rows = []
    for k, (sign, term) in enumerate(_signed_terms(rhs)):
        op = ("-" if sign < 0 else "") if k == 0 else "\\quad " + "+-"[sign < 0] + " "
        rows.append(f"{b[2] if k == 0 else ''} &{'= ' if k == 0 else ''}{op}{_tex_math(term)} \\\\")
    return rows


def write_latex(blocks, name, tail, full, document):
    """A LaTeX document: a section per heading, notes as text, pictures verbatim; or, without
    ``document``, one ``align*`` environment with every other line a ``%`` comment."""
    if not document:
        out = [f"% eqprop derive: {name}", "\\begin{align*}"]
        for b in blocks:
            if b[0] in ("eq", "math"):
                out.extend(_latex_rows(b, full))
            else:
                out.extend(f"% {ln}" for ln in ([b[1]] if b[0] != "picture" else b[1]))
        last = max(k for k, ln in enumerate(out) if not ln.startswith(("%", "\\begin")))
        out[last] = out[last].removesuffix(" \\\\")
        return tex_ascii("\n".join([*out, *([f"% {tail}"] if tail else []), "\\end{align*}"]))
    out = [f"% eqprop derive: {name}", "\\documentclass{article}",
           "\\usepackage{amsmath}", "\\begin{document}",
           f"\\section*{{eqprop derive: {tex_text(name)}}}"]
    rows = []

    def close():
        if rows:
            rows[-1] = rows[-1].removesuffix(" \\\\")
            out.extend(["\\begin{align*}", *rows, "\\end{align*}"])
            rows.clear()
    for b in blocks:
        kind = b[0]
        if kind in ("eq", "math"):
            rows.extend(_latex_rows(b, full))
            continue
        close()
        if kind == "head":
            out.append(f"\\subsection*{{{tex_text(b[1])}}}")
        elif kind == "note":
            out.append(f"{tex_text(b[1])}\\par")
        elif kind == "picture":
            out.extend(["\\begin{verbatim}", *b[1], "\\end{verbatim}"])
    close()
    if tail:
        out.append(f"\\medskip {tex_text(tail)}\\par")
    out.append("\\end{document}")
    return tex_ascii("\n".join(out))

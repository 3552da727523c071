"""Terms of one form: how the derive summary writes many similar terms as one.

Two terms have the same form when they differ only in the indices of their
names (``s0_3`` and ``s0_7``: base ``s0``, index 3 and 7). :class:`Forms`
groups an expression's terms by form and writes a group whose indices run
over a full grid of integer ranges (or over pairs ``i < j``) as one
``Sum``, any other group of more than two as ``[k terms like <the first>]``;
:func:`name_families` lists names the same way (``W01_i_j, i = 0..19,
j = 0..39``). Used by :mod:`.summary`.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

from .derive import to_sympy

__all__ = ["Forms", "split_name", "latex_name", "name_families", "ordered_terms", "count",
           "GROUPS_SHOWN", "FAMILIES_SHOWN"]

#: At most this many groups of terms of one expression are shown; the rest are counted.
GROUPS_SHOWN = 12
#: At most this many name families are listed in one line.
FAMILIES_SHOWN = 8

_INDEXED = re.compile(r"(.+?)((?:_(?:0|[1-9][0-9]{0,8}))+)", re.S)
_LATEX_NAME = re.compile(r"([A-Za-z]+)([0-9]*)((?:_[0-9A-Za-z]+)*)")


def split_name(name):
    """``"W01_3_0"`` -> ``("W01", (3, 0))``; a name without a trailing ``_<integer>`` -> ``(name, ())``."""
    m = _INDEXED.fullmatch(name)
    if m is None:
        return name, ()
    return m.group(1), tuple(int(k) for k in m.group(2)[1:].split("_"))


def latex_name(name):
    """``s0_i`` -> ``s_{0,i}``, ``W01_3_0`` -> ``W_{01,3,0}``; None where SymPy's own form is kept."""
    m = _LATEX_NAME.fullmatch(name)
    if m is None or not (m.group(2) or m.group(3)):
        return None
    sub = [m.group(2)] if m.group(2) else []
    sub += m.group(3)[1:].split("_") if m.group(3) else []
    return f"{sp.latex(sp.Symbol(m.group(1)))}_{{{','.join(sub)}}}"


class _Placeholder(sp.Dummy):
    """A marker inside a printed sum, written as words by each printer."""

    def __new__(cls, count, like=None):
        obj = super().__new__(cls, cls.__name__)
        obj.count, obj.like = count, like
        return obj

    def _pretty(self, printer):
        return prettyForm(self._sympystr(printer))


class _More(_Placeholder):
    """``... (k more terms)``: the groups of terms beyond GROUPS_SHOWN, printed last."""

    def _sympystr(self, printer):
        return f"... ({count(self.count, 'more term')})"

    def _latex(self, printer):
        return f"\\dots\\ (\\text{{{count(self.count, 'more term')}}})"


class _Terms(_Placeholder):
    """``[k terms like <term>]``: terms of one form whose indices do not run over a grid."""

    def _sympystr(self, printer):
        return f"[{self.count:,} terms like {printer._print(self.like)}]"

    def _latex(self, printer):
        return f"\\left[{self.count:,}\\ \\text{{terms like}}\\ {printer._print(self.like)}\\right]"


class Forms:
    """Terms of one model's expressions, keyed by their form (the structure, indices erased).

    ``key(node)`` is ``(form id, names)``: the names of the symbols in a
    canonical order (commutative arguments sorted by form, then by index), so
    that equal forms list their names position by position.
    """

    def __init__(self, model):
        self.model = model
        symbols = (*model.state, *model.theta, *model.data_symbols)
        self.names = {x.name: x for x in symbols}
        self.split = {}
        self.ids = {}
        self.memo = {}
        self.sympy_memo = {}
        parts = {p for x in symbols for p in x.name.split("_")}
        self.letters = [c for c in "ijklmnpqrabcdefgh" if c not in parts]

    def _split(self, name):
        hit = self.split.get(name)
        if hit is None:
            hit = self.split[name] = split_name(name)
        return hit

    def key(self, node):
        hit = self.memo.get(node)
        if hit is not None:
            return hit
        if getattr(node, "is_Symbol", False):
            name = str(node)
            base, idx = self._split(name)
            k, names = ("s", base, len(idx)), (name,)
        elif not node.args:
            k, names = ("n", str(node)), ()
        else:
            kids = [self.key(a) for a in node.args]
            if type(node).__name__ in ("Add", "Mul"):
                kids.sort(key=lambda c: (c[0], tuple(self._split(n)[1] for n in c[1]), c[1]))
            k = (type(node).__name__, tuple(c[0] for c in kids))
            names = tuple(n for c in kids for n in c[1])
        out = (self.ids.setdefault(k, len(self.ids)), names)
        self.memo[node] = out
        return out

    def sympy(self, node):
        return to_sympy(node, self.names, self.sympy_memo)

    @staticmethod
    def terms(expr):
        if expr is None:
            return ()
        return expr.args if type(expr).__name__ == "Add" else (expr,)

    def form(self, expr):
        """The form of a whole expression: the multiset of its terms' forms."""
        return tuple(sorted(Counter(self.key(t)[0] for t in self.terms(expr)).items()))

    def grouped(self, expr, *, sign=1, limit=GROUPS_SHOWN):
        """``sign * expr`` as SymPy, each group of terms of one form written as a Sum where their
        indices run over a grid, else as its first terms and a count; at most ``limit`` groups."""
        groups = {}
        for t in self.terms(expr):
            kid, names = self.key(t)
            groups.setdefault(kid, []).append((t, names))
        items, more = [], []
        for k, members in enumerate(groups.values()):
            if k >= limit:
                more.append(len(members))
                continue
            got = self._summed(members)
            if got is None:  # indices off a grid: split by which positions coincide, try again
                parts = {}
                for m in members:
                    parts.setdefault(self._pattern(m[1]), []).append(m)
                got = []
                for part in parts.values():
                    s = self._summed(part)
                    got.extend(s if s is not None else self._shown(part))
            items.extend(got)
        items = [_Terms(x.count, sign * x.like) if isinstance(x, _Terms) else sign * x
                 for x in items]
        body = sp.Add(*items)
        if not more:
            return body
        return sp.Add(*ordered_terms(body), _More(sum(more)), evaluate=False)

    def _values(self, names):
        return tuple(v for n in names for v in self._split(n)[1])

    def _pattern(self, names):
        row = self._values(names)
        return tuple(row.index(v) for v in row)

    def _shown(self, members):
        if len(members) <= 2:
            return [self.sympy(t) for t, _ in members]
        first = min(members, key=lambda m: self._values(m[1]))
        return [_Terms(len(members), self.sympy(first[0]))]

    def _summed(self, members):
        """One Sum for terms of one form whose varying indices run over a full grid of ranges."""
        if len(members) == 1:
            return [self.sympy(members[0][0])]
        rows = [self._values(names) for _, names in members]
        cols = list(zip(*rows))
        classes = {}
        for p, col in enumerate(cols):
            if len(set(col)) > 1:
                classes.setdefault(col, []).append(p)
        ranges = []
        for col in classes:
            vals = sorted(set(col))
            if vals != list(range(vals[0], vals[-1] + 1)):
                return None
            ranges.append((vals[0], vals[-1]))
        combos = set(zip(*classes))
        if not classes or len(classes) > len(self.letters) or len(combos) != len(members):
            return None
        triangle = False
        if math.prod(b - a + 1 for a, b in ranges) != len(members):
            # the other common shape: pairs i < j (couplings written once)
            (a, b), (c, e) = ranges if len(ranges) == 2 else ((0, -1), (0, -1))
            k = e - a + 1
            triangle = (len(ranges) == 2 and c == a + 1 and e == b + 1
                        and len(members) == k * (k - 1) // 2 and all(u < v for u, v in combos))
            if not triangle:
                return None
        first, names = members[0]
        # letters i, j, ... in the order of the names' bases and index positions
        where = [(self._split(n)[0], r) for n in names for r in range(len(self._split(n)[1]))]
        positions = list(classes.values())
        order = sorted(range(len(classes)), key=lambda c: min(where[p] for p in positions[c]))
        letter = {p: self.letters[order.index(c)] for c, ps in enumerate(positions) for p in ps}
        renamed, pos = {}, 0
        for name in names:
            base, idx = self._split(name)
            new = f"{base}_{'_'.join(letter.get(pos + r, str(v)) for r, v in enumerate(idx))}"
            pos += len(idx)
            if idx and renamed.setdefault(name, new) != new:
                return None  # one symbol, two indices: not a plain sum
        template = self.sympy(first).xreplace(
            {self.names[n]: sp.Symbol(new, real=True) for n, new in renamed.items() if new != n})
        limits = sorted((self.letters[order.index(c)], a, b) for c, (a, b) in enumerate(ranges))
        if triangle:  # the second index from one past the first
            first_letter = self.letters[order.index(0)]
            limits = [(x, a, b) if x == first_letter else
                      (x, sp.Symbol(first_letter, integer=True) + 1, b) for x, a, b in limits]
            limits.sort(key=lambda x: x[0] != first_letter)  # the bound it depends on outside
        # the first index outermost: SymPy lists the innermost sum first
        sign = -1 if template.could_extract_minus_sign() else 1
        return [sign * sp.Sum(sign * template,
                              *[(sp.Symbol(x, integer=True), a, b) for x, a, b in limits[::-1]])]


def ordered_terms(e):
    """The terms of a sum in SymPy's printing order; that order evaluates each term numerically,
    which overflows for a constant such as exp(exp(exp(1000))): then in the order held."""
    try:
        return e.as_ordered_terms()
    except (OverflowError, ValueError, ZeroDivisionError):
        return list(sp.Add.make_args(e))


# -- names ------------------------------------------------------------------------------------

def name_families(names, limit=FAMILIES_SHOWN):
    """Names grouped by family, as short text: ``s0_i, i = 0..19; W01_i_j, i = 0..1, j = 0..2``
    (families apart by semicolons, single names by commas); at most ``limit`` items."""
    fams = {}
    for n in names:
        base, idx = split_name(n)
        fams.setdefault((base, len(idx)) if idx else (n, 0), []).append((n, idx))
    items = []  # (text, is a family)
    for (base, arity), members in fams.items():
        if arity == 0 or len(members) == 1:
            items.extend((n, False) for n, _ in members)
            continue
        idxs = [i for _, i in members]
        spans = [(min(c), max(c)) for c in zip(*idxs)]
        if arity <= 6 and len(set(idxs)) == len(idxs) == math.prod(b - a + 1 for a, b in spans):
            letters = "ijklmn"[:arity]
            ranges = ", ".join(f"{c} = {a}..{b}" for c, (a, b) in zip(letters, spans))
            items.append((f"{base}_{'_'.join(letters)}, {ranges}", True))
        else:
            items.append((f"{members[0][0]} .. {members[-1][0]} ({len(members):,})", True))
    if len(items) > limit:
        items = items[:limit] + [(f"... ({len(items) - limit:,} more)", False)]
    text = ""
    for k, (item, family) in enumerate(items):
        if k:
            text += "; " if family or items[k - 1][1] else ", "
        text += item
    return text


def count(k, word):
    """``"1 unit"``, ``"1,024 units"``."""
    return f"{k:,} {word}{'s' if k != 1 else ''}"

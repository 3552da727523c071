"""Names that look like other names: letters of another script that read as Latin ones.

A parameter named with the Cyrillic ``а`` (U+0430) is a different symbol from
the Latin ``a`` of a formula, though both print the same: a model file shared
or pasted from elsewhere could then compute something other than what it
shows, silently. :func:`check_name` refuses, in one line naming the character
and the Latin letter it looks like:

- a name with a letter from :data:`LOOKALIKES` (Cyrillic ``а е о р с у х``...,
  the Greek capitals ``Α Β Ε ...`` and omicron, the Latin dotless ``ı``)
  beside a Latin letter (``wа``), or made of such letters only (``а``, ``Ο``);
- a name that mixes Cyrillic with Latin or Greek letters.

Greek names stay as they are: ``θ``, ``β``, ``α``, ``W_θ`` (their letters do
not print as Latin ones). Names are NFKC-normalised first, as Python does, so
fullwidth and mathematical letters (``ａ``, ``𝐚``) are already Latin.
"""

from __future__ import annotations

import unicodedata

from eqprop.errors import EqpropError

__all__ = ["LOOKALIKES", "check_name", "check_raw"]

#: Letters that print like a Latin letter, and that letter.
LOOKALIKES = {
    # Cyrillic small
    "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y",
    "\u0445": "x", "\u0455": "s", "\u0456": "i", "\u0458": "j", "\u0501": "d", "\u051b": "q",
    "\u051d": "w", "\u04bb": "h", "\u04cf": "l", "\u0457": "i",
    # Cyrillic capital
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H",
    "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0425": "X", "\u0423": "Y",
    "\u0405": "S", "\u0406": "I", "\u0408": "J", "\u051a": "Q", "\u051c": "W", "\u04ae": "Y",
    # Greek: the capitals shared with Latin, omicron, lunate sigma, yot
    "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I",
    "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T",
    "\u03a5": "Y", "\u03a7": "X", "\u03bf": "o", "\u03f2": "c", "\u03f3": "j", "\u03f9": "C",
    # Cherokee capitals and Armenian letters that print as Latin ones
    "\u13a0": "D", "\u13a1": "R", "\u13a2": "T", "\u13a9": "Y", "\u13aa": "A", "\u13ab": "J",
    "\u13ac": "E", "\u13b3": "W", "\u13b7": "M", "\u13bb": "H", "\u13c0": "G", "\u13c2": "h",
    "\u13c3": "Z", "\u13cf": "b", "\u13d2": "R", "\u13da": "S", "\u13de": "L", "\u13df": "C",
    "\u13e2": "P", "\u13e6": "K", "\u13f4": "B",
    "\u0585": "o", "\u0578": "n", "\u057d": "u", "\u0570": "h", "\u0566": "q", "\u0581": "g",
    "\u0575": "j", "\u0555": "O", "\u054f": "S", "\u053c": "L",
    # Latin letters that print as other Latin letters
    "\u0131": "i", "\u0237": "j", "\u0251": "a", "\u0261": "g",
}


def _script(c):
    """'Latin', 'Greek', 'Cyrillic', another script's first word, or None (digits, underscore)."""
    if not c.isalpha():
        return None
    if c.isascii():
        return "Latin"
    name = unicodedata.name(c, "")
    return name.split(" ", 1)[0].title() if name else None


def _describe(c):
    return f"U+{ord(c):04X} {unicodedata.name(c, 'a character')}"


def check_name(name, what):
    """Refuse ``name`` (an identifier, NFKC-normalised) when it could be read as another name."""
    if name.isascii():
        return name
    scripts = {}
    for c in name:
        scripts.setdefault(_script(c), c)
    scripts.pop(None, None)
    latin_like = [c for c in name if c in LOOKALIKES]
    if latin_like and (any(c.isascii() and c.isalpha() for c in name)
                       or all(c in LOOKALIKES or not c.isalpha() for c in name)):
        c = latin_like[0]
        latin = "".join(LOOKALIKES.get(ch, ch) for ch in name)
        raise EqpropError(f"{what}: the name {name!r} contains {_describe(c)}, which looks like the "
                          f"Latin '{LOOKALIKES[c]}' but is another letter (another symbol); write "
                          f"{latin!r} if the Latin letter is meant")
    if "Cyrillic" in scripts and ("Latin" in scripts or "Greek" in scripts):
        other = "Latin" if "Latin" in scripts else "Greek"
        raise EqpropError(f"{what}: the name {name!r} mixes Cyrillic and {other} letters "
                          f"({_describe(scripts['Cyrillic'])} beside '{scripts[other]}'); write a "
                          "name in one script")
    return name


def check_raw(text, what):
    """Refuse a lookalike that NFKC would turn into a third letter: the lunate sigma ``ϲ``
    (U+03F2) prints as the Latin ``c`` but is read, once normalised, as ``σ``; checked on the
    text as written, before it is normalised."""
    for c in set(text) & _CHANGED_BY_NFKC:
        raise EqpropError(f"{what}: contains {_describe(c)}, which looks like the Latin "
                          f"'{LOOKALIKES[c]}' but is read as "
                          f"'{unicodedata.normalize('NFKC', c)}'; write the letter meant")


_CHANGED_BY_NFKC = frozenset(c for c in LOOKALIKES if unicodedata.normalize("NFKC", c) != c)

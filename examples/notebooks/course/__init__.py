"""The course unit's seven notebooks, one module each (``unit1`` ... ``unit7``).

Each module defines ``NAME`` (the notebook's file name), ``TITLE`` and
``CELLS``, built with the helpers of :mod:`.cells`. ``make_notebooks.py``
beside this folder turns them into ``.ipynb`` files.
"""

from . import unit1, unit2, unit3, unit4, unit5, unit6, unit7

UNITS = (unit1, unit2, unit3, unit4, unit5, unit6, unit7)

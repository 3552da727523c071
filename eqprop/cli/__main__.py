"""``python -m eqprop.cli``, the same as ``eqprop``."""

from . import main

raise SystemExit(main())

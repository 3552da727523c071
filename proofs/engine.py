"""Which high-precision integrator a verification uses: gbs, or heyoka where it pays.

Part of :func:`eqprop.proofs.problem.prepare`.
"""

from __future__ import annotations

import mpmath

from eqprop.numeric.highprec import GUARD_DPS
from eqprop.symbolic.precision import working

__all__ = ["HEYOKA_AUTO_TERMS", "pick_engine"]


#: Above this many terms in the force, ``engine="auto"`` takes gbs even where heyoka is
#: installed: heyoka compiles the force for each precision (1.9 s at 412 terms, 2.9 s at 950,
#: 20 s at 5,320: hopfield:20,40,40,10), while the flows from s0 need no integrator
#: (numeric/propagator.py) and gbs integrates KBE's trajectory beside the other checks.
HEYOKA_AUTO_TERMS = 2000


def pick_engine(engine, compiled, wdps, model):
    """'auto' -> heyoka when installed and able to compile the model (smooth models whose
    force has at most :data:`HEYOKA_AUTO_TERMS` terms), else gbs."""
    from eqprop.errors import EqpropError
    if engine == "gbs":
        return "gbs"
    from eqprop.symbolic.heyoka_gen import available
    if not available():
        if engine == "heyoka":
            raise EqpropError("engine 'heyoka' needs heyoka.py: pip install 'eqprop[heyoka]'")
        return "gbs"
    if engine == "auto" and (model.non_smooth_atoms or
                             compiled.dEbeta_ds.kernel.templates.n_terms > HEYOKA_AUTO_TERMS):
        return "gbs"
    try:
        with working(wdps):
            compiled.taylor(mpmath.mp.prec, mpmath.mpf(10) ** -(wdps - GUARD_DPS // 2))
    except Exception as exc:  # noqa: BLE001 - heyoka cannot compile this model
        if engine == "heyoka":
            raise EqpropError(f"engine 'heyoka' cannot compile this model ({exc}); use engine='gbs'") from None
        return "gbs"
    return "heyoka"

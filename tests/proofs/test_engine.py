"""Which high-precision integrator a verification uses (proofs/engine.py)."""

import pytest

from eqprop.proofs.verify import as_model


def test_auto_takes_gbs_for_a_large_force_even_with_heyoka():
    """heyoka's compilation grows with the force (20 s at 5,320 terms): auto goes to gbs
    above HEYOKA_AUTO_TERMS; an explicit engine='heyoka' is still honoured (not run here)."""
    pytest.importorskip("heyoka")
    from eqprop.proofs import engine as problem
    from eqprop.symbolic.codegen import compile_model
    from eqprop.symbolic.derive import derive
    model = as_model("hopfield:20,40,40,10")
    compiled = compile_model(derive(model))
    assert compiled.dEbeta_ds.kernel.templates.n_terms > problem.HEYOKA_AUTO_TERMS
    assert problem.pick_engine("auto", compiled, 40, model) == "gbs"
    small = as_model("paper")
    assert problem.pick_engine("auto", compile_model(derive(small)), 40, small) == "heyoka"

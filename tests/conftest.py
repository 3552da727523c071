import os
import sys

# shared helpers beside the tests (tests/deadline.py, tests/function_cases.py)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# hypothesis: the CI profile runs the documented example counts, derandomized
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # pragma: no cover
    pass


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def problem():
    """The two-neuron model prepared once at dps 20 on the built-in integrator (theorem-level tests)."""
    from eqprop import load_model
    from eqprop.proofs.options import resolve
    from eqprop.proofs.problem import prepare
    model = load_model("two-neurons")
    P, assumptions, _ = prepare(model, resolve(model, dps=20, times=[0, 1, 4], engine="gbs"))
    assert P is not None and all(a.holds for a in assumptions)
    return P


@pytest.fixture(params=["gbs", "heyoka"])
def engine(request):
    """Both high-precision integrators: gbs (built in, what `pip install .` gives) and heyoka
    (skipped where it is not installed)."""
    if request.param == "heyoka":
        pytest.importorskip("heyoka")
    return request.param

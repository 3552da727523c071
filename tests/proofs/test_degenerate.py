"""A singular H(s0) is named as such, whichever path meets it first (issue 23).

Oscillators without a pinning field have an exact zero mode (rotating all of
them leaves E unchanged); a quartic bottom has H = 0; a tiny curvature is
singular to the working precision. Each used to get advice that sent the user
the wrong way ("no fixed point reached ... give an initial_state nearer the
minimum", or "[ok] positive definite 1e-41 ... strict local minimum" followed
by "rescale the energy's terms"). Each now gets the ``isolated minimum``
assumption with H's null direction, the verdict ``incomplete`` (a zero by
symmetry and one within rounding look the same numerically), and never a
line that calls s0 a strict minimum.
"""

import pytest

from eqprop import Model, Verdict, verify

XY = dict(state=["a", "b", "c"], energy="-J*cos(a - b) - J*cos(b - c) - J*cos(c - a)",
          cost="(a - y)**2/2", params={"J": "1"}, data={"y": "0.3"})


def _assumption(report, id_):
    found = [a for a in report.assumptions if a.id == id_]
    assert found, [a.id for a in report.assumptions]
    return found[0]


def _no_false_minimum(report):
    text = report.table()
    assert "strict local minimum" not in text, text
    assert "nearer the minimum" not in text, text
    return text


@pytest.mark.parametrize("start", [None, [0.1, 0.5, -0.2]], ids=["on the manifold", "off it"])
def test_oscillators_without_a_pinning_field(start):
    r = verify(Model(**XY), dps=20, engine="gbs", initial_state=start)
    a = _assumption(r, "isolated minimum")
    assert not a.holds and r.verdict is Verdict.INCOMPLETE
    # the zero mode: every oscillator rotated alike
    assert "a: 0.577, b: 0.577, c: 0.577" in a.message and "pin it" in a.message
    _no_false_minimum(r)


def test_a_pinning_field_makes_the_same_ring_verify():
    """The advice works: one field term pins the rotation."""
    pinned = XY["energy"] + " - h*(cos(a - x1) + cos(b - x2) + cos(c - x3))"
    m = Model(**{**XY, "energy": pinned, "params": {"J": "1", "h": "0.5"},
                 "data": {"y": "0.3", "x1": "0.4", "x2": "-0.2", "x3": "0.1"}})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert "strict local minimum" in r.table()


def test_a_quartic_bottom_started_at_its_minimum():
    r = verify(Model(state=["a", "b"], energy="a**4/4 + b**2/2 - w*a*b", cost="(a - y)**2/2",
                     params={"w": "0"}, data={"y": "0.3"}), dps=20, engine="gbs")
    a = _assumption(r, "isolated minimum")
    assert not a.holds and r.verdict is Verdict.INCOMPLETE
    assert "a: 1.0, b: 0.0" in a.message
    _no_false_minimum(r)


def test_a_curvature_below_the_working_precision():
    """Newton converges (H is invertible at 30 digits), but H's smallest eigenvalue 1e-30 is
    within 10^-(w/2) |H| of zero: singular to this precision, with its direction."""
    m = Model(state=["a", "b"], energy="a**2/2 + e*b**2/2 - w*a - e*b", cost="(a - y)**2/2",
              params={"w": "0.5", "e": "1e-30"}, data={"y": "0.3"})
    r = verify(m, dps=20, engine="gbs")
    a = _assumption(r, "isolated minimum")
    assert not a.holds and r.verdict is Verdict.INCOMPLETE
    assert "at s0 (its smallest eigenvalue" in a.message and "b: 1.0" in a.message
    _no_false_minimum(r)


def test_a_nearly_singular_h_names_its_soft_direction():
    """Above rounding but beyond the integrators' reach (cond 1e8): 'well conditioned' fails
    and says where H is soft."""
    m = Model(state=["a", "b"], energy="a**2/2 + e*b**2/2 - w*a - e*b", cost="(a - y)**2/2",
              params={"w": "0.5", "e": "1e-8"}, data={"y": "0.3"})
    r = verify(m, dps=20, engine="gbs")
    a = _assumption(r, "well conditioned")
    assert not a.holds and r.verdict is Verdict.INCOMPLETE
    assert "nearly singular along (a: 0.0, b: 1.0)" in a.message
    assert "[ok  ] positive definite" in r.table()  # true here: 1e-8 > 0 is resolved


def test_a_vector_field_with_a_zero_mode():
    m = Model(state=["a", "b"], vector_field=["-a + b + w", "a - b"], cost="(a - y)**2/2",
              params={"w": "0"}, data={"y": "0.3"})
    r = verify(m, dps=20, engine="gbs")
    a = _assumption(r, "isolated minimum")
    assert not a.holds and "a: 0.707, b: 0.707" in a.message
    assert r.verdict is Verdict.INCOMPLETE

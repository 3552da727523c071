"""The quadratic model: every quantity against its closed form, computed independently.

H = I - W_sym is constant, so s0 = H^-1 b and dJ/dtheta are exact rationals
(SymPy, exact arithmetic), and Sbar_t = expm(-t H) C_s is computed here with
mpmath at 80 digits from the exact H -- none of it through eqprop.
"""

import mpmath
import pytest
import sympy as sp

from eqprop import Verdict, quadratic, verify
from eqprop.proofs.quantities import IFT_ALL_COORDINATES


def closed_forms(m):
    n = len(m.state)
    vals = {s.name: v for s, v in m.params.items()}
    H = sp.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            H[i, j] = H[j, i] = -vals[f"W_{i}_{j}"]
    b = sp.Matrix([vals[f"b_{i}"] for i in range(n)])
    s0 = H.LUsolve(b)
    y = list(m.data.values())[0]
    C_s = sp.Matrix([s0[0] - y] + [0] * (n - 1))
    z = H.LUsolve(C_s)  # H symmetric
    # dE/ds_k = s_k - sum_j W_kj s_j - b_k: d/dW_ij -> -s_j at row i, -s_i at row j; d/db_i -> -1
    grads = []
    for p in m.params:
        name = p.name
        if name.startswith("W_"):
            i, j = map(int, name.split("_")[1:])
            grads.append(-(-s0[j] * z[i] - s0[i] * z[j]))
        else:
            i = int(name.split("_")[1])
            grads.append(-(-z[i]))
    return H, s0, C_s, grads


@pytest.mark.parametrize("n", [2, 4])
def test_quadratic_against_exact_closed_forms(n):
    m = quadratic(n)
    H, s0, C_s, dJ = closed_forms(m)
    r = verify(m, dps=40, times=[0, 1, 3])
    assert r.verdict is Verdict.VERIFIED, r.table()
    tol = mpmath.mpf(10) ** -38
    with mpmath.workdps(80):
        q = lambda v: mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q  # noqa: E731
        for got, want in zip(r.s_free, s0):
            assert abs(mpmath.mpf(got) - q(want)) < tol
        for method in ("implicit", "rbp_limit", "ep_limit", "finite_difference"):
            if method == "finite_difference" and len(dJ) > IFT_ALL_COORDINATES:
                assert r.dJ_dtheta[method] is None  # IFT.cs went by directions
                continue
            for got, want in zip(r.dJ_dtheta[method], dJ):
                assert abs(mpmath.mpf(got) - q(want)) < tol, method
        Hm = mpmath.matrix([[q(H[i, j]) for j in range(n)] for i in range(n)])
        cs = mpmath.matrix([q(c) for c in C_s])
        for t, sb, st in zip(r.times, r.series["s_bar"], r.series["s_tilde"]):
            want = mpmath.expm(-mpmath.mpf(t) * Hm) * cs
            for k in range(n):
                assert abs(mpmath.mpf(sb[k]) - want[k]) < tol
                assert abs(mpmath.mpf(st[k]) - want[k]) < tol

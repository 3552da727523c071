"""Which route each side of each report row takes, in words (the report's ``sides``).

The functions of :mod:`.quantities` compute the sides; this table is what the
report and the tests read to say, for a row, how its two sides were reached
independently.
"""

__all__ = ["ROUTES"]

#: Row id -> (left side, right side), in words.
ROUTES = {
    "KBE": ("-C_s(S_t) . dE/ds(S_t) at the end of the free flow from a random s (chain rule)",
            "d/de L(s - e dE/ds(s), t) at the start, by complex step on the initial state"),
    "T1.S": ("Sbar_t from RBP's adjoint ODE (3.5, 3.7), integrated",
             "expm(-t H) C_s (closed form, no integration)"),
    "T1.Theta": ("Thetabar_t from RBP's adjoint ODE (3.6, 3.8), integrated",
                 "C_theta - M H^-1 (I - expm(-t H)) C_s (closed form)"),
    "T1.S.def": ("d/de L(s0 + e v, t) on the free flow from s0 (definition 3.3), complex step; "
                 "the flow solved by its propagator, J from n complex steps of the force",
                 "v . Sbar_t, Sbar from the integrated adjoint"),
    "T1.Theta.def": ("d/de L(s0, t) with theta + e u on the free flow from s0, complex step "
                     "(the same propagator)",
                     "u . Thetabar_t, Thetabar from the integrated adjoint"),
    "T1.limit": ("Thetabar_t from the integrated adjoint at t where expm(-t H) < 10^-dps",
                 "implicit function theorem: C_theta - M H^-1 C_s (one linear solve)"),
    "IFT.cs": ("u . dJ/dtheta = Im C(s0(theta + i h u)) / h, s0 re-solved by Newton per "
               "direction u (every coordinate for p <= 8; else 3 random and 3 coordinate u)",
               "u . (C_theta - M H^-1 C_s), implicit function theorem"),
    "T2": ("EP: E^beta_theta(s^beta) at real +-beta, each s^beta solved by Newton (from the "
           "line through s0 and the previous beta's solution), Richardson-extrapolated to beta -> 0",
           "implicit function theorem: C_theta - M H^-1 C_s"),
    "T2.bias1": ("one-sided estimator (g(beta) - g(0)) / beta at seven betas over three decades",
                 "its error against the implicit gradient must fall like beta"),
    "T2.bias2": ("symmetric estimator (g(beta) - g(-beta)) / (2 beta) at the same betas",
                 "its error against the implicit gradient must fall like beta^2"),
    "T3.S": ("Stilde_t = Im dE^beta/ds(S^beta_t) / h on the nudged flow from s0, beta = i h "
             "(the same propagator)",
             "Sbar_t from RBP's integrated adjoint"),
    "T3.Theta": ("Thetatilde_t = Im E^beta_theta(S^beta_t) / h on the same nudged flow",
                 "Thetabar_t from RBP's integrated adjoint"),
}

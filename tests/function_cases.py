"""Every function a formula may call, each in one small two-state model.

The rows of the function x path matrices (tests/symbolic/test_functions.py
runs them through the compiled backends; a verify-level matrix can reuse
them). Each case is ``(name, energy, params, data)``, with the energy

    (a**2 + b**2) - w*f(A)*f(B)/4 - x*f(B)/4

where ``A``, ``B`` map the state into the function's domain: shifted for
log, sqrt and acosh, halved for asin, acos and atanh, shifted off the
symmetric point 0 for the even cos and cosh. The fixed point s0 has
``|a|, |b| < 0.2``, where every smooth case is smooth and inside its domain
and the Hessian is positive definite; the matrix evaluates at random points
with ``|a|, |b| <= 0.45``, also inside. :func:`model` builds the Model (cost
``(a - y)**2/2``).
"""

#: f(u) with u written ``{}``, for every smooth function of the formula whitelist
SMOOTH = {
    "exp": "exp({})", "log": "log({} + 2)", "sqrt": "sqrt({} + 2)",
    "sin": "sin({})", "cos": "cos({} + 1/2)", "tan": "tan({})",
    "sinh": "sinh({})", "cosh": "cosh({} + 1/2)", "tanh": "tanh({})",
    "asin": "asin({}/2)", "acos": "acos({}/2)", "atan": "atan({})",
    "asinh": "asinh({})", "acosh": "acosh({} + 2)", "atanh": "atanh({}/2)",
    "erf": "erf({})", "sigmoid": "sigmoid({})", "softplus": "softplus({})",
}

#: the non-smooth functions (flagged by Model.non_smooth), kinks away from the evaluation points
NON_SMOOTH = {
    "Abs": "Abs({} - 1/2)", "abs": "abs({} - 1/2)", "Min": "Min({}, 1/2)", "min": "min({}, 1/2)",
    "Max": "Max({}, -1/2)", "max": "max({}, -1/2)", "Heaviside": "Heaviside({} - 1/2)",
    "sign": "sign({} - 1/2)", "floor": "floor({} + 1/2)", "ceiling": "ceiling({} - 1/2)",
    "hardsigmoid": "hardsigmoid({} + 1/2)",
}

STATE = ["a", "b"]
ENERGY = "(a**2 + b**2) - w*{fa}*{fb}/4 - x*{fb}/4"
COST = "(a - y)**2/2"
PARAMS = {"w": "0.3"}
DATA = {"x": "0.5", "y": "0.2"}


def _case(name, f):
    return (name, ENERGY.format(fa=f.format("a"), fb=f.format("b")), dict(PARAMS), dict(DATA))


SMOOTH_CASES = [_case(name, f) for name, f in SMOOTH.items()]
NON_SMOOTH_CASES = [_case(name, f) for name, f in NON_SMOOTH.items()]
CASES = SMOOTH_CASES + NON_SMOOTH_CASES


def model(case):
    """The :class:`eqprop.Model` of a case."""
    from eqprop import Model
    name, energy, params, data = case
    return Model(energy=energy, cost=COST, state=STATE, params=params, data=data,
                 name=f"function {name}")

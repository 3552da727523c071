"""Built-in models and model files.

- :func:`hopfield`: the paper's modified Hopfield energy (paper 2.4), any depth.
- :func:`quadratic`: linear dynamics with closed forms for every quantity.
- :func:`load_model`: a TOML file, or the name of a shipped model file
  (``paper``, ``two-neurons``).
"""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path

import sympy as sp

from eqprop.errors import EqpropError

from .model import Model
from .parse import FUNCTIONS, parse_expression

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["RHO", "rho_function", "hopfield", "quadratic", "load_model", "builtin_names"]

_z = sp.Symbol("z", real=True)

#: Named activation functions rho(z), as SymPy expressions in ``z``.
RHO = {
    "sigmoid": 1 / (1 + sp.exp(-_z)),
    "tanh": sp.tanh(_z),
    "hardsigmoid": sp.Min(sp.Max(_z, 0), 1),
    "smoothhard": 1 / (1 + sp.exp(-(4 * _z - 2))),
    "softplus": sp.log(1 + sp.exp(_z)),
}

_TWO_ARGUMENTS = {"Min", "min", "Max", "max"}


def rho_function(rho):
    """Return rho as a SymPy expression in the symbol ``z``.

    ``rho`` is a name from :data:`RHO`, the name of a one-argument formula
    function (``"atan"`` means atan(z)), a string formula in one variable
    (``"z/(1 + z**2)"``, any variable name), or a SymPy expression in one
    symbol.
    """
    if isinstance(rho, str) and rho in RHO:
        return RHO[rho]
    if isinstance(rho, str) and rho.strip().isidentifier():
        name = rho.strip()
        if name in FUNCTIONS and name not in _TWO_ARGUMENTS:
            return FUNCTIONS[name](_z)
        raise EqpropError(f"rho: unknown activation {rho!r}; use one of {', '.join(RHO)}, a "
                          "function such as atan, or a formula in one variable such as "
                          "'z/(1 + z**2)'")
    if isinstance(rho, str):
        import ast
        try:
            names = {n.id for n in ast.walk(ast.parse(rho, mode="eval")) if isinstance(n, ast.Name)}
        except SyntaxError:
            names = set()
        free = sorted(n for n in names if n not in FUNCTIONS and n not in ("pi", "E"))
        if len(free) != 1:
            raise EqpropError(f"rho: {rho!r} is neither a named activation ({', '.join(RHO)}) nor a "
                              "formula in exactly one variable, such as 'z/(1 + z**2)'")
        expr = parse_expression(rho, {free[0]: sp.Symbol(free[0], real=True)}, what="rho")
        return expr.xreplace({sp.Symbol(free[0], real=True): _z})
    if isinstance(rho, sp.Expr):
        free = list(rho.free_symbols)
        if len(free) != 1:
            raise EqpropError(f"rho: expected an expression in exactly one symbol, got {rho}")
        return rho.xreplace({free[0]: _z})
    raise EqpropError(f"rho: expected a name ({', '.join(RHO)}), a formula string or a SymPy "
                      f"expression, got {type(rho).__name__}")


def _rand_value(rng, scale):
    """A reproducible exact decimal in [-scale, scale] with three digits."""
    k = max(1, int(1000 * scale))
    return sp.Rational(rng.randint(-k, k), 1000)


def hopfield(layers=(2, 3, 3, 2), rho="sigmoid", biases=False, seed=0, *, name=None):
    """The paper's modified Hopfield energy (paper 2.4) for any depth.

    ``layers = [n_out, n_h1, ..., n_in]``: layer 0 is the output s_0, the last
    entry the clamped input x. With rho applied elementwise::

        E = 1/2 sum_l |s_l|^2 - sum_l rho(s_l)^T W_{l,l+1} rho(s_{l+1}) [- sum_l b_l^T rho(s_l)]
        C = 1/2 |y - s_0|^2

    State symbols ``s0_0, s0_1, ..., s1_0, ...``; weights ``W01_i_j`` couple
    unit i of layer 0 with unit j of layer 1; biases ``b0_i``; inputs ``x_j``;
    targets ``y_i``. Weights, inputs and targets are exact three-digit
    decimals drawn from ``random.Random(seed)``, weights scaled by
    sqrt(6 / (fan_in + fan_out)).
    """
    layers = [int(n) for n in layers]
    if len(layers) < 2 or min(layers) < 1:
        raise EqpropError(f"hopfield: layers must list at least two positive sizes "
                          f"[n_out, ..., n_in], got {layers}")
    r = rho_function(rho)
    rng = random.Random(seed)
    n_free = len(layers) - 1
    s = [[sp.Symbol(f"s{l}_{i}", real=True) for i in range(layers[l])] for l in range(n_free)]
    x = [sp.Symbol(f"x_{j}", real=True) for j in range(layers[-1])]
    y = [sp.Symbol(f"y_{i}", real=True) for i in range(layers[0])]
    rho_of = {v: r.xreplace({_z: v}) for v in [u for layer in s for u in layer] + x}
    terms = [sp.Rational(1, 2) * v**2 for layer in s for v in layer]
    params = {}
    for l in range(n_free):
        upper = s[l + 1] if l + 1 < n_free else x
        scale = (6 / (layers[l] + layers[l + 1])) ** 0.5
        for i, a in enumerate(s[l]):
            for j, b in enumerate(upper):
                w = sp.Symbol(f"W{l}{l + 1}_{i}_{j}", real=True)
                params[w] = _rand_value(rng, scale)
                terms.append(-w * rho_of[a] * rho_of[b])
    if biases:
        for l in range(n_free):
            for i, a in enumerate(s[l]):
                b = sp.Symbol(f"b{l}_{i}", real=True)
                params[b] = _rand_value(rng, 0.5)
                terms.append(-b * rho_of[a])
    data = {v: _rand_value(rng, 1) for v in x}
    data.update({v: sp.Rational(rng.randint(0, 1000), 1000) for v in y})
    energy = sp.Add(*terms)
    cost = sp.Rational(1, 2) * sp.Add(*[(yi - si) ** 2 for yi, si in zip(y, s[0])])
    return Model(energy=energy, cost=cost, state=[v for layer in s for v in layer],
                 params=params, data=data, layers=tuple(layers),
                 name=name or f"hopfield {'-'.join(map(str, layers))} ({rho if isinstance(rho, str) else 'custom rho'})")


def quadratic(n=3, seed=0):
    """Linear dynamics with closed forms, for tests and teaching.

    ``E = 1/2 |s|^2 - sum_{i<j} W_i_j s_i s_j - sum_i b_i s_i`` and
    ``C = 1/2 (s_0 - y)^2``, with theta = (W, b). The Hessian
    ``H = I - W_sym`` is constant (positive definite: the couplings are small),
    so ``s0 = H^-1 b``, ``Sbar_t = expm(-t H) C_s`` and every other quantity
    of the paper has a closed form in exact rational arithmetic.
    """
    n = int(n)
    if n < 1:
        raise EqpropError(f"quadratic: n must be a positive integer, got {n}")
    rng = random.Random(seed)
    s = [sp.Symbol(f"s_{i}", real=True) for i in range(n)]
    params, terms = {}, [sp.Rational(1, 2) * v**2 for v in s]
    bound = 0.9 / max(1, n - 1)  # keeps H strictly diagonally dominant
    for i in range(n):
        for j in range(i + 1, n):
            w = sp.Symbol(f"W_{i}_{j}", real=True)
            params[w] = _rand_value(rng, bound)
            terms.append(-w * s[i] * s[j])
    for i in range(n):
        b = sp.Symbol(f"b_{i}", real=True)
        params[b] = _rand_value(rng, 1)
        terms.append(-b * s[i])
    y = sp.Symbol("y", real=True)
    return Model(energy=sp.Add(*terms), cost=(s[0] - y) ** 2 / 2, state=s, params=params,
                 data={y: sp.Rational(rng.randint(0, 1000), 1000)}, name=f"quadratic n={n}")


# -- model files -----------------------------------------------------------

def builtin_names():
    """Names of the model files shipped inside the package."""
    folder = resources.files("eqprop") / "models"
    return sorted(p.name[:-5].replace("_", "-") for p in folder.iterdir() if p.name.endswith(".toml"))


_REQUIRED = ("state", "cost")
_KNOWN = {"name", "state", "energy", "vector_field", "cost", "params", "data", "verify", "layers"}
_VERIFY_KEYS = {"dps", "times", "initial_state", "engine"}


def load_model(source):
    """Read a model from a TOML file path, or a built-in name (``paper``).

    The file's fields are those of :class:`Model`; see ``examples/*.toml``.
    """
    if isinstance(source, Model):
        return source
    spec = str(source)
    if spec.startswith(("hopfield:", "quadratic:")):
        return _from_spec(spec)
    text, label = None, str(source)
    path = Path(str(source))
    key = str(source).replace("-", "_")
    if str(source) in builtin_names() or key in [b.replace("-", "_") for b in builtin_names()]:
        text = (resources.files("eqprop") / "models" / f"{key}.toml").read_text(encoding="utf-8")
    elif path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EqpropError(f"{label}: cannot read the file ({exc})") from None
    else:
        raise EqpropError(f"{label}: no such model file, and not a built-in model "
                          f"(built-in: {', '.join(builtin_names())})")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EqpropError(f"{label}: TOML syntax error: {exc}") from None
    return model_from_dict(doc, label=label)


def _from_spec(spec):
    """``hopfield:2,3,3,2[:rho]`` or ``quadratic:N``."""
    kind, _, rest = spec.partition(":")
    try:
        if kind == "quadratic":
            return quadratic(int(rest))
        sizes, _, rho = rest.partition(":")
        return hopfield([int(x) for x in sizes.split(",")], rho=rho or "sigmoid")
    except EqpropError:
        raise
    except ValueError:
        raise EqpropError(f"{spec!r}: expected 'hopfield:2,3,3,2' (optionally ':tanh') or "
                          "'quadratic:3'") from None


def model_from_dict(doc, *, label="model"):
    """Build a :class:`Model` from the fields of a parsed TOML document."""
    for key in _REQUIRED:
        if key not in doc:
            raise EqpropError(f"{label}: missing field '{key}'; a model file needs state, "
                              "energy (or vector_field) and cost")
    if "energy" not in doc and "vector_field" not in doc:
        raise EqpropError(f"{label}: missing field 'energy' (or 'vector_field')")
    unknown = sorted(set(doc) - _KNOWN)
    if unknown:
        raise EqpropError(f"{label}: unknown field '{unknown[0]}'; allowed: {', '.join(sorted(_KNOWN))}")
    verify = doc.get("verify", {})
    if not isinstance(verify, dict):
        raise EqpropError(f"{label}: [verify] must be a table")
    bad = sorted(set(verify) - _VERIFY_KEYS)
    if bad:
        raise EqpropError(f"{label}: unknown [verify] key '{bad[0]}'; allowed: {', '.join(sorted(_VERIFY_KEYS))}")
    for key in ("params", "data"):
        if key in doc and not isinstance(doc[key], dict):
            raise EqpropError(f"{label}: [{key}] must be a table of name = \"value\" entries")
    state = doc["state"]
    if not isinstance(state, list):
        raise EqpropError(f"{label}: state must be a list of names, e.g. state = [\"a\", \"b\"]")
    return Model(energy=doc.get("energy"), cost=doc["cost"], state=state,
                 params=doc.get("params", {}), data=doc.get("data", {}),
                 vector_field=doc.get("vector_field"), name=doc.get("name", Path(label).stem),
                 verify=verify, layers=doc.get("layers"))

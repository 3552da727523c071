"""The package's shape, checked from its source (docs/ARCHITECTURE.md).

- layers one way: symbolic -> numeric -> proofs -> figures -> the CLI and
  public API (``eqprop.errors`` sits below them all); no module imports a
  higher layer, even lazily inside a function;
- no private name (``_x``) imported from another subsystem;
- SymPy (and SymEngine) only in symbolic: the layers above receive compiled
  functions and expressions, never derive;
- no import cycle among modules (lazy imports inside functions included);
- precision is set in one place: nothing but ``symbolic/precision.py``
  assigns ``mpmath.mp.dps`` / ``.prec`` or ``flint.ctx.prec``;
- no module-level mutable switch (a one-element list used as a flag);
- modules of at most 400 lines, functions of at most 80.

Each check is shown to fail on a planted violation, so none passes vacuously.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: source folder -> installed package, in layer order (lowest first)
PACKAGES = {"symbolic": "eqprop.symbolic", "numeric": "eqprop.numeric", "proofs": "eqprop.proofs",
            "figures": "eqprop.figures", "eqprop": "eqprop"}
LAYERS = {"eqprop.symbolic": 0, "eqprop.numeric": 1, "eqprop.proofs": 2, "eqprop.figures": 3,
          "eqprop": 4}
#: below every layer: the one exception type that all of them raise
BASE = {"eqprop.errors"}
#: libraries only the symbolic layer imports
SYMBOLIC_ONLY = {"sympy", "symengine"}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules():
    """{module name: path} of every source file of the package."""
    out = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


MODULES = _modules()


def _package_of(name, is_package):
    return name if is_package else name.rpartition(".")[0]


def _imports(name, tree, is_package):
    """``(imported module, names, line, at module level)`` for every import in ``tree``."""
    top_level = {id(node) for node in tree.body}
    top_level |= {id(n) for node in tree.body if isinstance(node, (ast.If, ast.Try))
                  for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(name, is_package).split(".")
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            names = [a.name for a in node.names]
            # "from pkg import mod" imports the submodule mod
            subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
            out += [(s, [], node.lineno, id(node) in top_level) for s in subs]
            rest = [n for n in names if f"{base}.{n}" not in MODULES]
            if rest or not subs:
                out.append((base, rest, node.lineno, id(node) in top_level))
    return out


def _layer(module):
    if module in BASE or not module.startswith("eqprop"):
        return None
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _subsystem(module):
    return max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)


def _graph(sources):
    """Per module: its imports, parsed from ``sources`` ({name: (text, is_package)})."""
    return {name: _imports(name, ast.parse(text), is_package)
            for name, (text, is_package) in sources.items()}


def _sources():
    return {name: (path.read_text(), path.name == "__init__.py") for name, path in MODULES.items()}


def layer_violations(graph):
    found = []
    for name, imports in graph.items():
        here = _layer(name)
        for target, names, line, _ in imports:
            there = _layer(target)
            if here is not None and there is not None and there > here:
                found.append(f"{name}:{line} imports {target} (a higher layer)")
            if here is not None and here > 0 and target.split(".")[0] in SYMBOLIC_ONLY:
                found.append(f"{name}:{line} imports {target} (SymPy belongs to symbolic)")
            if there is not None and _subsystem(target) != _subsystem(name):
                private = [n for n in names if n.startswith("_")]
                if private:
                    found.append(f"{name}:{line} imports private {', '.join(private)} from {target}")
    return found


def cycles(graph):
    """Import cycles among modules, lazy imports inside functions included (one that breaks
    a cycle at import time still ties two modules both ways); a package's ``__init__``
    re-exports are left out: importing a submodule runs them, not a cycle."""
    edges = {name: sorted({t for t, _, _, _ in imports if t in graph and t != name
                           and not _is_package(t)})
             for name, imports in graph.items()}
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in edges.get(node, []):
            if state.get(nxt) == "open":
                found.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"
    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def _is_package(name):
    path = MODULES.get(name)
    return path is not None and path.name == "__init__.py"


def precision_assignments(name, text):
    """Assignments to mpmath's or Arb's global precision outside the precision module."""
    if name == "eqprop.symbolic.precision":
        return []
    found = []
    for node in ast.walk(ast.parse(text)):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for t in targets:
            for leaf in ast.walk(t):
                if isinstance(leaf, ast.Attribute) and leaf.attr in ("dps", "prec"):
                    found.append(f"{name}:{node.lineno} sets .{leaf.attr}")
    return found


def switches(name, text):
    """Module-level one-element lists of a constant: a flag flipped by assignment."""
    found = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List) and \
                not ast.unparse(node.targets[0]).startswith("__") and \
                len(node.value.elts) == 1 and isinstance(node.value.elts[0], ast.Constant):
            found.append(f"{name}:{node.lineno} {ast.unparse(node.targets[0])} = "
                         f"{ast.unparse(node.value)}")
    return found


def sizes(name, text):
    """Modules over :data:`MAX_MODULE_LINES` lines and functions over :data:`MAX_FUNCTION_LINES`."""
    found = []
    lines = text.count("\n")
    if lines > MAX_MODULE_LINES:
        found.append(f"{name}: {lines} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{name}.{node.name}: {length} lines")
    return found


def test_layers_import_one_way_and_no_private_name_crosses():
    assert layer_violations(_graph(_sources())) == []


def test_no_import_cycle():
    assert cycles(_graph(_sources())) == []


@pytest.mark.parametrize("check", [precision_assignments, switches, sizes])
def test_module_rules(check):
    found = [v for name, (text, _) in _sources().items() for v in check(name, text)]
    assert found == []


# -- each check fails on a planted violation --------------------------------------------
def test_the_checks_catch_planted_violations():
    planted = {
        "eqprop.symbolic.a": ("from eqprop.proofs import verify\nfrom . import b\n", False),
        "eqprop.symbolic.b": ("import eqprop.symbolic.a\n", False),
        "eqprop.proofs.c": ("def f():\n    from eqprop.numeric.linalg import _solve\n", False),
        "eqprop.numeric.d": ("import sympy as sp\n", False),
    }
    graph = _graph(planted)
    found = layer_violations(graph)
    assert any("a higher layer" in f and f.startswith("eqprop.symbolic.a") for f in found)
    assert any("private _solve" in f for f in found)
    assert any(f.startswith("eqprop.numeric.d") and "SymPy" in f for f in found)
    MODULES.update({k: pathlib.Path(k + ".py") for k in planted})
    try:
        assert cycles(_graph(planted))
    finally:
        for k in planted:
            MODULES.pop(k)
    assert precision_assignments("eqprop.numeric.x", "import mpmath\nmpmath.mp.dps = 50\n")
    assert precision_assignments("eqprop.numeric.x", "flint.ctx.prec = 64\n")
    assert switches("eqprop.proofs.x", "PARALLEL = [True]\n")
    assert not switches("eqprop.proofs.x", "PALETTE = ['#000', '#fff']\n")
    assert sizes("eqprop.x", "\n" * 401)
    assert sizes("eqprop.x", "def f():\n" + "    pass\n" * 80)
    assert not sizes("eqprop.x", "def f():\n" + "    pass\n" * 79)

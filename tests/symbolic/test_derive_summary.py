"""``eqprop derive``'s summary, ``--full`` and ``--latex`` (issue 13).

The summary is checked against what it claims: its sums, written out, are the
energy and the equations they stand for; its picture of H is the pattern of
``sympy.hessian`` of the energy; ``--full`` lists every non-zero of that
Hessian, entry by entry; the LaTeX is a document that needs only amsmath.
"""

import re
import textwrap

import pytest
import sympy as sp

import function_cases
from eqprop import Model, describe, load_model, quadratic
from eqprop.cli import main
from eqprop.symbolic.derive import derive
from eqprop.symbolic.summary import Forms, name_families

CHAIN = textwrap.dedent('''\
    name = "a chain of 15 units"
    state = [{state}]
    energy = "{energy}"
    cost = "(a_0 - y)**2/2"
    [params]
    w = "0.2"
    [data]
    y = "0.5"
''')


def chain_file(tmp_path, n=15):
    state = ", ".join(f'"a_{i}"' for i in range(n))
    energy = " + ".join(f"a_{i}**2/2" for i in range(n)) + "".join(
        f" - w*tanh(a_{i})*tanh(a_{i + 1})" for i in range(n - 1))
    path = tmp_path / "chain.toml"
    path.write_text(CHAIN.format(state=state, energy=energy), encoding="utf-8")
    return str(path)


def by_name(e):
    """``e`` over plain symbols named as its own: compares expressions from different sources."""
    return e.xreplace({x: sp.Symbol(x.name) for x in e.free_symbols})


def _put(e, var, value):
    """Index ``var`` set to ``value`` in the names of ``e`` (``s0_i`` -> ``s0_3``)."""
    rep = {}
    for x in e.free_symbols:
        parts = x.name.split("_")
        if var.name in parts[1:]:
            rep[x] = sp.Symbol("_".join(str(value) if k and p == var.name else p
                                        for k, p in enumerate(parts)))
    return e.xreplace(rep)


def written_out(e):
    """The summary's sums written out term by term (bounds may depend on an outer index)."""
    if isinstance(e, sp.Sum):
        *inner, (var, lo, hi) = e.limits  # SymPy lists the innermost sum first
        total = []
        for v in range(int(lo), int(hi) + 1):
            body = _put(e.function, var, v)
            if inner:
                limits = [(x, sp.sympify(a).subs(var, v), sp.sympify(b).subs(var, v))
                          for x, a, b in inner]
                body = sp.Sum(body, *limits)
            total.append(written_out(body))
        return sp.Add(*total)
    if e.args and not isinstance(e, sp.Symbol):
        return e.func(*[written_out(a) for a in e.args])
    return e


def same(a, b):
    return sp.expand(by_name(a) - by_name(b)) == 0


def text_of(argv, capsys):
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


# -- what the summary says is true ----------------------------------------------------------

@pytest.mark.parametrize("spec", ["paper", "two-neurons", "hopfield:3,4,2:tanh", "quadratic:7"])
def test_sums_written_out_are_the_expressions(spec):
    """Every grouped expression the summary prints (E, C, each unit's dynamics, dC/ds) equals the
    expression it stands for, once its sums are written out."""
    model = load_model(spec)
    d = derive(model)
    forms = Forms(model)
    assert same(written_out(forms.grouped(d.E)), model.energy)
    assert same(written_out(forms.grouped(d.C)), model.cost)
    for i, s in enumerate(model.state):
        shown = forms.grouped(d.dE_ds[i], sign=-1)
        assert same(written_out(shown), -sp.diff(model.energy, s)), s
    if spec in ("paper", "quadratic:7"):  # terms of one form really were summed
        assert forms.grouped(d.E).has(sp.Sum)


def test_triangle_and_off_grid_groups():
    """Couplings written once (i < j) are one sum with j = i + 1..; indices off any grid are not
    summed (negative control): they are shown as '[k terms like ...]'."""
    model = quadratic(6)
    forms = Forms(model)
    e = forms.grouped(derive(model).E)
    assert "sum[i=0..4, j=i + 1..5](W_i_j*s_i*s_j)" in describe(model)
    assert same(written_out(e), model.energy)
    gappy = Model(energy="(a_0**2 + a_2**2 + a_5**2)/2 - w*(a_0 + a_2 + a_5)", cost="a_0",
                  state=["a_0", "a_2", "a_5"], params={"w": "1"})
    g = Forms(gappy).grouped(derive(gappy).E)
    assert not g.has(sp.Sum)
    assert "[3 terms like a_0**2/2]" in describe(gappy)


def test_paper_summary_picture_is_the_hessian_pattern(capsys):
    model = load_model("paper")
    out = text_of(["derive", "paper"], capsys)
    lines = out.splitlines()
    assert len(lines) < 90
    H = sp.hessian(model.energy, model.state)  # the whole Hessian, independently of derive
    rows = [ln.split()[1].replace("|", "") for ln in lines
            if ln.startswith("    s") and re.fullmatch(r"\s+s\d_\d [x.|]+", ln)]
    assert rows == ["".join("x" if H[i, j] != 0 else "." for j in range(8)) for i in range(8)]
    assert "8 x 8 (symmetric), 38 structural non-zeros of 64" in out
    assert sum(H[i, j] != 0 for i in range(8) for j in range(8)) == 38
    for fragment in ("state s (8): s0_i, i = 0..1; s1_i, i = 0..2; s2_i, i = 0..2",
                     "parameters theta (21): W01_i_j, i = 0..1, j = 0..2;",
                     "inputs x (2; data in E, clamped): x_i, i = 0..1",
                     "targets y (2; data only in C): y_i, i = 0..1",
                     "layer s1: 3 units", "... and 2 more equations: the same form",
                     "- sum[i=0..1, j=0..2](W01_i_j/((1 + exp(-s0_i))*(1 + exp(-s1_j))))",
                     "W12_i_j, i = 0..2, j = 0..2 (9): each in dE/ds of 2 state variables, "
                     "in layers s1, s2",
                     "dC/ds0_0 = s0_0 - y_0", "dC/dtheta = 0",
                     "Sbar_0 = dC/ds(s0),  d/dt Sbar_t = -H(s0)^T Sbar_t",
                     "Theorem 3 (5.5): Thetatilde_t = d/dbeta|0 dE^beta/dtheta(S^beta_t)"):
        assert fragment in out, fragment
    assert out.count("ds1_") == 1  # one equation for the layer: the first unit's


def test_two_neurons_summary(capsys):
    out = text_of(["derive", "two-neurons"], capsys)
    for fragment in ("state s (2): a, b", "parameters theta (1): w",
                     "E = a**2/2 + b**2/2 - w*tanh(a)*tanh(b) - x*tanh(b)",
                     "da/dt = -a + w*(1 - tanh(a)**2)*tanh(b)", "    a xx\n    b xx",
                     "w: in dE/ds of 2 state variables: a, b", "dC/da = a - y"):
        assert fragment in out, fragment


def test_toml_model_by_unit(tmp_path, capsys):
    """Without layers: every unit up to 12, else the first 4 and a count of the rest and of the
    forms (the two end units have one neighbour, the others two)."""
    out = text_of(["derive", chain_file(tmp_path)], capsys)
    eqs = [ln for ln in out.splitlines() if re.match(r"  da_\d+/dt = ", ln)]
    assert [ln.split("/")[0] for ln in eqs] == ["  da_0", "  da_1", "  da_2", "  da_3"]
    assert "... and 11 more equations: 2 forms among all 15" in out
    assert "state s (15): a_i, i = 0..14" in out
    small = text_of(["derive", chain_file(tmp_path, 5)], capsys)
    assert len([ln for ln in small.splitlines() if re.match(r"  da_\d+/dt = ", ln)]) == 5
    # the pattern of a chain: tridiagonal
    assert "    a_0 xx...\n    a_1 xxx..\n    a_2 .xxx.\n    a_3 ..xxx\n    a_4 ...xx" in small


def test_a_layer_of_two_forms_says_so(tmp_path, capsys):
    """Negative control of 'the same form': one unit of a layer with an extra term."""
    text = textwrap.dedent('''\
        state = ["s0_0", "s0_1", "s0_2"]
        layers = [3, 1]
        energy = "(s0_0**2 + s0_1**2 + s0_2**2)/2 - w*(s0_0 + s0_1 + s0_2) - w*s0_2**3/10"
        cost = "(s0_0 - y)**2/2"
        [params]
        w = "0.1"
        [data]
        y = "0.3"
    ''')
    path = tmp_path / "odd.toml"
    path.write_text(text, encoding="utf-8")
    out = text_of(["derive", str(path)], capsys)
    assert "... and 1 more equation: 2 forms among the 3, the first of each shown" in out
    assert "ds0_0/dt = " in out and "ds0_2/dt = " in out


def test_vector_field_with_layers_of_one_name():
    """Layers whose units share one base name are numbered; a vector field's H is a Jacobian."""
    m = Model(vector_field=["-a_0 + w*a_1", "-a_1"], cost="a_0**2/2", state=["a_0", "a_1"],
              params={"w": "0.5"}, layers=[1, 1, 1])
    text = describe(m)
    assert "  layer 0: 1 unit\n" in text and "  layer 1: 1 unit\n" in text
    assert "Jacobian H = -dF/ds (RBP's side network, paper 3.5): 2 x 2, 3 structural" in text
    assert "w: in F of 1 state variable, in layer 0" in text
    assert "    a_0 x|x\n        -+-\n    a_1 .|x" in text  # not symmetric


def test_hopfield_20_40_40_10_is_bounded(capsys):
    """100 state variables, 2,800 weights: a summary of bounded length (time: bench/RESULTS.md)."""
    out = text_of(["derive", "hopfield:20,40,40,10"], capsys)
    lines = out.splitlines()
    assert len(lines) < 120 and max(map(len, lines)) < 200
    assert "100 x 100 (symmetric), 4,900 structural non-zeros of 10,000" in out
    # blocks of H: a layer couples to itself on the diagonal only, and densely to its neighbours
    assert re.search(r"\n    s0 +20/400 +800/800 +0/800\n", out)
    assert re.search(r"\n    s1 +800/800 +40/1,600 +1,600/1,600\n", out)
    assert re.search(r"\n    s2 +0/800 +1,600/1,600 +40/1,600\n", out)
    assert "2,800 x 100, 5,200 structural non-zeros of 280,000" in out
    assert "W23_i_j, i = 0..39, j = 0..9 (400): each in dE/ds of 1 state variable, in layer s2" in out
    assert len(re.findall(r"\n  ds\d_\d+/dt = ", out)) == 3  # one per layer
    latex = text_of(["derive", "hopfield:20,40,40,10", "--latex"], capsys)
    assert len(latex.splitlines()) < 150


def test_no_layers_beyond_the_picture_draws_blocks():
    text = describe(quadratic(45))
    assert "each character a block of 2 x 2 entries: #: all non-zero" in text
    assert "    |#######################|" in text


def test_name_families():
    assert name_families(["s0_0", "s0_1", "W_0_1", "W_1_0", "a", "b"]) == \
        "s0_i, i = 0..1; W_0_1 .. W_1_0 (2); a, b"
    assert name_families([f"x{k}" for k in range(20)]).endswith("x7, ... (12 more)")


# -- --full ---------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["two-neurons", "paper"])
def test_full_lists_every_nonzero_of_the_hessian(spec, capsys):
    """--full prints each structural non-zero of H on one line, H[s_i, s_j] = ... (j >= i: the
    Hessian is symmetric), in SymPy's syntax: read back, each is the entry of sympy.hessian of
    the energy (at a random point, to 40 digits), and no other entry is printed."""
    model = load_model(spec)
    out = text_of(["derive", spec, "--full"], capsys)
    names = {x.name: x for x in (*model.state, *model.theta, *model.data_symbols)}
    printed = {}
    for ln in out.splitlines():
        m = re.fullmatch(r"  H\[(\w+), (\w+)\] = (.*)", ln)
        if m:
            printed[m.group(1), m.group(2)] = sp.sympify(m.group(3), locals=names)
    H = sp.hessian(model.energy, model.state)
    s = [x.name for x in model.state]
    expected = {(s[i], s[j]) for i in range(len(s)) for j in range(i, len(s)) if H[i, j] != 0}
    assert set(printed) == expected
    point = {x: sp.Rational(k % 7 - 3, 10) + sp.Rational(1, 37) for k, x in
             enumerate((*model.state, *model.theta, *model.data_symbols))}
    for (a, b), e in printed.items():
        i, j = s.index(a), s.index(b)
        assert abs(sp.N((e - H[i, j]).xreplace(point), 40)) < 1e-35, (a, b)


def test_full_lists_m_and_the_nudged_output_units(capsys):
    model = load_model("two-neurons")
    out = text_of(["derive", "two-neurons", "--full"], capsys)
    a, b = model.state
    w, = model.theta
    for ln, expected in (("M[w, a]", sp.diff(model.energy, w, a)),
                         ("M[w, b]", sp.diff(model.energy, w, b))):
        line = next(x for x in out.splitlines() if x.startswith(f"  {ln} = "))
        assert same(sp.sympify(line.split(" = ", 1)[1], locals={"a": a, "b": b}), expected)
    nudged = [x for x in out.splitlines() if x.startswith("  da/dt = ")][1]
    assert "beta*(a - y)" in nudged


# -- --latex --------------------------------------------------------------------------------

#: Commands of LaTeX2e and amsmath that the output may use (anything else fails the test, to be
#: checked by hand: a command from another package breaks the document).
ALLOWED = {
    "documentclass", "usepackage", "begin", "end", "section", "subsection", "par", "medskip",
    "text", "textbackslash", "ensuremath", "frac", "left", "right", "sum", "substack", "lim",
    "to", "infty", "partial", "bar", "tilde", "quad", "dots", "leq", "geq", "vee", "wedge",
    "sqrt", "log", "exp", "sin", "cos", "tan", "sinh", "cosh", "tanh", "operatorname", "min",
    "max", "lfloor", "rfloor", "lceil", "rceil", "cdot", "times", "mathrm", "odot",
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi",
    "Omega",
}
ENVIRONMENTS = {"document", "align*", "verbatim", "cases", "matrix"}

UNICODE = textwrap.dedent('''\
    name = "odd & 100% {braces} $x_1^2 #1 ~ \\\\ <α>"
    state = ["α", "b_1", "Ωx"]
    energy = "(α**2 + b_1**2 + Ωx**2)/2 - λ*tanh(α)*tanh(b_1) - x*Ωx"
    cost = "(α - y)**2/2"
    [params]
    "λ" = "0.3"
    [data]
    x = "0.5"
    y = "0.2"
''')


def check_latex(doc):
    """What can be checked without a LaTeX compiler."""
    assert doc.isascii()
    lines = doc.splitlines()
    body = [ln for ln in lines if not ln.startswith("%")]
    assert body[:3] == ["\\documentclass{article}", "\\usepackage{amsmath}", "\\begin{document}"]
    assert body[-1] == "\\end{document}"
    stack, verbatim, outside = [], False, []
    for ln in body:
        if verbatim:
            if ln == "\\end{verbatim}":
                verbatim = False
                stack.pop()
            continue
        for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", ln):
            assert env in ENVIRONMENTS, env
            if kind == "begin":
                stack.append(env)
            else:
                assert stack and stack.pop() == env, ln
        if ln == "\\begin{verbatim}":
            verbatim = True
            continue
        outside.append(ln)
    assert not stack and not verbatim
    text = "\n".join(outside)
    plain = re.sub(r"\\[{}$%&#_]", "", text)  # escaped characters
    depth = 0
    for c in plain:
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0
    assert depth == 0
    commands = set(re.findall(r"\\([A-Za-z]+)", text.replace("\\\\", " ")))  # not the row ends
    assert commands <= ALLOWED, commands - ALLOWED
    # $ only as $<$ / $>$ in text, never around whole equations
    assert plain.count("$") % 2 == 0
    rows = [r for b in re.findall(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", text, re.S)
            for r in b.split(" \\\\\n")]
    assert rows and all(r.count("&") - r.count("\\&") <= 1 for r in rows if "cases" not in r)
    return rows


def mathtext_rows(rows):
    """Each row that matplotlib's mathtext can read (not cases, not matrices) parses."""
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("agg")
    parsed = 0
    for r in rows:
        if "\\begin" in r:
            continue
        r = re.sub(r"\\ensuremath\{(\\[A-Za-z]+)\}", r"{\1}", r).replace("&", "")
        parser.parse(f"${r}$", dpi=72)
        parsed += 1
    return parsed


MODELS = ["paper", "two-neurons", "examples/asymmetric.toml", "hopfield:2,3,2:hardsigmoid",
          "quadratic:41", "hopfield:20,40,40,10"]


@pytest.mark.parametrize("spec", MODELS)
def test_latex_is_a_document(spec):
    model = load_model(spec)
    rows = check_latex(describe(model, latex=True, document=True))
    assert mathtext_rows(rows) >= 5
    if len(model.state) <= 8:
        check_latex(describe(model, latex=True, full=True, document=True))


@pytest.mark.parametrize("broken", [
    lambda doc: doc.replace("\\frac{", "\\frac{{", 1),            # an unbalanced brace
    lambda doc: doc.replace("\\end{document}", ""),                # no end
    lambda doc: doc.replace("\\sum", "\\mathbb{S}", 1),           # a command from amssymb
    lambda doc: doc.replace("\\end{align*}", "\\end{aligned}", 1),  # mismatched environments
    lambda doc: doc.replace("x_{", "\u03be_{", 1),                   # not ASCII
])
def test_the_latex_check_catches_broken_documents(broken):
    """Negative controls of check_latex."""
    doc = describe(load_model("paper"), latex=True, document=True)
    check_latex(doc)
    with pytest.raises(AssertionError):
        check_latex(broken(doc))


def test_latex_of_every_formula_function():
    for case in function_cases.CASES:
        model = function_cases.model(case)
        for full in (False, True):
            check_latex(describe(model, latex=True, full=full, document=True))


def test_latex_escapes_names_and_unicode(tmp_path, capsys):
    path = tmp_path / "odd.toml"
    path.write_text(UNICODE, encoding="utf-8")
    doc = text_of(["derive", str(path), "--latex"], capsys)
    rows = check_latex(doc)
    mathtext_rows(rows)
    assert "\\section*{eqprop derive: odd \\& 100\\% \\{braces\\} \\$x\\_1\\^{}2 \\#1" in doc
    assert "\\ensuremath{\\alpha}" in doc and "\\ensuremath{\\lambda}" in doc
    text = text_of(["derive", str(path)], capsys)
    assert "state s (3): α, b_1, Ωx" in text


def test_latex_is_the_summary_unless_full():
    paper = load_model("paper")
    summary = describe(paper, latex=True, document=True)
    full = describe(paper, latex=True, full=True, document=True)
    assert "\\sum_" in summary and "H_{" not in summary
    assert full.count("H_{") == 8 + 15  # the diagonal and the 15 couplings above it
    assert "\\begin{verbatim}" in summary and "\\begin{verbatim}" in full


@pytest.mark.parametrize("full", [False, True])
def test_latex_without_document_is_rows_for_a_notebook(full):
    """describe(latex=True) without document: one align* whose other lines are % comments; the
    rows left after dropping %, \\begin and \\end lines (what the notebooks render in an aligned
    block) are equations only, each parsed by mathtext."""
    text = describe(load_model("paper"), latex=True, full=full)
    lines = text.splitlines()
    assert lines[0] == "% eqprop derive: paper example: 2-3-3-2 Hopfield network, sigmoid"
    assert lines[1] == "\\begin{align*}" and lines[-1] == "\\end{align*}"
    rows = [ln for ln in lines if not ln.startswith(("%", "\\begin", "\\end"))]
    assert all("&" in r for r in rows) and not any("section" in r or "verbatim" in r for r in rows)
    assert all(r.endswith(" \\\\") for r in rows[:-1]) and not rows[-1].endswith("\\\\")
    document = ["\\documentclass{article}", "\\usepackage{amsmath}", "\\begin{document}",
                *lines, "\\end{document}"]
    check_latex("\n".join(document))  # it compiles inside a document
    assert mathtext_rows([r.removesuffix(" \\\\") for r in rows]) == len(rows)


# -- the command line's help; activations -------------------------------------------------------

def test_derive_help_explains_summary_full_and_latex(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["derive", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for fragment in ("summary", "--full", "--latex", "every structural non-zero of H and M",
                     "standalone LaTeX document", "first unit of each layer", "40 state"):
        assert fragment in " ".join(out.split()), fragment


def test_softplus_is_an_activation_for_hopfield_and_scale():
    from eqprop.proofs.scale_network import check_activation
    m = load_model("hopfield:2,2:softplus")
    assert "softplus" in m.name and m.energy.has(sp.log)
    check_activation("softplus")  # smooth, finite, rho'(0) != 0

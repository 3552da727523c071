"""Write the teaching notebooks (run once after editing; the .ipynb files are committed).

    python examples/notebooks/make_notebooks.py
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

NOTEBOOKS = {
    "1_two_neurons.ipynb": [
        ("md", "# 1. A two-neuron Hopfield network\n\nAn energy, its free dynamics "
               "ds/dt = -dE/ds, and the fixed point the network relaxes to. Everything below uses "
               "only the public API of `eqprop`."),
        ("code", "import eqprop\nmodel = eqprop.load_model('two-neurons')\nmodel.energy"),
        ("md", "The derived dynamics, Hessian and EP/RBP equations, as `eqprop derive "
               "two-neurons --latex` prints them (rendered here by IPython):"),
        ("code", "from IPython.display import Math\nfrom eqprop.symbolic.display import describe\n"
                 "latex = describe(model, latex=True)\n"
                 "body = [l for l in latex.splitlines() if not l.startswith(('%', '\\\\begin', '\\\\end'))]\n"
                 "Math('\\\\begin{aligned}' + '\\n'.join(body) + '\\\\end{aligned}')"),
        ("md", "The free phase: integrate the dynamics from the origin and watch the state settle."),
        ("code", "import numpy as np, matplotlib.pyplot as plt\nfrom scipy.integrate import solve_ivp\n"
                 "c = eqprop.compile_model(eqprop.derive(model))\n"
                 "theta, data = (np.array([float(v) for v in vals]) for vals in model.values())\n"
                 "sol = solve_ivp(lambda t, s: -c.dE_ds(s, theta, data), (0, 10), [0.0, 0.0], dense_output=True)\n"
                 "t = np.linspace(0, 10, 200)\nplt.plot(t, sol.sol(t).T); plt.xlabel('t'); plt.legend(['a', 'b']);\n"
                 "s0 = sol.y[:, -1]; print('fixed point', s0, 'residual', np.abs(c.dE_ds(s0, theta, data)).max())"),
        ("code", "H = c.d2E_ds2(s0, theta, data)\nprint('Hessian eigenvalues', np.linalg.eigvalsh(H), '-> a minimum')"),
    ],
    "2_recurrent_backprop.ipynb": [
        ("md", "# 2. Recurrent backpropagation and Theorem 1\n\nRBP's side network integrates "
               "d/dt Sbar = -H Sbar from Sbar_0 = dC/ds, and Thetabar_t tends to dJ/dtheta (paper 3.5-3.8)."),
        ("code", "import eqprop\nreport = eqprop.verify('two-neurons', dps=30)\n"
                 "print('\\n'.join(l for l in report.table().splitlines() if 'T1' in l or 'verdict' in l))"),
        ("md", "The integrated adjoint agrees with `expm(-tH)` and with the definition 3.3 (the "
               "derivative of the projected cost along the nonlinear flow) to the working precision. "
               "The limit is the implicit-function gradient:"),
        ("code", "for k in ('implicit', 'rbp_limit'):\n    print(f'{k:>10}', report.dJ_dtheta[k][0])"),
    ],
    "3_equilibrium_prop.ipynb": [
        ("md", "# 3. Equilibrium propagation and Theorem 2\n\nEP nudges the network towards the "
               "target with strength beta and reads the gradient from the change of dE/dtheta. "
               "A finite beta is biased: O(beta) one-sided, O(beta^2) symmetric (paper 4.4)."),
        ("code", "import eqprop\nfrom eqprop.figures import beta_bias\n"
                 "report = eqprop.verify('paper', dps=30, times=[0, 1])\nbeta_bias(report);"),
        ("code", "[(c.id, c.limit) for c in report.checks if c.id.startswith('T2')]"),
    ],
    "4_theorem3.ipynb": [
        ("md", "# 4. Theorem 3: temporal derivatives are error derivatives\n\nDuring EP's nudged "
               "phase, the rate of change of every neuron equals (up to -1/beta) RBP's error "
               "derivative at the same time (paper 5.4, 5.5). Watch both in time:"),
        ("code", "import eqprop\nfrom eqprop.figures import theorem3_states, truncation\n"
                 "times = [0.5 * k for k in range(25)]\n"
                 "report = eqprop.verify('paper', dps=30, times=times)\ntheorem3_states(report);"),
        ("md", "Stopping the nudged phase at time t is truncated RBP: the gradient error decays "
               "like exp(-lambda_min t)."),
        ("code", "truncation(report);"),
    ],
    "5_your_own_energy.ipynb": [
        ("md", "# 5. Your own energy, and where the theorem breaks\n\nWrite any energy as a "
               "formula; eqprop derives, compiles and verifies it."),
        ("code", "import eqprop\nmine = eqprop.Model(\n"
                 "    energy='(a**2 + b**2 + c**2)/2 - w*tanh(a)*tanh(b) - u*sin(b - c) - x*c',\n"
                 "    cost='(a - y)**2/2', state=['a', 'b', 'c'],\n"
                 "    params={'w': '0.4', 'u': '0.2'}, data={'x': '0.3', 'y': '0.1'})\n"
                 "report = eqprop.verify(mine, dps=25, times=[0, 1, 3])\nprint(report.verdict.value)"),
        ("md", "Now dynamics that are not the gradient of any energy (asymmetric couplings): "
               "RBP still works, EP's temporal derivatives no longer equal RBP's."),
        ("code", "asym = eqprop.Model(vector_field=['-a + w*tanh(b)', '-b + u*tanh(a) + x'],\n"
                 "    cost='(a - y)**2/2', state=['a', 'b'], params={'w': '0.5', 'u': '-0.3'},\n"
                 "    data={'x': '0.2', 'y': '0.1'})\nr = eqprop.verify(asym, dps=25, times=[0, 1, 3])\n"
                 "print(r.verdict.value)\n"
                 "sorted({c.id: c.passed for c in r.checks if c.id in ('KBE', 'T1.S', 'T3.S', 'T2')}.items())"),
    ],
}


def main():
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                                 for kind, src in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    main()

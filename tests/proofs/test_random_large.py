"""Random smooth energies with 20 to 100 states verify on both engines (issue 12).

The held-out style of check at the sizes the high-precision path was made
fast for: a strongly convex part plus tanh / sin / Gaussian bumps of random
sparse combinations of the state (three states each), each weight at most
0.1, so that H stays positive definite; a cost on the first and last
states, one term depending on theta. Every row must reach the digits it
reaches at small sizes (the report's cap, dps, on this family), not merely
the required dps - 5. Seeded; the seed is printed.
"""

import random

import pytest

from eqprop import Model, Verdict, verify

SEED = 20261207
FUNCS = ["tanh({})", "sin({})", "exp(-({})**2/2)"]


def random_energy(n, seed):
    rng = random.Random(f"{SEED}:{n}:{seed}")
    names = [f"s{i}" for i in range(n)]
    terms = [f"3*({' + '.join(f'{v}**2' for v in names)})/2"]
    params = {}
    for k in range(n):
        picked = rng.sample(names, 3)
        combo = " + ".join(f"({rng.choice([-1, 1])})*{v}" for v in picked)
        w = f"w{k}"
        params[w] = str(rng.randint(-100, 100) / 1000)
        terms.append(f"{w}*" + rng.choice(FUNCS).format(combo))
    terms.append(f"-x*{names[-1]}")
    cost = f"({names[0]} - y)**2/2 + w0**2*{names[-1]}/4"
    return Model(energy=" + ".join(terms), cost=cost, state=names, params=params,
                 data={"x": str(rng.randint(-500, 500) / 1000), "y": str(rng.randint(-500, 500) / 1000)})


@pytest.mark.parametrize("n,seed", [(20, 0), (20, 1), (40, 0)])
def test_random_energies_with_tens_of_states_verify(n, seed, engine):
    print("seed", SEED, "n", n, "draw", seed)
    r = verify(random_energy(n, seed), dps=30, engine=engine)
    assert r.verdict is Verdict.VERIFIED, (r.verdict, r.notes)
    assert r.min_digits >= 29.5, [(c.id, c.t, c.digits) for c in r.checks if c.digits < 29.5]


@pytest.mark.slow
def test_a_random_energy_with_100_states_verifies():
    print("seed", SEED, "n", 100, "draw", 0)
    r = verify(random_energy(100, 0), dps=30, engine="gbs")
    assert r.verdict is Verdict.VERIFIED, (r.verdict, r.notes)
    assert r.min_digits >= 29.5, [(c.id, c.t, c.digits) for c in r.checks if c.digits < 29.5]

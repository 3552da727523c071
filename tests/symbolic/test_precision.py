"""symbolic/precision.py: the working precision is entered, restored, and one thread's alone."""

import threading
import time

import flint
import mpmath

from eqprop.symbolic.precision import Precision, arb_bits, bits_of, working


def test_working_sets_and_restores_mpmath_precision():
    before = mpmath.mp.dps
    with working(before + 37):
        assert mpmath.mp.dps == before + 37
        with working(before + 70):  # nested, as a finer stage inside a coarser one
            assert mpmath.mp.dps == before + 70
        assert mpmath.mp.dps == before + 37
    assert mpmath.mp.dps == before


def test_arb_bits_sets_and_restores_flint_precision():
    before = flint.ctx.prec
    with arb_bits(before + 100):
        assert flint.ctx.prec == before + 100
    assert flint.ctx.prec == before


def test_precision_restores_on_error():
    before = mpmath.mp.dps, flint.ctx.prec
    try:
        with Precision(90).working(), Precision(90).arb(20):
            raise ValueError("stop")
    except ValueError:
        pass
    assert (mpmath.mp.dps, flint.ctx.prec) == before


def test_precision_value():
    p = Precision(60, reported=50)
    assert p.guard == 10 and p.bits == bits_of(60)
    with p.working(extra=5):
        assert mpmath.mp.dps == 65
    with p.arb(20):
        assert flint.ctx.prec == bits_of(60) + 20


def test_another_thread_cannot_change_a_running_precision():
    """A thread that enters another precision waits until this one's block ends: the digits
    this thread computes with stay its own throughout."""
    seen, entered = [], threading.Event()

    def other():
        entered.set()
        with working(15):
            seen.append(("other", mpmath.mp.dps))
    with working(80):
        thread = threading.Thread(target=other)
        thread.start()
        entered.wait(5)
        for _ in range(20):  # the other thread is blocked, not changing ours
            time.sleep(0.01)
            seen.append(("main", mpmath.mp.dps))
    thread.join(5)
    assert all(d == 80 for who, d in seen if who == "main")
    assert ("other", 15) in seen and seen[-1] == ("other", 15)

"""eqprop.proofs: the theorems of Scellier & Bengio (2019), stated and checked.

One module per theorem (``kbe``, ``theorem1``, ``theorem2``, ``theorem3``),
each with ``check(problem) -> TheoremResult``; :func:`verify` runs them all.
"""
from .report import Assumption, Check, Report, TheoremResult, Verdict, VerificationFailed
from .verify import ENGINES, verify

__all__ = ["verify", "ENGINES", "Report", "Check", "Assumption", "Verdict", "TheoremResult",
           "VerificationFailed"]

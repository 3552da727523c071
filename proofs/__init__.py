"""eqprop.proofs: the theorems of Scellier & Bengio (2019), stated and checked.

One module per theorem (``kbe``, ``theorem1``, ``theorem2``, ``theorem3``),
each with ``check(problem, **sides) -> TheoremResult`` comparing two named
sides from :mod:`~eqprop.proofs.quantities`; :func:`verify` runs them all.
:mod:`~eqprop.proofs.mutations` corrupts one ingredient of a problem, for
negative controls. :func:`estimators` measures EP's gradient estimators against
the exact gradient.
"""
from .options import ENGINES
from .report import (REQUIRED_ROWS, Assumption, Check, Report, TheoremResult, Verdict,
                     VerificationFailed)
from .verify import verify
from .estimators import EstimatorReport, estimators

__all__ = ["verify", "estimators", "EstimatorReport", "ENGINES", "Report", "Check", "Assumption", "Verdict", "TheoremResult",
           "VerificationFailed", "REQUIRED_ROWS"]

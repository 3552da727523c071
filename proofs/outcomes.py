"""Typed outcomes: how a row, a hypothesis or a stage ended, combined as values.

Every stage of a run (``verify`` and ``scale`` alike) reports what it found
as :class:`Finding` values: an :class:`Outcome` and the sentence a user reads.
The verdict is the worst outcome found (``max``), mapped to a verdict by the
caller; it is never read back from the text of a note.

The order is the verdict's precedence, lowest first:

``PASSED``
    every row reached its required digits.
``MISSING``
    a row was not produced or had nothing to compare (every term zero), or a
    budget stopped a stage: no evidence either way ('incomplete').
``OUTSIDE``
    every row passed, but a hypothesis the rows do not see fails (an asymmetric
    block the cost never reaches): agreement outside the hypotheses is not a
    verification ('assumption violated').
``FAILED``
    a row missed its required digits ('not verified').
``UNDECIDED``
    a hypothesis this tool could not decide (an eigenvalue within rounding of
    zero): a failed row could be that hypothesis failing, so it outranks
    ``FAILED`` ('incomplete').
``VIOLATED``
    a hypothesis of the theorems does not hold ('assumption violated').
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Outcome", "Finding", "worst", "Stop"]


class Outcome(enum.IntEnum):
    """How something ended; a larger value outranks a smaller one in the verdict."""

    PASSED = 0
    MISSING = 1
    OUTSIDE = 2
    FAILED = 3
    UNDECIDED = 4
    VIOLATED = 5


@dataclass(frozen=True)
class Finding:
    """One outcome and the sentence that explains it to a user."""

    outcome: Outcome
    reason: str = ""


def worst(findings):
    """The finding that decides a verdict: the first of the highest outcome, or ``None``
    for no findings (the caller's 'passed')."""
    best = None
    for f in findings:
        if best is None or f.outcome > best.outcome:
            best = f
    return best


class Stop(Exception):
    """A hypothesis needed to go on does not hold (or cannot be decided): the pipeline
    stops here. Raised by a stage with the :class:`~.report.Assumption` that says why;
    caught in one place, :func:`~.problem.prepare`."""

    def __init__(self, assumption, notes=()):
        super().__init__(assumption.message)
        self.assumption = assumption
        self.notes = tuple(notes)  # what the stage had to say before it stopped

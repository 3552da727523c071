"""proofs/outcomes.py and the verdict built from typed findings (proofs/verify.py)."""

import pytest

from eqprop.proofs.outcomes import Finding, Outcome, Stop, worst
from eqprop.proofs.report import Assumption, Check, Verdict
from eqprop.proofs.verify import VERDICTS, decide, Record, assumption_findings, completeness
from eqprop.proofs.report import REQUIRED_ROWS


def _check(id, digits=30.0, testable=True):
    return Check(id=id, equation="", t=0.5, max_abs_error=0, scale=1, digits=digits,
                 required=15, limit="", testable=testable)


def _all_rows(**changes):
    return [_check(r, **changes.get(r, {})) for r in REQUIRED_ROWS]


def test_worst_takes_the_highest_outcome_and_the_first_of_it():
    a, b, c = Finding(Outcome.MISSING, "a"), Finding(Outcome.FAILED, "b"), \
        Finding(Outcome.FAILED, "c")
    assert worst([a, b, c]) is b and worst([]) is None


def test_every_outcome_has_a_verdict_in_the_documented_order():
    assert list(Outcome) == sorted(Outcome)
    assert [VERDICTS[o] for o in Outcome] == [
        Verdict.VERIFIED, Verdict.INCOMPLETE, Verdict.ASSUMPTION_VIOLATED, Verdict.NOT_VERIFIED,
        Verdict.INCOMPLETE, Verdict.ASSUMPTION_VIOLATED]


@pytest.mark.parametrize("assumption,expected", [
    (Assumption("x", True, "", "holds"), None),
    (Assumption("x", False, "", "violated"), Outcome.VIOLATED),
    (Assumption.limit("x", False, "", "undecided"), Outcome.UNDECIDED),
    (Assumption("x", False, "", "asymmetric", fatal=False), Outcome.OUTSIDE),
])
def test_an_assumption_has_one_outcome(assumption, expected):
    found = assumption_findings([assumption], rows_ran=True)
    assert [f.outcome for f in found] == ([] if expected is None else [expected])
    # before any row ran, a hypothesis the rows would not see decides nothing
    if expected is Outcome.OUTSIDE:
        assert assumption_findings([assumption], rows_ran=False) == []


def test_a_row_below_its_digits_fails_and_an_untestable_required_row_is_missing():
    assert _check("T2", digits=3).outcome is Outcome.FAILED
    assert _check("T2").outcome is Outcome.PASSED
    assert completeness(_all_rows(), [0, 1]) == []
    missing = completeness(_all_rows()[1:], [0, 1])
    assert [f.outcome for f in missing] == [Outcome.MISSING] and REQUIRED_ROWS[0] in missing[0].reason
    untested = completeness(_all_rows(T2={"testable": False}), [0, 1])
    assert [f.outcome for f in untested] == [Outcome.MISSING] and "T2" in untested[0].reason
    assert "no t > 0" in completeness(_all_rows()[1:], [0])[0].reason


def test_the_verdict_reads_findings_never_notes():
    """A note that reads like an outcome changes nothing; a finding does."""
    record = Record(["incomplete: this note is only text", "T1.limit skipped"])
    rows = [Finding(c.outcome, c.id) for c in _all_rows()]
    assert decide(rows, record) is Verdict.VERIFIED
    assert decide(rows, record, pending=[Finding(Outcome.MISSING, "no row for X")]) \
        is Verdict.INCOMPLETE and record.notes[-1] == "incomplete: no row for X"
    undecided = Finding(Outcome.UNDECIDED, "an eigenvalue within rounding of zero")
    failed = Finding(Outcome.FAILED, "T2")
    assert decide([failed, undecided], Record()) is Verdict.INCOMPLETE
    assert decide([failed, Finding(Outcome.OUTSIDE, "x")], Record()) is Verdict.NOT_VERIFIED
    assert decide([Finding(Outcome.VIOLATED, "saddle"), undecided], Record()) \
        is Verdict.ASSUMPTION_VIOLATED


def test_stop_carries_its_assumption_and_notes():
    a = Assumption.limit("informative grid", False, "", "the grid ends too early")
    stop = Stop(a, notes=["the default grid stops early"])
    assert stop.assumption is a and stop.notes == ("the default grid stops early",)
    assert str(stop) == "the grid ends too early"

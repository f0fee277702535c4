"""The readout's headline sentence says which analyses decided: never "agree" with one alone."""

import pytest

from bayeslab.readout.verdicts import verdict_and_head


@pytest.mark.parametrize("b, f, verdict, words", [
    ("ship", "ship", "ship", "the analyses agree that m improved"),
    ("ship", None, "ship", "the Bayesian analysis finds m improved (alone: there is no "
                           "frequentist counterpart"),
    (None, "do not ship", "do not ship", "the frequentist analysis finds m worse (alone: there "
                                         "is no Bayesian counterpart"),
    ("inconclusive", None, "inconclusive", "the Bayesian analysis is not sure m moved (alone"),
    ("ship", "inconclusive", "inconclusive", "the analyses disagree"),
])
def test_head_names_the_analyses_that_decided(b, f, verdict, words):
    got, head = verdict_and_head("m", None, b, f, ())
    assert got == verdict and words in head
    assert ("analyses agree" in head) == (b is not None and f is not None and b == f)

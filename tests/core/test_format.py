"""bayeslab.core.format: one place for numbers, units and probabilities; known strings."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayeslab.core import format as fmt


@pytest.mark.parametrize(("p", "q", "text"), [
    (0.9731, None, "0.9731"),
    (1.0, 1.6e-27, "1 - 1.6e-27"),              # a double holds 1.0; the tail says how far
    (1.5e-05, None, "1.5e-05"),
    (0.5, 0.5, "0.5000"),
    (1.0, 0.0, "1 - <1e-300"),                 # past what the kernel resolves: a bound
    (0.0, 1.0, "<1e-300"),
    (None, None, "n/a"),
    (float("nan"), None, "n/a"),
])
def test_prob(p, q, text):
    assert fmt.prob(p, q) == text


@given(st.floats(min_value=0, max_value=1, exclude_min=True, exclude_max=True))
def test_prob_is_never_printed_as_one_or_zero(p):
    text = fmt.prob(p, 1 - p)
    assert text not in ("1", "0", "1.0", "0.0", "1.0000", "0.0000")
    assert not text.startswith("1.000") or text.startswith("1 - ")


def test_prob_draws():
    assert fmt.prob_draws(1.0, 2000) == "> 0.9995 (every one of 2,000 draws)"
    assert fmt.prob_draws(0.0, 2000) == "< 0.0005 (none of 2,000 draws)"
    assert fmt.prob_draws(0.25, 2000) == "0.2500"


@pytest.mark.parametrize(("v", "text"), [
    (10_000, "10,000"), (1e4, "10,000"), (12345.6, "12,346"), (9.7023, "9.702"),
    (0.0001234, "0.0001234"), (-43.42, "-43.42"), (0, "0"), (2.5e-7, "2.500e-07"),
    (float("nan"), "n/a"), (1_234_567.0, "1,234,567"),
])
def test_number_has_separators_and_no_exponent_in_range(v, text):
    assert fmt.number(v) == text


def test_units():
    assert fmt.pp(0.038) == "+3.800 pp"
    assert fmt.pp(-0.0042) == "-0.420 pp"
    assert fmt.pct(0.2206) == "+22.06%"
    assert fmt.rate(0.1724) == "17.240%"
    assert fmt.count(25000.0) == "25,000"
    assert fmt.amount(9.7023, "EUR") == "+9.702 EUR"
    assert fmt.amount(43.42, "EUR", sign=False) == "43.42 EUR"
    assert fmt.ratio(0.87149) == "0.8715"


@pytest.mark.parametrize(("effect", "kind", "unit", "value", "text"), [
    ("absolute", "conversion", None, 0.038, "+3.800 pp"),     # never "+3.800%" for pp
    ("relative", "conversion", None, 0.2206, "+22.06%"),
    ("absolute", "continuous", "EUR", 9.702, "+9.702 EUR"),
    ("absolute", "count", "songs", 3.0348, "+3.035 songs"),
    ("hazard-ratio", "retention", None, 0.87149, "0.8715"),
    ("absolute", "ratio", None, 0.0123, "+1.230 pp"),
])
def test_effect_by_kind(effect, kind, unit, value, text):
    assert fmt.effect(value, effect, kind, unit) == text


def test_interval_writes_the_unit_once():
    assert fmt.interval(0.03111, 0.04489, "absolute", "conversion") == "[+3.111, +4.489] pp"
    assert fmt.interval(9.052, 10.35, "absolute", "continuous", "EUR") == "[+9.052, +10.35] EUR"
    assert fmt.interval(0.177, 0.2655, "relative", "conversion") == "[+17.70%, +26.55%]"
    assert fmt.axis_label("absolute", "conversion") == "percentage points"
    assert fmt.axis_label("absolute", "continuous", "EUR") == "EUR"
    assert fmt.axis_scale("absolute", "conversion") == 100


def test_priors_in_words():
    from bayeslab.bayes.segments import SegmentPriors

    text = fmt.prior(SegmentPriors())
    assert "Normal(0, 0.5) on the treatment effect (log-odds)" in text
    assert "centred on the data" in text
    assert "None" not in text and "{" not in text
    assert fmt.prior({"distribution": "Beta", "alpha": 1.0, "beta": 1.0}) == "Beta(1, 1)"
    assert fmt.prior((2, 20)) == "Beta(2, 20)"
    assert fmt.prior({"mean": 0.0, "count": 0.0, "shape": -0.5, "rate": 0.0,
                      "name": "jeffreys"}) == "Jeffreys prior (mean 0, count 0, shape -0.5, rate 0)"
    words = fmt.prior({"log_hr": "Normal(0, 1.0)", "baseline_shape": 0.01, "baseline_rate": 0.0})
    assert "Normal(0, 1.0) on the log hazard ratio" in words
    assert "Gamma(0.01, 0) on the baseline hazard" in words
    regression = {"effect_scale_in_sigma": None, "effect_mean": 0.0, "sigma2_shape": 0.0,
                  "sigma2_rate": 0.0, "flat": ["control_mean", "slope", "effect[1]"]}
    assert fmt.prior(regression) == ("flat on control_mean, slope, effect[1]; 1/sigma^2 "
                                     "(Jeffreys) on the residual variance")
    assert fmt.prior({"dist": "Normal", "mu": None, "sigma": 1.5}) == \
        "Normal(centred on the data, 1.5)"


def test_segment_label_names_the_columns():
    cols = ("ps_plus_member", "spend_tier")
    assert fmt.segment_label("1 x S4_vhigh", cols) == "ps_plus_member=1 x spend_tier=S4_vhigh"
    assert fmt.segment_label("mobile", ("device",)) == "device=mobile"
    assert fmt.segment_label("a=1", cols) == "a=1"
    assert fmt.segment_label("odd", cols) == "odd"


def test_versus_never_prints_a_failure_as_equal():
    assert fmt.versus(1.0104, 1.01) == ("1.0104", "1.01")
    assert fmt.versus(1.0100001, 1.01)[0] != "1.01"
    assert fmt.versus(1.2, 1.01) == ("1.2", "1.01")


def test_diagnostic_reason_does_not_round_a_failure_away():
    from bayeslab.inference.diagnostics import _lower, _upper

    assert _upper("r_hat", 1.0104, 1.01, "fail", "R-hat").reason == "R-hat 1.0104 > 1.01"
    assert _lower("ess_bulk", 399.99, 400, "fail", "ESS").reason == "ESS 399.99 < 400"


def test_one_line():
    assert fmt.one_line("a\n  b\tc") == "a b c"
    assert not math.isnan(len(fmt.one_line("")))


def test_p_value_that_underflowed_is_a_bound_not_zero():
    from scipy import stats

    from bayeslab.core import format as fmt

    assert stats.norm.sf(40) * 2 == 0.0  # the double underflows beyond z of about 37
    assert fmt.p_value(0.0) == "<1e-300"
    assert fmt.p_value(3.46e-27) == "3.46e-27"
    assert fmt.p_value(None) == "n/a"


def test_prob_is_says_equals_or_the_bound_draws_allow():
    from bayeslab.core.format import prob_is

    assert prob_is(0.97, 0.03) == "= 0.9700"
    assert prob_is(1.0, 0.0, 2000) == "> 0.9995 (every one of 2,000 draws)"
    assert prob_is(0.0, 1.0, 2000) == "< 0.0005 (none of 2,000 draws)"
    assert prob_is(0.5, 0.5, 2000) == "= 0.5000"

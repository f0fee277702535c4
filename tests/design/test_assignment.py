"""Salted md5 assignment: notebook 003 convention, reproducibility, shares, uniformity."""

import hashlib
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare

from bayeslab.core.errors import DataError
from bayeslab.design.assignment import assign, bucket, check_uniformity, hash_fraction

SALT = "luckin_homepage_low_price_alert_v1"


def _notebook_003(uid, salt=SALT, split_b=0.5):
    """assign_group_by_hash from notebook 003, verbatim logic."""
    h = hashlib.md5(f"{uid}_{salt}".encode()).hexdigest()
    u = int(h[:8], 16) / 16**8
    return "B" if u < split_b else "A"


def test_reproduces_notebook_003():
    ids = np.arange(1, 3001)
    ours = assign(ids, SALT, arms=("B", "A"), shares=(0.5, 0.5))
    assert list(ours) == [_notebook_003(i) for i in ids]


def test_reproducible_and_series_index():
    ids = pd.Series([f"user-{i}" for i in range(500)], index=range(1000, 1500))
    a, b = assign(ids, "exp1"), assign(ids, "exp1")
    assert isinstance(a, pd.Series) and a.index.equals(ids.index)
    assert a.equals(b)


def test_shares_within_binomial_tolerance():
    """100,000 ids at 90/10: each arm's share is within 4 binomial sd (0.0012) of plan."""
    n = 100_000
    arms = assign(np.arange(n), "ramp", arms=("control", "treatment"), shares=(0.9, 0.1))
    share = np.mean(arms == "treatment")
    assert share == pytest.approx(0.1, abs=4 * math.sqrt(0.09 / n))
    three = assign(np.arange(n), "x", arms=("a", "b", "c"), shares=(0.2, 0.3, 0.5))
    for label, p in zip("abc", (0.2, 0.3, 0.5), strict=True):
        assert np.mean(three == label) == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))


def test_uniformity_on_100k_ids():
    """md5 buckets of 100,000 ids are uniform: chi-square p-value not tiny (> 0.001), and equal
    to scipy's chisquare on the bucket counts."""
    ids = np.arange(100_000)
    res = check_uniformity(ids, SALT, buckets=100)
    assert res.p_value > 0.001
    counts = np.bincount(bucket(ids, SALT, 100), minlength=100)
    assert res.chi2 == pytest.approx(chisquare(counts).statistic, rel=1e-12)
    assert res.df == 99 and "buckets" in str(res) and res.to_dict()["n"] == 100_000


def test_different_salt_reshuffles():
    """Two salts agree on about half the units (independent 50/50 splits): 20,000 ids,
    agreement within 4 sd (0.014) of 0.5."""
    ids = np.arange(20_000)
    a, b = assign(ids, "salt-a"), assign(ids, "salt-b")
    assert np.mean(a == b) == pytest.approx(0.5, abs=4 * math.sqrt(0.25 / ids.size))
    u = hash_fraction(ids, "salt-a")
    assert u.min() >= 0 and u.max() < 1


def test_bucket_range():
    b = bucket(np.arange(5000), "s", 10_000)
    assert b.min() >= 0 and b.max() < 10_000 and b.dtype == np.int64


@pytest.mark.parametrize("call,match", [
    (lambda: assign([1, 2], ""), "salt"),
    (lambda: assign("abc", "s"), "sequence"),
    (lambda: assign([1, None], "s"), "missing"),
    (lambda: assign([1, 2], "s", shares=(0.6, 0.6)), "sum to 1"),
    (lambda: assign([1, 2], "s", arms=("a", "a")), "distinct"),
    (lambda: bucket([1, 2], "s", 1), "buckets"),
    (lambda: check_uniformity(range(10), "s", 100), "too few"),
])
def test_errors(call, match):
    with pytest.raises(DataError, match=match):
        call()

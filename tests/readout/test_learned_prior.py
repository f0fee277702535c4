"""A metric read out under a prior learned from past experiments (prior = "library")."""

import math
from dataclasses import dataclass

import numpy as np
import pytest

from bayeslab.bayes.history_prior import EffectPrior
from bayeslab.readout.metric import compare


@dataclass
class FixedHistory:
    """A learned distribution fixed at N(mu, tau): the conjugate case, in closed form."""

    mu: float
    tau: float
    family: str = "normal"
    n_experiments: int = 37
    shipped_impact = None
    loo = None
    diagnostics = None

    @property
    def mean(self):
        return self.mu

    @property
    def sd(self):
        return self.tau

    @property
    def params(self):
        return {"mu": {"mean": self.mu}, "tau": {"mean": self.tau}}

    def prior_spec(self):
        return EffectPrior.normal(self.mu, self.tau)


def _rows(seed=1, n=6000, p=(0.10, 0.11)):
    import pandas as pd

    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "treatment"], n)
    y = (rng.random(2 * n) < np.where(arm == "control", *p)).astype(int)
    return pd.DataFrame({"arm": arm, "y": y})


def test_the_headline_is_the_conjugate_posterior_under_the_learned_prior():
    from scipy import stats

    hist = FixedHistory(mu=0.002, tau=0.004)
    r = compare(_rows(), arm="arm", metric="y", control="control", effect_prior=hist)
    b, f = r.headline_estimates()
    assert b.method == "bayes-library" and b.effect == "absolute"
    se = (f.upper - f.lower) / (2 * stats.norm.ppf(0.5 + f.level / 2))
    prec = 1 / hist.tau**2 + 1 / se**2
    mean = (hist.mu / hist.tau**2 + f.estimate / se**2) / prec
    sd = math.sqrt(1 / prec)
    assert b.estimate == pytest.approx(mean, rel=1e-9, abs=1e-12)
    z = stats.norm.ppf(0.5 + b.level / 2)
    assert b.lower == pytest.approx(mean - z * sd, abs=1e-7)
    assert b.upper == pytest.approx(mean + z * sd, abs=1e-7)
    assert b.prob_positive == pytest.approx(stats.norm.cdf(mean / sd), abs=1e-9)
    # shrunk towards the prior mean: between it and the experiment's own estimate
    assert min(hist.mu, f.estimate) < b.estimate < max(hist.mu, f.estimate)
    text = r.decision.text
    assert "fitted to 37 past experiments of this metric" in text
    assert "mu = +0.200 pp, tau = 0.400 pp" in text             # in the metric's unit
    assert any("37 past experiments" in w for w in r.warnings)


def test_a_hazard_ratio_metric_refuses_the_learned_prior():
    from bayeslab.core.errors import ModelError
    from bayeslab.scenarios import simulate

    sc = simulate("musicstream", rows=4000, seed=1)
    roles = sc.roles
    with pytest.raises(ModelError, match="prior on the absolute effect"):
        compare(sc.data, arm=roles["arm"], metric="churned", kind="retention",
                duration="days_active", event="churned", effect_prior=FixedHistory(0, 1))


def test_effect_prior_must_be_a_fitted_distribution():
    from bayeslab.core.errors import ModelError

    with pytest.raises(ModelError, match="effect_prior"):
        compare(_rows(), arm="arm", metric="y", effect_prior=(0, 1))

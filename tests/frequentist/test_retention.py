import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from bayeslab.core.errors import DataError
from bayeslab.data.survival import SurvivalRows, survival_rows
from bayeslab.frequentist.retention import kaplan_meier, logrank_parts


def churn(n=3000, seed=0, hr=0.8, arms=2):
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, arms, n)
    scale = 30 * np.where(arm > 0, hr ** (-1 / 1.3), 1.0)
    t = np.ceil(rng.weibull(1.3, n) * scale)  # whole days: ties, as in real retention data
    c = np.ceil(rng.uniform(0, 60, n))
    return SurvivalRows.from_arrays(arm, np.minimum(t, c), (t <= c).astype(int))


def _product_limit(t, e):
    times = np.unique(t[e == 1])
    s, out = 1.0, []
    for u in times:
        s *= 1 - np.sum((t == u) & (e == 1)) / np.sum(t >= u)
        out.append(s)
    return times, np.array(out)


def test_kaplan_meier_equals_statsmodels_and_product_limit():
    rows = churn()
    res = kaplan_meier(rows, horizon=20)
    for i, arm in enumerate(rows.arms):
        m = rows.arm_index == i
        sf = SurvfuncRight(rows.duration[m], rows.event[m])
        curve = res.curves[arm]
        np.testing.assert_allclose(curve["survival"], sf.surv_prob, rtol=1e-12)
        np.testing.assert_allclose(curve["se"], sf.surv_prob_se, rtol=1e-12)
        times, s = _product_limit(rows.duration[m], rows.event[m])
        np.testing.assert_allclose(curve["time"], times)
        np.testing.assert_allclose(curve["survival"], s, rtol=1e-12)
        assert np.all(curve["lower"] <= curve["survival"] + 1e-15)


def test_logrank_equals_statsmodels():
    rows = churn(arms=3, seed=4)
    res = kaplan_meier(rows)
    for i, r in enumerate(res.comparisons.itertuples(), start=1):
        m = (rows.arm_index == 0) | (rows.arm_index == i)
        g = (rows.arm_index[m] == i).astype(int)
        chisq, p = survdiff(rows.duration[m], rows.event[m], g)
        assert r.chisq == pytest.approx(chisq, rel=1e-10)
        assert r.p_value == pytest.approx(p, rel=1e-10)
        o, e, v = logrank_parts(rows.duration[m], rows.event[m], g)
        assert (o - e) ** 2 / v == pytest.approx(chisq, rel=1e-10)


def test_peto_hazard_ratio_close_to_cox():
    rows = churn(n=6000, seed=1)
    res = kaplan_meier(rows).comparisons.iloc[0]
    fit = sm.PHReg(rows.duration, rows.arm_index.astype(float), status=rows.event,
                   ties="efron").fit()
    assert np.log(res["hr"]) == pytest.approx(fit.params[0], abs=0.1 * fit.bse[0])
    assert res["hr_lower"] < 0.8 < res["hr_upper"]


def test_horizon_difference_and_estimates():
    rows = churn(seed=2)
    res = kaplan_meier(rows, horizon=30)
    methods = [(e.method, e.effect) for e in res.estimates()]
    assert methods == [("log-rank", "hazard-ratio"), ("kaplan-meier", "survival-difference")]
    c = res.comparisons.iloc[0]
    s1 = res.curves["1"]["survival"][res.curves["1"]["time"] <= 30].iloc[-1]
    s0 = res.curves["0"]["survival"][res.curves["0"]["time"] <= 30].iloc[-1]
    assert c["surv_diff"] == pytest.approx(s1 - s0, rel=1e-12)


def test_survival_rows_validation():
    df = pd.DataFrame({"arm": [0, 0, 1, 1], "days": [3.0, -1.0, 2.0, 5.0], "churned": [1, 0, 1, 1]})
    with pytest.raises(DataError, match="non-negative"):
        survival_rows(df, arm="arm", duration="days", event="churned")
    df = pd.DataFrame({"arm": [0, 0, 1, 1], "days": [3.0, 1.0, 2.0, 5.0], "churned": [1, 2, 1, 1]})
    with pytest.raises(DataError, match="0 or 1"):
        survival_rows(df, arm="arm", duration="days", event="churned")
    df = pd.DataFrame({"arm": [0, 0, 1, 1], "days": [3.0, 1.0, 2.0, 5.0], "churned": [0, 0, 1, 1]})
    with pytest.raises(DataError, match="no events"):
        kaplan_meier(survival_rows(df, arm="arm", duration="days", event="churned"))

"""Scenario generators: determinism, notebook structure, and recovery of the stated truths.

Every recovery check compares a sample statistic with the population truth and allows Z = 4
standard errors (binomial SE for rates, sample SD / sqrt(n) for means, Greenwood for Kaplan-Meier),
so a correct generator fails a given check with probability about 6e-5; the seeds are fixed, so
the outcome is deterministic.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError
from bayeslab.scenarios import (
    HOMEPAGE_SALT,
    SCENARIOS,
    Scenario,
    simulate,
    simulate_homepage,
    simulate_migration,
    simulate_musicstream,
)

Z = 4.0
BIG = 400_000

COLUMNS = {
    "migration": ["user_id", "country", "platform_tenure_days", "last_30d_sessions",
                  "last_90d_spend", "ps_plus_member", "pre_30d_spend", "spend_tier",
                  "engagement_tier", "stratum", "treatment", "ps5_purchase_30d", "revenue_60d",
                  "post_30d_sessions", "unsubscribe_flag", "optout_flag"],
    "campaign": ["date", "user_id", "treatment", "pre_revenue", "converted", "revenue"],
    "musicstream": ["user_id", "group", "country", "device", "age_group", "songs_played",
                    "converted", "days_active", "churned"],
    "homepage": ["user_id", "experiment_group", "city_tier", "user_type", "time_slot",
                 "is_clicked", "is_converted", "order_amount", "subsidy"],
    "personalization": ["customer_id", "engagement_score", "past_purchases", "account_age_days",
                        "device_type", "received_personalization", "made_purchase", "revenue"],
}
STRINGS = {"country", "spend_tier", "engagement_tier", "stratum", "group", "device", "age_group",
           "experiment_group", "city_tier", "user_type", "time_slot", "device_type"}
FLOATS = {"last_90d_spend", "pre_30d_spend", "revenue_60d", "pre_revenue", "revenue",
          "order_amount", "subsidy", "engagement_score"}


def arms(sc: Scenario):
    """Boolean masks (control, treatment) from the roles."""
    col = sc.data[sc.roles["arm"]].astype(str)
    return col == sc.roles["control"], col == sc.roles["treatment"]


def rate_ok(x, p):
    x = np.asarray(x, dtype=float)
    return abs(x.mean() - p) <= Z * np.sqrt(p * (1 - p) / len(x))


def mean_ok(x, mu):
    x = np.asarray(x, dtype=float)
    return abs(x.mean() - mu) <= Z * x.std(ddof=1) / np.sqrt(len(x))


def diff_ok(y, c, t, effect):
    y = np.asarray(y, dtype=float)
    y0, y1 = y[np.asarray(c)], y[np.asarray(t)]
    se = np.sqrt(y0.var(ddof=1) / len(y0) + y1.var(ddof=1) / len(y1))
    return abs(y1.mean() - y0.mean() - effect) <= Z * se


@pytest.fixture(scope="module")
def mig():
    return simulate("migration", rows=BIG, seed=11)


@pytest.fixture(scope="module")
def music():
    return simulate("musicstream", rows=BIG, seed=12)


@pytest.fixture(scope="module")
def home():
    return simulate("homepage", rows=BIG, seed=13)


@pytest.fixture(scope="module")
def camp():
    return simulate("campaign", rows=BIG, seed=14)


@pytest.fixture(scope="module")
def pers():
    return simulate("personalization", rows=200_000, seed=15)


# ---------------------------------------------------------------- structure and determinism

@pytest.mark.parametrize("name", SCENARIOS)
def test_same_seed_same_frame_other_seed_differs(name):
    a, b = simulate(name, rows=3000, seed=5), simulate(name, rows=3000, seed=5)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.truth == b.truth
    c = simulate(name, rows=3000, seed=6)
    assert not a.data.equals(c.data)


@pytest.mark.parametrize("name", SCENARIOS)
def test_columns_dtypes_roles_and_json_truth(name):
    sc = simulate(name, rows=2000, seed=1)
    assert list(sc.data.columns) == COLUMNS[name]
    for col in sc.data.columns:
        dtype = sc.data[col].dtype
        if col in STRINGS:
            assert pd.api.types.is_string_dtype(dtype), col
        elif col in FLOATS:
            assert dtype == np.float64, col
        elif col == "date":
            assert pd.api.types.is_datetime64_dtype(dtype)
        else:
            assert dtype == np.int64, col
    roles = sc.roles
    for key in ("unit_id", "arm", "metric"):
        assert roles[key] in sc.data.columns
    assert set(sc.data[roles["arm"]].astype(str)) == {roles["control"], roles["treatment"]}
    assert set(roles["kinds"]) <= set(sc.data.columns)
    assert sc.data[roles["unit_id"]].is_unique
    json.dumps(sc.truth, allow_nan=False)
    assert sc.name == name and name in str(sc) and roles["metric"] in str(sc)


def test_default_sizes_follow_the_notebooks():
    sizes = {"migration": 50_000, "musicstream": 40_000, "homepage": 30_000,
             "personalization": 10_000, "campaign": 56_000}
    for name, n in sizes.items():
        sc = simulate(name)
        assert len(sc.data) == n and sc.params["rows"] == n


def test_write_csv_and_parquet_with_truth_sidecar(tmp_path):
    sc = simulate("campaign", rows=500, seed=2, days=5)
    for ext in ("csv", "parquet"):
        path = tmp_path / f"camp.{ext}"
        sidecar = sc.write(path)
        assert sidecar == tmp_path / f"camp.{ext}.truth.json"
        payload = json.loads(sidecar.read_text())
        assert payload["truth"] == sc.truth and payload["roles"] == sc.roles
        assert payload["params"]["days"] == 5
        back = pd.read_csv(path) if ext == "csv" else pd.read_parquet(path)
        assert len(back) == 500 and list(back.columns) == COLUMNS["campaign"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "camp.parquet"), sc.data,
                                  check_dtype=False)
    with pytest.raises(DataError, match="extension"):
        sc.write(tmp_path / "camp.txt")


@pytest.mark.parametrize("fixture", ["mig", "camp", "music", "home", "pers"])
def test_sample_truths_sit_near_population_truths(fixture, request):
    """Var(E[Y(a) | X]) <= Var(Y(a)), so a sample truth is within Z * sd(Y) / sqrt(n) of its
    population value (sd(Y(a)) estimated in arm a; effects use sd(Y(0)) + sd(Y(1)))."""
    sc = request.getfixturevalue(fixture)
    c, tr = arms(sc)
    n = len(sc.data)
    for col, m in sc.truth["metrics"].items():
        sd0, sd1 = sc.data.loc[c, col].std(), sc.data.loc[tr, col].std()
        for key, sd in (("control", sd0), ("treatment", sd1), ("abs_effect", sd0 + sd1)):
            assert abs(m[f"{key}_sample"] - m[key]) <= Z * sd / np.sqrt(n), (col, key)


# ---------------------------------------------------------------- errors

def test_bad_name_rows_seed_and_options():
    with pytest.raises(DataError, match="migration.*campaign.*musicstream"):
        simulate("nope")
    with pytest.raises(DataError, match="unknown scenario"):
        simulate(["migration"])
    with pytest.raises(DataError, match="rows must be at least 100"):
        simulate("migration", rows=10)
    with pytest.raises(DataError, match="rows must be an integer"):
        simulate("homepage", rows=1000.5)
    with pytest.raises(DataError, match="seed"):
        simulate("homepage", rows=1000, seed=-1)
    with pytest.raises(DataError, match="no option 'srm'"):
        simulate("migration", srm=0.1)
    with pytest.raises(DataError, match="srm"):
        simulate("musicstream", rows=1000, srm=1.0)
    with pytest.raises(DataError, match="treatment_share"):
        simulate("campaign", rows=1000, treatment_share=0.0)
    with pytest.raises(DataError, match="start"):
        simulate("campaign", rows=1000, start="Jan 1st")
    with pytest.raises(DataError, match="days"):
        simulate("campaign", rows=1000, days=0)


# ---------------------------------------------------------------- 000 migration

def test_migration_exact_balance_within_strata_and_tier_rules(mig):
    d = mig.data
    counts = d.groupby("stratum")["treatment"].agg(["sum", "count"])
    assert len(counts) == 16
    assert (abs(2 * counts["sum"] - counts["count"]) <= 1).all()
    assert (d["stratum"] == d["spend_tier"] + "_" + d["engagement_tier"]).all()
    spend = np.searchsorted([26.0, 45.0, 77.0], d["last_90d_spend"], side="right")
    assert (d["spend_tier"].str[1].astype(int) == spend + 1).all()
    eng = np.searchsorted([6, 9, 13], d["last_30d_sessions"], side="left")
    assert (d["engagement_tier"].str[1].astype(int) == eng + 1).all()
    # small sample: still exact within every stratum
    small = simulate_migration(rows=1001, seed=3).data.groupby("stratum")["treatment"]
    assert (abs(2 * small.sum() - small.count()) <= 1).all()


def test_migration_recovers_conversion_revenue_guardrails(mig):
    d, t = mig.data, mig.truth
    c, tr = arms(mig)
    assert 0.16 < t["control_rate"] < 0.19 and 0.03 < t["abs_lift"] < 0.045
    assert rate_ok(d.loc[c, "ps5_purchase_30d"], t["control_rate"])
    assert rate_ok(d.loc[tr, "ps5_purchase_30d"], t["treatment_rate"])
    for col, m in t["metrics"].items():
        assert diff_ok(d[col], c, tr, m["abs_effect"]), col
        assert mean_ok(d.loc[c, col], m["control"]), col
    assert t["metrics"]["unsubscribe_flag"]["control"] == 0.004
    assert t["metrics"]["optout_flag"]["control"] == 0.006
    # revenue: zero-inflated, skewed, and strongly tied to the pre-period spend (CUPED pays)
    rev = d["revenue_60d"]
    assert 0.05 < (rev == 0).mean() < 0.3 and rev.skew() > 1
    assert np.corrcoef(rev, d["pre_30d_spend"])[0, 1] > 0.55


def test_migration_segment_truths(mig):
    d, seg = mig.data, mig.truth["segments"]
    c, tr = arms(mig)
    n = len(d)
    lifts = []
    for label, entry in seg["ps_plus_member|spend_tier"].items():
        plus, tier = label.split("|")
        m = (d["ps_plus_member"] == int(plus)) & (d["spend_tier"] == tier)
        assert abs(m.mean() - entry["share"]) <= Z * np.sqrt(entry["share"] / n)
        assert diff_ok(d["ps5_purchase_30d"], c & m, tr & m,
                       entry["ps5_purchase_30d"]["abs_effect"]), label
        lifts.append((int(plus), entry["ps5_purchase_30d"]["abs_effect"]))
    # PS+ members respond more than non-members in every spend tier (heterogeneity to find)
    assert min(v for p, v in lifts if p == 1) > 2 * max(v for p, v in lifts if p == 0)
    shares = 0.0
    for label, entry in seg["stratum"].items():
        m = d["stratum"] == label
        shares += entry["share"]
        assert abs(m.mean() - entry["share"]) <= Z * np.sqrt(entry["share"] / n), label
        assert mean_ok(d.loc[c & m, "revenue_60d"], entry["revenue_60d"]["control"]), label
        assert entry["ps5_purchase_30d"]["abs_effect_sample"] == pytest.approx(
            entry["ps5_purchase_30d"]["abs_effect"], abs=0.003)
    assert shares == pytest.approx(1.0, abs=1e-12)


# ---------------------------------------------------------------- 001 campaign

def test_campaign_dates_rates_and_cumulative_truths(camp):
    d, t = camp.data, camp.truth
    c, tr = arms(camp)
    assert d["date"].min() == pd.Timestamp("2023-01-01")
    assert d["date"].max() == pd.Timestamp("2023-01-28") and d["date"].is_monotonic_increasing
    assert abs(tr.mean() - 0.5) <= Z * np.sqrt(0.25 / len(d))
    for col, m in t["metrics"].items():
        assert diff_ok(d[col], c, tr, m["abs_effect"]), col
        assert mean_ok(d.loc[c, col], m["control"]), col
    assert t["metrics"]["converted"]["rel_effect"] == pytest.approx(0.10, abs=1e-12)
    # Sunday 2023-01-01 converts at 5.0%, Monday at 4.0% (times E[f] = 1)
    assert t["by_date"]["2023-01-01"]["converted"]["control"] == pytest.approx(0.05)
    assert t["by_date"]["2023-01-02"]["converted"]["control"] == pytest.approx(0.04)
    last = t["cumulative"]["2023-01-28"]
    for col, m in t["metrics"].items():
        assert last[col]["abs_effect"] == pytest.approx(m["abs_effect"], rel=1e-12)
        assert last[col]["abs_effect_sample"] == pytest.approx(m["abs_effect_sample"], rel=1e-9)
    week = d["date"] <= pd.Timestamp("2023-01-07")
    wk = t["cumulative"]["2023-01-07"]["converted"]
    assert rate_ok(d.loc[week & c, "converted"], wk["control"])
    share = sum(t["by_date"][f"2023-01-0{k}"]["share"] for k in range(1, 8))
    assert abs(week.mean() - share) <= Z * np.sqrt(share * (1 - share) / len(d))
    assert np.corrcoef(d["revenue"], d["pre_revenue"])[0, 1] > 0.5


# ---------------------------------------------------------------- 002 musicstream

def kaplan_meier(duration, event, day):
    """Product-limit estimate of P(T > day) and its Greenwood standard error."""
    s, var = 1.0, 0.0
    for k in range(1, day + 1):
        at_risk = np.sum(duration >= k)
        deaths = np.sum((duration == k) & (event == 1))
        s *= 1 - deaths / at_risk
        var += deaths / (at_risk * (at_risk - deaths))
    return s, s * np.sqrt(var)


def test_musicstream_split_counts_conversion_and_outliers(music):
    d, t = music.data, music.truth
    c, tr = arms(music)
    assert t["treatment_share"] == 0.1
    assert abs(tr.mean() - 0.1) <= Z * np.sqrt(0.09 / len(d))
    songs = d["songs_played"]
    assert songs.max() >= 1000 and songs.var() > 5 * songs.mean()        # heavy tail
    for col, m in t["metrics"].items():
        assert mean_ok(d.loc[c, col], m["control"]), col
        assert diff_ok(d[col], c, tr, m["abs_effect"]), col
    clean = songs < 1000
    assert diff_ok(songs[clean], c[clean], tr[clean],
                   t["songs_played_without_outliers"]["abs_effect"])
    for col in ("device", "age_group"):
        for label, entry in t["segments"][col].items():
            m = d[col] == label
            assert diff_ok(d["converted"], c & m, tr & m, entry["converted"]["abs_effect"])


def test_musicstream_retention_matches_true_survival(music):
    d, surv = music.data, music.truth["retention"]["survival"]
    c, tr = arms(music)
    assert d["days_active"].between(1, 59).all() and set(d["churned"]) == {0, 1}
    for day in ("14", "30"):
        for mask, key in ((c, "control"), (tr, "treatment")):
            s, se = kaplan_meier(d.loc[mask, "days_active"].to_numpy(),
                                 d.loc[mask, "churned"].to_numpy(), int(day))
            assert abs(s - surv[day][key]) <= Z * se, (day, key)
    assert surv["30"]["treatment"] > surv["30"]["control"]


def test_musicstream_srm_loses_treatment_users():
    sc = simulate_musicstream(rows=40_000, seed=4, srm=0.3)
    share = sc.truth["treatment_share_observed"]
    assert share == pytest.approx(0.1 * 0.7 / 0.97)
    _, tr = arms(sc)
    n = len(sc.data)
    assert abs(tr.mean() - share) <= Z * np.sqrt(share * (1 - share) / n)
    expected = np.array([0.9, 0.1]) * n
    observed = np.array([n - tr.sum(), tr.sum()])
    chi2 = np.sum((observed - expected) ** 2 / expected)
    assert chi2 > 50                        # a plain SRM chi-square test flags it


# ---------------------------------------------------------------- 003 homepage

def test_homepage_hash_assignment_reproduces_the_notebook():
    sc = simulate_homepage(seed=0)
    other = simulate_homepage(seed=99)
    counts = sc.data["experiment_group"].value_counts()
    assert counts["A"] == 15053 and counts["B"] == 14947          # the notebook's split
    assert sc.data["experiment_group"].equals(other.data["experiment_group"])
    for uid in (1, 2, 777, 30000):
        h = hashlib.md5(f"{uid}_{HOMEPAGE_SALT}".encode()).hexdigest()
        expected = "B" if int(h[:8], 16) / 16**8 < 0.5 else "A"
        assert sc.data.loc[sc.data["user_id"] == uid, "experiment_group"].item() == expected
    salted = simulate_homepage(rows=3000, salt="other_salt").data["experiment_group"]
    assert not salted.equals(sc.data["experiment_group"].iloc[:3000])


def test_homepage_funnel_consistency_and_rates(home):
    d, t = home.data, home.truth
    c, tr = arms(home)
    assert (d.loc[d["is_clicked"] == 0, "is_converted"] == 0).all()
    assert ((d["order_amount"] != 0) == (d["is_converted"] == 1)).all()
    assert (d.loc[d["is_converted"] == 0, "subsidy"] == 0).all() and (d["subsidy"] >= 0).all()
    for col, m in t["metrics"].items():
        assert diff_ok(d[col], c, tr, m["abs_effect"]), col
        assert mean_ok(d.loc[tr, col], m["treatment"]), col
    assert t["metrics"]["is_clicked"]["control"] == pytest.approx(0.085)
    for mask, key in ((c, "control"), (tr, "treatment")):
        clicked = d.loc[mask & (d["is_clicked"] == 1), "is_converted"]
        assert rate_ok(clicked, t["pcvr"][key])
        cvr = t["metrics"]["is_converted"][key]
        assert cvr == pytest.approx(t["metrics"]["is_clicked"][key] * t["pcvr"][key])
    assert t["pcvr"]["abs_effect"] < 0 < t["metrics"]["is_clicked"]["abs_effect"]
    city = t["segments"]["city_tier"]
    assert (city["tier_3_4"]["is_clicked"]["abs_effect"]
            > city["tier_2"]["is_clicked"]["abs_effect"]
            > city["tier_1"]["is_clicked"]["abs_effect"])
    for col in ("city_tier", "user_type"):
        for label, entry in t["segments"][col].items():
            m = d[col] == label
            assert diff_ok(d["is_clicked"], c & m, tr & m, entry["is_clicked"]["abs_effect"])
            assert diff_ok(d["is_converted"], c & m, tr & m,
                           entry["is_converted"]["abs_effect"])


# ---------------------------------------------------------------- 004 personalization

def test_personalization_naive_difference_is_biased():
    sc = simulate("personalization", seed=0)              # the notebook's 10,000 customers
    d, t = sc.data, sc.truth
    c, tr = arms(sc)
    y = d["made_purchase"]
    naive = y[tr].mean() - y[c].mean()
    se = np.sqrt(y[tr].var() / tr.sum() + y[c].var() / c.sum())
    assert abs(naive - t["naive_difference"]) <= Z * se
    assert naive - t["ate"] > 5 * se and naive - t["att"] > 5 * se
    assert t["ate"] == t["metrics"]["made_purchase"]["ate"]
    assert t["metrics"]["made_purchase"]["naive_bias"] == pytest.approx(
        t["naive_difference"] - t["ate"])
    assert 0.45 < t["treatment_share"] < 0.65
    assert y[tr].mean() / y[c].mean() - 1 > 0.35                # a notebook-like naive "lift"


def test_personalization_truths_match_the_documented_model(pers):
    """Refit the documented outcome and propensity models; compare the quadrature truths."""
    import statsmodels.api as sm

    d, t = pers.data, pers.truth
    past_bar = 0.5 + 8 * 2 / 7
    x = pd.DataFrame({"eng": d["engagement_score"] - 2 / 7,
                      "past": d["past_purchases"] - past_bar,
                      "desktop": (d["device_type"] == "Desktop").astype(float),
                      "tenured": (d["account_age_days"] >= 365).astype(float)})
    tr = d["received_personalization"]
    fit_e = sm.Logit(tr, sm.add_constant(x)).fit(disp=0)
    for name, value in zip(["const", "eng", "past", "desktop", "tenured"],
                           [-0.10, 2.6, 0.10, 0.4, 0.2], strict=True):
        assert abs(fit_e.params[name] - value) <= Z * fit_e.bse[name], name
    fit_y = sm.Logit(d["made_purchase"], sm.add_constant(x.assign(t=tr))).fit(disp=0)
    assert abs(fit_y.params["t"] - 0.20) <= Z * fit_y.bse["t"]
    assert abs(tr.mean() - t["treatment_share"]) <= Z * np.sqrt(0.25 / len(d))
    m = t["metrics"]["made_purchase"]
    # unit-level effects lie in [0, 0.2 / 4] (the logistic slope is at most 1/4), so the sample
    # ATE is within 4 * 0.05 / sqrt(n) of the population ATE
    assert abs(m["ate_sample"] - m["ate"]) <= Z * 0.05 / np.sqrt(len(d))
    assert m["att"] > m["ate"] > m["atc"] > 0
    assert abs(t["att_sample"] - t["att"]) < 0.002
    rev = t["metrics"]["revenue"]
    assert rev["naive_difference"] > 2 * rev["ate"] > 0
    assert diff_ok(d["revenue"], tr == 0, tr == 1, rev["naive_difference"])

"""Segment readout through compare() and the CLI: segment entries in the results, diagnostics,
a blocked segment decision on a failed fit, the unchanged headline, and reproducibility.

Sampling is kept tiny (2 chains x 300 draws), so the diagnostics use test-scale thresholds
(``ess_min=100``, ``rhat_max=1.05``); the defaults (400, 1.01) are for 4 chains x 1000 draws.
"""

import json

import numpy as np
import pytest

from bayeslab import compare, simulate
from bayeslab.cli import main
from bayeslab.core.errors import ModelError
from bayeslab.frequentist.segments import segment_tests

TEST = dict(draws=300, tune=300, chains=2, seed=3,
            thresholds={"ess_min": 100, "rhat_max": 1.05})
SEGS = ["ps_plus_member", "spend_tier"]


@pytest.fixture(scope="module")
def scenario():
    return simulate("migration", rows=20_000, seed=1)


@pytest.fixture(scope="module")
def csv(scenario, tmp_path_factory):
    path = tmp_path_factory.mktemp("seg") / "migration.csv"
    scenario.data.to_csv(path, index=False)
    return path


def _base(sc):
    r = sc.roles
    return dict(arm=r["arm"], metric=r["metric"], control=r["control"])


@pytest.fixture(scope="module")
def plain(scenario):
    return compare(scenario.data, **_base(scenario))


@pytest.fixture(scope="module")
def seg(scenario):
    return compare(scenario.data, segments=SEGS, **_base(scenario), **TEST)


@pytest.mark.slow
def test_segment_entries_join_results_and_headline_is_unchanged(seg, plain, scenario):
    out = seg.to_dict()
    labels = set(seg.segments.bayes.data.labels)
    assert len(labels) == 8 and all(" x " in lab for lab in labels)
    segment_entries = [e for e in out["results"] if "segment" in e]
    assert {e["segment"] for e in segment_entries} == labels
    assert {e["method"] for e in segment_entries} == {"hierarchical-logistic", "z-test"}
    # population-level entries carry no segment field; the headline ones are as before
    population = [e for e in out["results"] if "segment" not in e]
    assert population[:len(plain.to_dict()["results"])] == plain.to_dict()["results"]
    assert out["decision"] == plain.to_dict()["decision"]
    # frequentist segment entries are exactly segment_tests on the same cells
    ref = segment_tests(seg.segments.stats).estimates()
    got = [e for e in seg.segments.frequentist.estimates()]
    assert [(e.segment, e.estimate, e.p_value) for e in got] == \
        [(e.segment, e.estimate, e.p_value) for e in ref]
    het = out["segments"]["heterogeneity"]
    assert het["test"] == "glm-lr" and 0 <= het["p_value"] <= 1
    assert out["segments"]["decision"]["verdict"] in ("heterogeneous", "consistent")
    json.dumps(out, allow_nan=False)


@pytest.mark.slow
def test_diagnostics_object_in_json(seg):
    d = seg.to_dict()["diagnostics"]
    assert set(d) >= {"r_hat", "ess_bulk", "ess_tail", "divergences", "verdict", "reason",
                      "remedy"}
    assert d["verdict"] in ("pass", "warn"), d["reason"]
    assert d["r_hat"] <= 1.05 and d["ess_bulk"] >= 100
    assert seg.diagnostics is seg.segments.diagnostics


@pytest.mark.slow
def test_recovers_segment_truth(seg, scenario):
    """95% intervals of 8 segment lifts cover the simulated truth (allow one miss)."""
    truth = scenario.truth["segments"]["ps_plus_member|spend_tier"]
    table = seg.segments.bayes.table
    hits = 0
    for r in table.itertuples(index=False):
        key = r.segment.replace(" x ", "|")
        t = truth[key]["ps5_purchase_30d"]["abs_effect"] if key in truth else None
        assert t is not None, (key, list(truth)[:3])
        hits += r.abs_lower <= t <= r.abs_upper
    assert hits >= 7


@pytest.mark.slow
def test_failed_fit_blocks_segment_decision_and_says_remedy(scenario, plain):
    ro = compare(scenario.data, segments=["spend_tier"], draws=40, tune=40, chains=1, seed=2,
                 **_base(scenario))
    d = ro.segments.diagnostics
    assert d.verdict == "fail" and d.remedy.startswith("first fit failed")
    assert ro.segments.decision.verdict == "blocked"
    assert any("did not converge" in w for w in ro.warnings)
    assert any("automatic remedy applied" in w for w in ro.warnings)
    out = ro.to_dict()
    assert out["diagnostics"]["verdict"] == "fail"
    assert out["segments"]["decision"]["verdict"] == "blocked"
    assert out["decision"]["verdict"] == plain.decision.verdict   # headline unchanged
    assert "Automatic remedy applied" in ro.segments.decision.text
    assert "No segment decision" in str(ro)


def test_segment_errors(scenario):
    with pytest.raises(ModelError, match="at most two segment"):
        compare(scenario.data, segments=["a", "b", "c"], **_base(scenario))
    with pytest.raises(ModelError, match="segments are read out"):
        compare(scenario.data, arm="treatment", metric="ps5_purchase_30d", kind="ratio",
                numerator="ps5_purchase_30d", denominator="ps5_purchase_30d",
                segments=["spend_tier"])


@pytest.mark.slow
def test_cli_segments_json_plots_and_seed_reproduce_api(seg, csv, scenario, tmp_path, capsys):
    r = scenario.roles
    plot_dir = tmp_path / "figs"
    assert main(["compare", str(csv), "--arm", r["arm"], "--control", r["control"],
                 "--metric", r["metric"], "--segment", SEGS[0], "--segment", SEGS[1],
                 "--draws", "300", "--tune", "300", "--chains", "2", "--seed", "3", "--quiet",
                 "--ess-min", "100", "--rhat-max", "1.05",
                 "--plot", str(plot_dir), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    api = seg.to_dict()
    # same seed, same data, same settings: the same numbers through the API and the CLI
    assert out["results"] == api["results"]
    assert out["diagnostics"] == api["diagnostics"]
    # intervals: population; segments_intervals: per segment (unadjusted, said in the title)
    names = {"intervals", "posteriors", "lift", "segments_intervals", "segments_forest",
             "segments_trace", "segments_rank", "segments_ppc"}
    expected = {str(plot_dir / f"{r['metric']}_{n}.png") for n in names}
    assert set(out["plots"]) == expected
    for path in expected:
        with open(path, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_continuous_segments_use_normal_model_and_welch(scenario):
    ro = compare(scenario.data, arm="treatment", control="0", metric="revenue_60d",
                 kind="continuous", segments=["spend_tier"], **TEST)
    methods = {e.method for e in ro.estimates() if e.segment}
    assert methods == {"hierarchical-normal", "welch"}
    assert ro.segments.frequentist.heterogeneity is None
    assert ro.segments.decision.verdict in ("reported", "blocked")
    means = ro.segments.bayes.table
    assert np.all(np.isfinite(means["abs_mean"]))


def test_cli_plot_without_segments(csv, scenario, tmp_path, capsys):
    r = scenario.roles
    assert main(["compare", str(csv), "--arm", r["arm"], "--control", r["control"],
                 "--metric", r["metric"], "--plot", str(tmp_path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(p.rsplit("_", 1)[-1] for p in out["plots"]) == \
        ["intervals.png", "lift.png", "posteriors.png"]
    assert "diagnostics" not in out and "segments" not in out
    assert main(["compare", str(csv), "--arm", r["arm"], "--control", r["control"],
                 "--metric", "revenue_60d", "--kind", "continuous", "--plot", str(tmp_path),
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p.rsplit("/", 1)[-1] for p in out["plots"]] == ["revenue_60d_intervals.png"]

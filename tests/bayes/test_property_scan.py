"""The property scan model: no divergences on the scenario (two seeds), the special level found."""

import json

import numpy as np
import pytest

from bayeslab.bayes.property_scan import PropertyScan, ScanPrior
from bayeslab.core.errors import ModelError
from bayeslab.data.scan_properties import property_stats
from bayeslab.data.sources import open_source
from bayeslab.frequentist.property_scan import LevelVersusRest
from bayeslab.readout.property_scan import PropertyScanReadout
from bayeslab.scenarios.properties import simulate_properties


def test_bad_threshold_and_prior_are_refused_before_data():
    with pytest.raises(ModelError, match="threshold"):
        PropertyScan(threshold=0.4)
    with pytest.raises(ModelError, match="global_scale"):
        ScanPrior(global_scale=0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_scenario_samples_without_divergences_and_flags_the_special_level(seed):
    import matplotlib

    matplotlib.use("Agg")
    sc = simulate_properties(200_000, seed=seed, effect=0.04)
    st = property_stats(open_source(sc.data), arm="treatment", metric="converted",
                        properties=sc.roles["properties"])
    fit = PropertyScan(chains=2, draws=500, tune=1000, seed=seed, progressbar=False).fit(st)
    assert fit.divergences == 0
    i = fit.levels.index(("country", "BR"))
    assert fit.flagged[i] and fit.flagged.sum() <= 2
    truth = np.array([lv["converted"] for lv in sc.truth["levels"]])
    order = [fit.levels.index((lv["property"], lv["level"])) for lv in sc.truth["levels"]]
    inside = (fit.effect_lower[order] <= truth) & (truth <= fit.effect_upper[order])
    assert inside.mean() >= 0.85  # 95% intervals of 67 levels
    readout = PropertyScanReadout(stats=st, bayes=fit, frequentist=LevelVersusRest().fit(st))
    d = json.loads(json.dumps(readout.to_dict()))
    assert len(d["scan"]) == 2 * st.n_levels
    assert set(d["scan"][0]) >= {"property", "level", "side", "estimate", "lower", "upper",
                                 "n", "flagged"}
    assert "country = BR" in readout.sentences()[0]
    fig = readout.figure()
    assert len(fig.axes[0].get_yticklabels()) == st.n_levels

"""The golden-readout comparison can fail: it catches a moved number, a lost one and drift."""

import copy

from tests.golden_readouts import differences, golden, numbers


def test_comparison_catches_drift_loss_and_sampling_noise_bounds():
    g = golden("migration")
    assert differences(g, copy.deepcopy(g)) == []
    drift = copy.deepcopy(g)
    drift["metrics"][0]["results"][0]["estimate"] *= 1 + 1e-5       # closed form: 1e-6
    assert differences(g, drift) == [
        f"metrics[0].results[0].estimate: golden {g['metrics'][0]['results'][0]['estimate']!r}"
        f", now {drift['metrics'][0]['results'][0]['estimate']!r}"]
    lost = copy.deepcopy(g)
    lost["metrics"][0]["results"].pop()
    assert any(d.endswith("missing") for d in differences(g, lost))
    sampled = [k for k in numbers(g) if k.startswith("~")]
    assert sampled and all("segment" in k or "results" in k for k in sampled)

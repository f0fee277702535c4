"""The golden-readout comparison can fail: it catches a moved number, a lost one and drift, and
it accepts another machine's (another seed's) Monte Carlo noise while catching a real change."""

import copy
import json
from pathlib import Path

import pytest

from tests.golden_readouts import MC_SIGMAS, differences, golden, numbers

MODELS = Path(__file__).resolve().parents[1] / "models"


def _sampled(doc):
    errors = {}
    values = numbers(doc, errors=errors)
    return {p: (values[p], errors[p]) for p in errors if p in values}


def test_comparison_catches_drift_loss_and_verdicts():
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
    flipped = copy.deepcopy(g)
    flipped["decision"]["verdict"] = "ship" if g["decision"]["verdict"] != "ship" else "hold"
    assert differences(g, flipped) == [
        f"decision.verdict: verdict {g['decision']['verdict']!r}, now "
        f"{flipped['decision']['verdict']!r}"]


def test_sampled_numbers_carry_their_monte_carlo_error():
    g = golden("migration")
    sampled = _sampled(g)
    # the segment model's estimates, interval ends, probabilities and shrinkage, and nothing
    # that a closed form gives
    assert sampled and all(".results[" in p for p in sampled)
    fields = {p.rsplit(".", 1)[1] for p in sampled}
    assert {"estimate", "lower", "upper", "prob_positive", "shrinkage"} <= fields
    assert all(0 < se < 0.05 for _, se in sampled.values())
    conjugate = [r for r in g["metrics"][0]["results"] if r["method"] == "beta-binomial"]
    assert conjugate and not any("mcse" in r for r in conjugate)


def test_a_moved_sampled_number_fails_beyond_five_standard_errors():
    g = golden("migration")
    path, (x, se) = next((p, v) for p, v in _sampled(g).items() if p.endswith(".estimate"))
    i = int(path.split("results[")[1].split("]")[0])
    moved = copy.deepcopy(g)
    entry = moved["metrics"][0]["results"][i]
    # the same MC error in both runs: the difference's standard error is sqrt(2) * se
    entry["estimate"] = x + 3 * 2**0.5 * se
    assert differences(g, moved) == []
    entry["estimate"] = x + (MC_SIGMAS + 0.5) * 2**0.5 * se
    (only,) = differences(g, moved)
    assert only.startswith(f"{path}: golden")
    assert "Monte Carlo standard errors apart" in only


@pytest.mark.slow
def test_another_sampler_seed_passes_and_a_real_change_is_caught(tmp_path, monkeypatch):
    """What another machine does to MCMC draws, done here with another seed per chain."""
    from bayeslab.inference import chains
    from bayeslab.plan.runner import run_plan

    real = chains.chain_seeds
    monkeypatch.setattr(chains, "chain_seeds", lambda seed, n: real(seed + 7919, n))
    run_plan(MODELS / "migration.toml", tmp_path, quiet=True)
    payload = json.loads((tmp_path / "readout.json").read_text())
    g = golden("migration")
    now = _sampled(payload)
    before = _sampled(g)
    # the draws did change (not a bit-identical rerun) ...
    assert sum(now[p][0] != before[p][0] for p in before) > len(before) // 2
    # ... and every number still agrees within its Monte Carlo error
    assert differences(g, payload) == []
    # a real change of the posterior: one segment's lift moved by 6 standard errors
    results = payload["metrics"][0]["results"]
    i = next(i for i, r in enumerate(results) if "mcse" in r and r.get("segment"))
    path = f"metrics[0].results[{i}].estimate"
    entry = results[i]
    se = (before[path][1] ** 2 + now[path][1] ** 2) ** 0.5
    entry["estimate"] = before[path][0] + 6 * se
    assert [d.split(":")[0] for d in differences(g, payload)] == [path]

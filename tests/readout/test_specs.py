"""compare()'s grouped options: each spec field is also a keyword, never both, never unknown."""

import pytest

import bayeslab as bl
from bayeslab.core.errors import ModelError
from bayeslab.readout.specs import GROUPS, gather


@pytest.fixture(scope="module")
def campaign():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(4)
    arm = np.repeat(["control", "new"], 5000)
    return pd.DataFrame({"arm": arm, "converted": (rng.random(10_000) < 0.1).astype(int),
                         "unsubscribed": (rng.random(10_000) < 0.02).astype(int)})


def _numbers(readout):
    return [(e.side, e.method, e.effect, e.arm, e.estimate, e.lower, e.upper)
            for e in readout.estimates()]


def test_specs_and_shortcuts_give_the_same_readout(campaign):
    short = bl.compare(campaign, arm="arm", metric="converted", control="control",
                       prior=(2.0, 3.0), interval=0.9, guardrails=["unsubscribed"],
                       margins=0.002, role="secondary", missing="exclude")
    grouped = bl.compare(
        campaign, arm="arm", metric="converted", control="control",
        analysis=bl.AnalysisSpec(prior=(2.0, 3.0), interval=0.9),
        decision=bl.DecisionSpec(guardrails=["unsubscribed"], margins=0.002, role="secondary"),
        source=bl.SourceSpec(missing="exclude"))
    assert _numbers(short) == _numbers(grouped)
    assert short.role == grouped.role == "secondary"
    assert [g.metric for g in grouped.guardrails] == ["unsubscribed"]
    assert short.estimates()[0].level == pytest.approx(0.9)


def test_a_value_given_twice_or_unknown_is_refused(campaign):
    with pytest.raises(ModelError, match="'draws' given both as a keyword and in sampling="):
        bl.compare(campaign, arm="arm", metric="converted", control="control",
                   sampling=bl.SamplingSpec(draws=200), draws=300)
    with pytest.raises(ModelError, match="'covariate' given both as a keyword and in analysis="):
        gather({"analysis": bl.AnalysisSpec(options={"covariate": "a"})}, {"covariate": "b"})
    with pytest.raises(ModelError, match=r"unknown option 'draw' for compare\(\) \(its options "
                                         r"are source: sql, .*sampling: draws"):
        bl.compare(campaign, arm="arm", metric="converted", control="control", draw=5)
    with pytest.raises(ModelError, match="sampling= takes a SamplingSpec, got dict"):
        bl.compare(campaign, arm="arm", metric="converted", sampling={"draws": 5})


def test_every_field_is_one_groups_only():
    seen = {}
    for key, cls in GROUPS.items():
        for name in cls.__dataclass_fields__:
            assert name not in seen, (name, key, seen.get(name))
            seen[name] = key
    specs = gather({}, {"seed": 3, "covariate": "pre", "sql": "select 1"})
    assert specs["sampling"].seed == 3 and specs["source"].sql == "select 1"
    assert dict(specs["analysis"].options) == {"covariate": "pre"}


@pytest.mark.parametrize("option, value, message", [
    ("prior", "a", "prior must be two positive numbers"), ("prior", (1, -1), "prior must be"),
    ("interval", "x", "interval must be a level between 0 and 1"), ("interval", 2, "interval"),
    ("draws", "many", "draws must be a whole number"), ("chains", -1, "chains must be"),
    ("seed", "s", "seed must be a whole number"), ("segments", 5, "segments must be a column"),
    ("guardrails", 3, "guardrails must be a column"), ("rule", "strict", "rule must be a "
                                                                        "DecisionRule"),
    ("unit", 5, "unit must be"), ("missing", "drop", "missing must be"),
    ("engine", "pandas", "engine must be"), ("role", "tertiary", "role must be"),
    ("progressbar", "yes", "progressbar must be"), ("thresholds", 3, "thresholds must be")])
def test_options_of_the_wrong_type_are_one_clear_error(campaign, option, value, message):
    with pytest.raises(ModelError, match=f"compare\\(\\): {message}"):
        bl.compare(campaign, arm="arm", metric="converted", control="control", **{option: value})


def test_numpy_numbers_are_numbers():
    import numpy as np

    specs = gather({}, {"seed": np.int64(3), "draws": np.int32(10), "prior": (np.float64(1), 2),
                        "interval": np.float32(0.9)})
    assert specs["sampling"].seed == 3 and specs["analysis"].prior[0] == 1.0

"""The readout contract: every readout class has its members, and its JSON reads back."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.decision import Decision, DecisionRule
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import Estimate
from bayeslab.readout.contract import (
    MEMBERS,
    REQUIRED,
    BaseReadout,
    Headline,
    SavedReadout,
    readout_from_dict,
)
from bayeslab.readout.metric import Readout, compare
from bayeslab.readout.monitor import monitor
from bayeslab.readout.monitor_result import MonitorResult
from bayeslab.readout.observational import PropensityReadout, compare_propensity
from bayeslab.scenarios import simulate


def _conversion_rows(seed=3, n=4000, lift=0.02):
    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "treatment"], n)
    p = np.where(arm == "control", 0.10, 0.10 + lift)
    return pd.DataFrame({"arm": arm, "converted": (rng.random(2 * n) < p).astype(int),
                         "unsub": (rng.random(2 * n) < 0.01).astype(int)})


@pytest.fixture(scope="module")
def conversion():
    return compare(_conversion_rows(), arm="arm", metric="converted", control="control",
                   guardrails=["unsub"], margins=0.01)


@pytest.fixture(scope="module")
def propensity():
    sc = simulate("personalization", rows=3000, seed=2)
    return compare_propensity(sc.data, arm="received_personalization", metric="made_purchase",
                              confounders=["engagement_score", "past_purchases"],
                              sampler="laplace", draws=300)


@pytest.fixture(scope="module")
def looks():
    rng = np.random.default_rng(0)
    n = 6000
    ts = pd.Timestamp("2024-03-01") + pd.to_timedelta(np.sort(rng.uniform(0, 6, n)), unit="D")
    arm = rng.integers(0, 2, n)
    y = (rng.random(n) < np.asarray([0.10, 0.125])[arm]).astype(int)
    return monitor(pd.DataFrame({"ts": ts, "arm": arm, "y": y}), arm="arm", metric="y",
                   timestamp="ts", fpr_sims=0)


def _same_estimates(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.to_dict() == y.to_dict()


@pytest.mark.parametrize("name", ["conversion", "propensity", "looks"])
def test_every_readout_class_has_the_contract(name, request):
    r = request.getfixturevalue(name)
    assert isinstance(r, BaseReadout)
    for member in MEMBERS:
        assert hasattr(r, member), f"{type(r).__name__} lacks {member}"
    assert isinstance(r.headline, Headline)
    assert isinstance(r.decision, Decision)
    assert isinstance(r.rule, DecisionRule) or r.TYPE == "monitor"
    assert r.to_dict()["type"] == r.TYPE
    b, f = r.headline_estimates()
    assert b is not None and b.method == r.headline.bayes and b.effect == r.headline.effect
    assert f is not None and f.method == r.headline.frequentist
    if r.TYPE == "monitor":                             # a monitor's summary: one row per look
        assert len(r.summary()) == len(r.table)
    else:
        assert list(r.summary()["method"]) == [e.method for e in r.estimates()]
    html = r._repr_html_()
    assert r.decision.verdict.upper() in html and "<table" in html


@pytest.mark.parametrize("name, cls", [("conversion", Readout),
                                       ("propensity", PropensityReadout),
                                       ("looks", MonitorResult)])
def test_json_reads_back_through_the_class_that_wrote_it(name, cls, request):
    r = request.getfixturevalue(name)
    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    saved = cls.from_dict(data)
    assert isinstance(saved, SavedReadout) and saved.TYPE == r.TYPE
    assert saved.to_dict() == data                      # the exact dict comes back
    _same_estimates(saved.estimates(), r.estimates())
    assert saved.headline == r.headline
    assert saved.decision == r.decision                 # verdict, reasons, blockers all back
    if r.TYPE != "monitor":                             # a monitor's rules are its own
        assert saved.rule == r.rule
    assert saved.rows == r.rows
    assert saved.warnings == tuple(r.warnings)
    for live, back in zip(r.headline_estimates(), saved.headline_estimates(), strict=True):
        assert live.to_dict() == back.to_dict()
    assert (saved.diagnostics is None) == (r.diagnostics is None)
    assert saved.guardrail_check() == (None if r.guardrail_check() is None
                                       else json.loads(json.dumps(r.guardrail_check())))
    assert str(saved).startswith(f"{r.metric} (")
    assert readout_from_dict(data).to_dict() == data


def test_guardrails_read_back_as_readouts(conversion):
    saved = Readout.from_dict(conversion.to_dict())
    pd.testing.assert_frame_equal(saved.arms, conversion.arms.reset_index(drop=True),
                                  check_dtype=False)
    (g,) = saved.guardrails
    assert g.role == "guardrail" and g.margin == pytest.approx(0.01)
    live = conversion.guardrails[0].guardrail_check()
    assert g.guardrail_check()["prob_above_margin"] == pytest.approx(live["prob_above_margin"])
    assert g.decision == conversion.guardrails[0].decision


def test_from_dict_refuses_another_class_json(conversion, propensity):
    with pytest.raises(DataError, match="'propensity' readout, not a 'readout'"):
        Readout.from_dict(propensity.to_dict())
    with pytest.raises(DataError, match="'readout' readout, not a 'propensity'"):
        PropensityReadout.from_dict(conversion.to_dict())
    with pytest.raises(DataError, match="needs at least 'metric'"):
        readout_from_dict({"results": []})


def test_estimate_round_trip_keeps_nan_and_extra():
    e = Estimate("frequentist", "welch", "absolute", 1.5, float("nan"), 2.0, arm="b",
                 p_value=0.03, extra={"estimand": "ate", "rate": "checkout"})
    back = Estimate.from_dict(json.loads(json.dumps(e.to_dict())))
    assert math.isnan(back.lower) and back.estimate == 1.5 and back.upper == 2.0
    assert back.extra == {"estimand": "ate", "rate": "checkout"} and back.arm == "b"


def test_decision_reads_back_from_text_only():
    """Files written before ``reasons`` was saved: the sentences come back from ``text``."""
    d = Decision("ship", "b", "ship", "ship", ("Ship b: the analyses agree.",
                                                "Bayes (beta-binomial): P = 0.99.",
                                                "Rule: ship when P >= 0.95."))
    old = {k: v for k, v in d.to_dict().items() if k != "reasons"}
    assert Decision.from_dict(old) == d


def test_saved_readout_plots_its_intervals(conversion):
    import matplotlib.pyplot as plt

    saved = Readout.from_dict(conversion.to_dict())
    fig = saved.plot()
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert fig.axes and any(labels)
    plt.close(fig)


def test_monitor_decision_reads_the_first_rule_and_the_boundary(looks):
    first = looks.rules[0]
    d = looks.decision
    assert d.bayes == {"success": "ship", "harm": "do not ship", "futility": "inconclusive",
                       "continue": "continue"}[first.decision]
    assert d.verdict == d.bayes and d.arm == looks.treatment
    assert ("crossed at look" in d.text) == (looks.design_stop is not None)
    assert set(looks.figures()) == {"sequential_path"}


# -- the contract as an abstract base class ---------------------------------------------------

_DECISION = Decision("inconclusive", None, "n/a", "n/a", ("Nothing to decide.",))


def _readout_class(drop: str | None = None, **extra):
    """A minimal readout class (a frozen dataclass like ours), lacking member ``drop``."""
    from dataclasses import dataclass

    fields = {"metric": str, "kind": str, "decision": Decision, "rule": DecisionRule,
              "rows": object}
    body = {
        "TYPE": "minimal",
        "estimates": lambda self: [],
        "headline": property(lambda self: Headline(None, None, "absolute")),
        "diagnostics": property(lambda self: None),
        "warnings": property(lambda self: ()),
        "figures": lambda self: {},
        "to_dict": lambda self: {"type": self.TYPE, "metric": self.metric},
    }
    fields.pop(drop, None)
    body.pop(drop, None)
    body.update(extra)
    body["__annotations__"] = {**fields, **body.pop("__annotations__", {})}
    return dataclass(frozen=True)(type("Minimal", (BaseReadout,), body))


def _minimal(cls, **values):
    base = {"metric": "m", "kind": "conversion", "decision": _DECISION,
            "rule": DecisionRule(), "rows": None}
    return cls(**{k: v for k, v in {**base, **values}.items()
                  if k in cls.__dataclass_fields__})


def test_required_members_are_the_abstract_ones():
    assert REQUIRED == {"TYPE", "metric", "kind", "estimates", "headline", "decision", "rule",
                        "diagnostics", "warnings", "rows", "figures", "to_dict"}
    assert REQUIRED <= set(MEMBERS)
    assert {"role", "unit", "margin", "segments", "srm", "guardrails", "balance", "arms",
            "notes", "prior", "estimand", "stats", "bayes", "guardrail_check",
            "metric_estimates", "summary", "plot", "from_dict", "_repr_html_"} <= set(MEMBERS)
    with pytest.raises(TypeError, match="abstract"):
        BaseReadout()


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_a_readout_class_lacking_a_required_member_cannot_be_instantiated(name):
    cls = _readout_class(drop=name)
    with pytest.raises(TypeError, match=f"abstract method.*'{name}'"):
        _minimal(cls)


def test_optional_members_have_their_defaults():
    r = _minimal(_readout_class())
    assert (r.role, r.unit, r.margin, r.estimand) == ("primary", None, None, None)
    assert (r.segments, r.srm, r.balance, r.arms, r.prior, r.stats, r.bayes) == (None,) * 7
    assert r.guardrails == () and r.notes == ()
    assert r.guardrail_check() is None and r.metric_estimates() == []
    for member in MEMBERS:
        assert hasattr(r, member), member


def test_fields_and_properties_override_members_as_declared():
    """A member as a dataclass field keeps no default from the base (it stays a plain field)."""
    from dataclasses import MISSING, field, fields

    cls = _readout_class(__annotations__={"role": str, "margin": float | None},
                         margin=field(default=None))
    assert {f.name: f.default for f in fields(cls)}["role"] is MISSING
    assert [f.name for f in fields(cls)][-2:] == ["role", "margin"]
    r = _minimal(cls, role="guardrail", margin=0.01)
    assert (r.role, r.margin, r.metric) == ("guardrail", 0.01, "m")
    with pytest.raises(AttributeError):      # like any dataclass field without a default
        cls.metric  # noqa: B018
    with pytest.raises(TypeError, match="role"):
        _minimal(cls)                        # role is now a required field of this class
    prop = _readout_class(unit=property(lambda self: "EUR"))
    assert _minimal(prop).unit == "EUR"


def test_a_required_member_declared_but_not_set_says_so():
    class Half(SavedReadout):
        def __init__(self):                 # sets nothing, skips SavedReadout's __init__
            pass

    with pytest.raises(AttributeError, match="declares 'metric' but has not set it"):
        Half().metric  # noqa: B018


def test_the_live_classes_satisfy_the_contract_statically():
    from bayeslab.readout.custom import CustomReadout

    for cls in (Readout, PropensityReadout, MonitorResult, CustomReadout, SavedReadout):
        assert not cls.__abstractmethods__, cls


NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")


def raw_float(text: str) -> str | None:
    """A number printed with 6 or more significant digits (0.0379971...): not formatted."""
    for m in NUMBER.finditer(text):
        digits = m.group(0).lstrip("-").replace(".", "").lstrip("0")
        if len(digits) >= 6:
            return m.group(0)
    return None

#: P(> 0) = 1.000 or = 0 (but "1 - 3.8e-06", a tail written beside the 1, is right)
PROB_ONE = re.compile(r"P\([^)]*\)\s*(?:=\s*)?(?:1|0)(?:\.0+)?(?![\d.e]|\s*-\s*\d)")


@pytest.mark.parametrize("name", ["conversion", "propensity", "looks"])
def test_notebook_and_terminal_views_go_through_the_formatter(name, request):
    """_repr_html_ and str(): units, no raw floats, no probability shown as exactly 1 or 0."""
    r = request.getfixturevalue(name)
    saved = readout_from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))
    for view in (r._repr_html_(), saved._repr_html_(), str(r)):
        assert raw_float(view) is None, raw_float(view)
        assert not PROB_ONE.search(view), PROB_ONE.search(view).group(0)
    if name == "conversion":
        assert " pp" in r._repr_html_() and "%" in r._repr_html_()

"""A plan run's experiment-library rows (issue 25): one per metric and treatment arm, with the
frequentist estimates and standard errors the readouts hold, and a stable experiment id."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import replace
from statistics import NormalDist

import pytest

from bayeslab.data.library import NAMES, ExperimentLibrary
from bayeslab.plan.library_rows import plan_hash, run_id, run_rows, unrecorded
from bayeslab.plan.runner import run_plan
from tests.plan.test_schema import GOOD, write

PLAN = GOOD + """
[[metrics]]
name = "revenue_60d"
role = "secondary"
kind = "continuous"
unit = "EUR"
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("plan"), PLAN)
    with warnings.catch_warnings():        # the guardrail's absolute margin cannot bite
        warnings.simplefilter("ignore")
        return path, run_plan(path, quiet=True)


def _freq(readout, method, effect):
    return next(e for e in readout.estimates() if e.side == "frequentist" and e.method == method
                and e.effect == effect and e.segment is None)


def test_one_row_per_metric_with_the_frequentist_numbers(ran):
    path, result = ran
    rows = run_rows(result)
    assert [(r["metric"], r["role"]) for r in rows] == [
        ("ps5_purchase_30d", "primary"), ("optout_flag", "guardrail"),
        ("revenue_60d", "secondary")]
    assert all(set(r) <= set(NAMES) for r in rows)
    z = NormalDist().inv_cdf(0.975)
    conv, _guard, rev = rows
    primary = result.primary
    zt, lr = _freq(primary, "z-test", "absolute"), _freq(primary, "log-ratio", "relative")
    assert conv["estimate_abs"] == zt.estimate
    assert conv["se_abs"] == pytest.approx((zt.upper - zt.lower) / (2 * z), rel=1e-12)
    assert conv["estimate_rel"] == lr.estimate
    assert conv["se_rel"] == pytest.approx((lr.upper - lr.lower) / (2 * z), rel=1e-12)
    welch = _freq(result.secondary[0], "welch", "absolute")
    assert rev["se_abs"] == welch.extra["se"]                 # the test's own standard error
    arms = primary.arms
    assert (conv["control"], conv["arm"]) == ("0", "1")
    assert (conv["n_control"], conv["n_treatment"]) == tuple(int(n) for n in arms["n"])
    assert conv["effect_scale"] == "absolute" and conv["kind"] == "conversion"
    assert rev["unit"] == "EUR" and conv["unit"] is None
    assert [r["verdict"] for r in rows] == [r.decision.verdict for r in result.readouts]
    shipped = result.decision.verdict == "ship"
    assert [r["shipped"] for r in rows] == [shipped] * 3
    assert {r["experiment"] for r in rows} == {"t"}
    assert {r["plan_hash"] for r in rows} == {hashlib.sha256(path.read_bytes()).hexdigest()}
    assert {r["experiment_id"] for r in rows} == {run_id(result.plan)}
    assert unrecorded(result) == []


def test_the_same_run_written_twice_is_one_set_of_rows(ran, tmp_path):
    _path, result = ran
    lib = ExperimentLibrary(tmp_path / "lib.duckdb")
    assert lib.append(run_rows(result)).added == 3
    again = lib.append(run_rows(result))
    assert (again.added, again.replaced) == (0, 3)
    assert len(lib.rows()) == 3


def test_the_id_follows_the_plan_file_and_the_data(ran, tmp_path):
    path, result = ran
    plan = result.plan
    assert run_id(plan) == run_id(plan)
    edited = write(tmp_path, PLAN + "\n# a comment\n")
    other = replace(plan, path=edited)
    assert plan_hash(other) != plan_hash(plan) and run_id(other) != run_id(plan)
    data = {"simulate": {**plan.data["simulate"], "seed": 3}}
    reseeded = replace(plan, data=data)
    assert plan_hash(reseeded) == plan_hash(plan) and run_id(reseeded) != run_id(plan)

"""Operating-characteristics simulator against the recursion and a brute-force unit simulation."""

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from bayeslab.core.errors import DataError, ModelError
from bayeslab.sequential.boundaries import group_sequential_design
from bayeslab.sequential.operating import (
    CONTINUE,
    FUTILITY,
    SUCCESS,
    LookStats,
    design_rule,
    operating_characteristics,
    simulate,
)
from tests.signals import sigint_default

LOOKS = np.array([250, 500, 750, 1000])  # per arm, equal allocation


def test_null_rejection_rate_equals_design_alpha():
    """Normal data, two-sided OBF design, 40,000 experiments: overall and per-look cumulative
    rejection rates equal alpha_spent within 4 MC sd (sd = 0.0011 at 0.05; tolerance 0.0044).
    The simulator estimates the variance (z uses sample sd), an O(1/n) effect at n >= 250."""
    design = group_sequential_design(4, alpha=0.05, sides=2, spending="obf")
    res = simulate(design_rule(design), LOOKS, metric="normal", baseline=3.0, sd=2.0,
                   n_sims=40_000, seed=1)
    tol = 4 * math.sqrt(0.05 * 0.95 / res.n_sims)
    assert res.rejection_rate == pytest.approx(0.05, abs=tol)
    dist = res.stop_distribution()
    cum = (dist["success"] + dist["harm"]).cumsum().to_numpy()
    np.testing.assert_allclose(cum, design.alpha_spent, atol=tol)
    # symmetric two-sided design under the null: the estimate at stopping is unbiased
    assert abs(res.bias) < 4 * res.estimate_at_stop.std() / math.sqrt(res.n_sims)


def test_power_and_expected_n_match_recursion():
    """At the drift giving 80% power, simulated power and expected sample size agree with the
    recursive integration (power: 4 MC sd = 0.008; E[n]: 4 MC sd of n at stop)."""
    design = group_sequential_design(4, alpha=0.025, sides=1, spending="pocock")
    theta = design.drift_for_power(0.8)
    sd = 1.0
    effect = theta * sd * math.sqrt(2 / LOOKS[-1])
    res = simulate(design_rule(design), LOOKS, metric="normal", baseline=0.0, sd=sd,
                   effect=effect, n_sims=10_000, seed=2)
    assert res.power == pytest.approx(0.8, abs=4 * math.sqrt(0.16 / res.n_sims))
    exp_n = design.expected_fraction(theta) * 2 * LOOKS[-1]
    assert res.expected_n == pytest.approx(exp_n, abs=4 * res.n_at_stop.std() / 100)
    # stopping early on a large estimate biases the estimate at stopping upwards
    se_mean = res.estimate_at_stop.std() / math.sqrt(res.n_sims)
    assert res.bias > 4 * se_mean


def _posterior_like_rule(stats: LookStats) -> np.ndarray:
    """Stop for success when the normal approximation to P(p_T > p_C) >= 0.95 (unpooled se)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = norm.cdf(stats.estimate / stats.se)
    return np.where(prob >= 0.95, SUCCESS, np.where(prob <= 0.10, FUTILITY, CONTINUE))


def test_matches_brute_force_unit_simulation():
    """The vectorized simulator's false-positive rate for a posterior-style rule (5 looks of
    200 users per arm, p = 0.1) matches a brute-force loop drawing every user, within 4 sd of
    the difference of two MC estimates (20,000 vs 3,000 experiments)."""
    looks = 200 * np.arange(1, 6)
    fast = simulate(_posterior_like_rule, looks, baseline=0.1, n_sims=20_000, seed=3)
    rng = np.random.default_rng(99)
    hits, n_brute = 0, 3000
    for _ in range(n_brute):
        c = rng.random(looks[-1]) < 0.1
        t = rng.random(looks[-1]) < 0.1
        for n in looks:
            pc, pt = c[:n].mean(), t[:n].mean()
            se = math.sqrt(pc * (1 - pc) / n + pt * (1 - pt) / n)
            prob = norm.cdf((pt - pc) / se) if se > 0 else 0.5
            if prob >= 0.95:
                hits += 1
                break
            if prob <= 0.10:
                break
    brute = hits / n_brute
    p = fast.rejection_rate
    sd = math.sqrt(p * (1 - p) / fast.n_sims + p * (1 - p) / n_brute)
    assert fast.rejection_rate == pytest.approx(brute, abs=4 * sd)
    assert p > 0.05  # "P(lift > 0) >= 0.95" is not a 5% error rate under repeated looks


def test_seeded_and_outputs():
    design = group_sequential_design(4, alpha=0.05, sides=2)
    a = simulate(design_rule(design), LOOKS, baseline=0.2, n_sims=2000, seed=5)
    b = simulate(design_rule(design), LOOKS, baseline=0.2, n_sims=2000, seed=5)
    np.testing.assert_array_equal(a.decision, b.decision)
    out = json.loads(json.dumps(a.to_dict()))
    assert {"rejection_rate", "power", "expected_n", "bias"} <= set(out)
    assert "Operating characteristics" in str(a)
    table = operating_characteristics(design_rule(design), LOOKS, effects=[0.0, 0.03],
                                      baseline=0.2, n_sims=2000)
    assert table.shape[0] == 2 and table.loc[1, "power"] > table.loc[0, "power"]


def test_unequal_allocation_looks():
    looks = np.column_stack([900 * np.arange(1, 4), 100 * np.arange(1, 4)])
    res = simulate(lambda s: np.zeros(s.n_control.size, dtype=int), looks, n_sims=100)
    assert (res.n_at_stop == 3000).all() and (res.decision == 0).all()


def test_errors():
    rule = design_rule(group_sequential_design(4))
    with pytest.raises(ModelError, match="metric"):
        simulate(rule, LOOKS, metric="poisson")
    with pytest.raises(DataError, match="grow"):
        simulate(rule, [100, 50, 200, 300])
    with pytest.raises(ModelError, match="looks"):
        simulate(rule, [100, 200], n_sims=10)
    with pytest.raises(ModelError, match="shape"):
        simulate(lambda s: np.zeros(3), LOOKS, n_sims=10)


def test_chunked_rule_calls_give_the_same_simulation(monkeypatch):
    import numpy as np

    from bayeslab.sequential import operating as op
    from bayeslab.sequential.rules import ProbPositive

    looks = np.linspace(500, 5000, 4).astype(int)
    whole = op.simulate(ProbPositive(), looks, n_sims=30_000, seed=5)
    monkeypatch.setattr(op, "CHUNK", 7_000)
    parts = op.simulate(ProbPositive(), looks, n_sims=30_000, seed=5)
    assert np.array_equal(whole.decision, parts.decision)
    assert np.array_equal(whole.stop_look, parts.stop_look)
    assert np.array_equal(whole.estimate_at_stop, parts.estimate_at_stop)


@pytest.mark.slow
def test_ctrl_c_stops_a_million_experiment_simulation_within_a_second(tmp_path):
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    flag = tmp_path / "started"
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        from bayeslab.sequential.operating import simulate
        from bayeslab.sequential.rules import ProbPositive
        open({str(flag)!r}, "w").close()
        try:
            simulate(ProbPositive(), np.linspace(1000, 10000, 10).astype(int), n_sims=1_000_000)
        except KeyboardInterrupt:
            sys.exit(130)
        """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)                       # well inside the simulation (several seconds long)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert time.monotonic() - t0 < 3.0       # well under 1 s quiet; room for a loaded CI

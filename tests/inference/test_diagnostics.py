import numpy as np
import pytest

from bayeslab.core.errors import ModelError
from bayeslab.inference.diagnostics import (
    binomial_replicates,
    diagnose,
    ppc_cells,
    rank_data,
)
from bayeslab.inference.sampling import resolve_sampler, show_progress


def _tree(posterior, diverging=None, energy=None, depth=None):
    import arviz as az

    data = {"posterior": posterior}
    chains, draws = next(iter(posterior.values())).shape[:2]
    rng = np.random.default_rng(1)
    data["sample_stats"] = {
        "diverging": np.zeros((chains, draws), bool) if diverging is None else diverging,
        "energy": rng.standard_normal((chains, draws)) if energy is None else energy,
        "reached_max_treedepth": np.zeros((chains, draws), bool) if depth is None else depth,
    }
    return az.from_dict(data)


def test_independent_draws_pass():
    rng = np.random.default_rng(0)
    post = {"a": rng.standard_normal((4, 1000)), "b": rng.standard_normal((4, 1000, 3))}
    d = diagnose(_tree(post))
    assert d.verdict == "pass" and d.ok
    assert d.reason == "all checks passed"
    out = d.to_dict()
    assert out["r_hat"] < 1.01 and out["ess_bulk"] > 400 and out["divergences"] == 0
    assert set(d.summary()["status"]) == {"pass"}
    assert "PASS" in str(d)


def test_stuck_chain_fails_rhat_and_ess():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 500))
    a[0] += 3.0  # one chain elsewhere
    d = diagnose(_tree({"a": a}))
    assert d.verdict == "fail" and not d.ok
    assert d.check("r_hat").status == "fail"
    assert "no decision" in d.reason and "R-hat" in d.reason


def test_divergences_fail_and_sampler_warnings():
    rng = np.random.default_rng(0)
    div = np.zeros((4, 1000), bool)
    div[1, 10:13] = True
    depth = np.zeros((4, 1000), bool)
    depth[:, :50] = True
    # energy as a random walk: E-BFMI near 0
    energy = np.cumsum(rng.standard_normal((4, 1000)), axis=1)
    d = diagnose(_tree({"a": rng.standard_normal((4, 1000))}, div, energy, depth))
    assert d.check("divergences").value == 3 and d.check("divergences").status == "fail"
    assert d.check("bfmi").status == "warn"
    assert d.check("tree_depth").status == "warn"
    assert d.to_dict()["divergences"] == 3


def test_single_short_chain_flagged():
    rng = np.random.default_rng(0)
    ar = np.zeros((1, 50))
    for t in range(1, 50):  # autocorrelated: low ESS
        ar[0, t] = 0.9 * ar[0, t - 1] + rng.standard_normal()
    d = diagnose(_tree({"a": ar}))
    assert d.verdict == "fail"
    assert d.check("ess_bulk").status == "fail"
    assert d.check("chains").status == "warn"


def test_bad_var_names():
    rng = np.random.default_rng(0)
    with pytest.raises(ModelError, match="not in the posterior"):
        diagnose(_tree({"a": rng.standard_normal((2, 100))}), var_names=["zz"])


def test_ppc_cells_calibrated():
    rng = np.random.default_rng(0)
    n = np.full(40, 500)
    p = rng.uniform(0.05, 0.3, size=40)
    observed = rng.binomial(n, p) / n
    rep = binomial_replicates(n, np.tile(p, (4000, 1)), seed=1)
    check = ppc_cells(observed, rep, interval=0.9)
    # observed drawn from the same law: coverage near 0.9 (binomial sd of the rate ~0.05)
    assert 0.75 <= check.coverage <= 1.0
    assert check.to_dict()["cells"] == 40
    bad = ppc_cells(observed + 0.2, rep)
    assert bad.coverage == 0 and bad.min_p_value == 0
    with pytest.raises(ModelError, match="shape"):
        ppc_cells(observed, rep[:, :3])


def test_rank_data_uniform():
    rng = np.random.default_rng(0)
    edges, counts = rank_data(_tree({"a": rng.standard_normal((2, 400))}), "a")
    assert counts.shape == (2, len(edges) - 1) and counts.sum() == 800


def test_sampler_resolution():
    assert resolve_sampler("auto") in ("pymc", "nutpie")
    assert resolve_sampler("pymc") == "pymc"
    with pytest.raises(ModelError, match="sampler"):
        resolve_sampler("stan")
    assert show_progress(None) is False  # pytest captures stderr: not a terminal
    assert show_progress(True) is True


def test_remedy_answers_short_ess_with_more_draws_and_divergences_with_a_smaller_step():
    from types import SimpleNamespace

    import bayeslab.inference.sampling as sampling

    posterior = {"x": np.random.default_rng(0).standard_normal((2, 100))}
    calls = []

    def fake(model, **kw):
        calls.append(kw)
        return _tree(posterior, diverging=diverging), 0.0, 0.1

    orig = sampling.sample_once
    try:
        sampling.sample_once = fake
        diverging = np.zeros((2, 100), bool)   # 200 independent draws: ESS ~200 < 400
        out = sampling.sample_with_remedy(SimpleNamespace(), draws=100, chains=2, seed=3)
        assert calls[1]["draws"] >= 200 and calls[1]["tune"] == calls[0]["tune"]
        assert f"draws={calls[1]['draws']}" in out.diagnostics.remedy
        calls.clear()
        diverging = np.zeros((2, 100), bool)
        diverging[0, :3] = True
        out = sampling.sample_with_remedy(SimpleNamespace(), draws=100, chains=2, seed=3)
        assert calls[1]["target_accept"] == 0.99 and calls[1]["draws"] == 100
        assert "target_accept=0.99" in out.diagnostics.remedy
    finally:
        sampling.sample_once = orig


def test_keyboard_interrupt_is_raised_not_swallowed():
    import os
    import signal

    import bayeslab.inference.sampling as sampling

    def swallowing_sampler():
        # what PyMC does: catch KeyboardInterrupt and return the chains cut short
        try:
            os.kill(os.getpid(), signal.SIGINT)
            import time
            time.sleep(1)
        except KeyboardInterrupt:
            return "cut short"

    with pytest.raises(KeyboardInterrupt):
        with sampling._keyboard_interrupt_raises():
            assert swallowing_sampler() == "cut short"

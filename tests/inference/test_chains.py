"""Chains in forked processes: same draws as one after the other, errors and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from bayeslab.core.errors import ModelError
from bayeslab.inference.chains import fork_available, run_chains
from tests.signals import sigint_default

needs_fork = pytest.mark.skipif(not fork_available(), reason="no fork start method here")


def _propensity_model(n=400, seed=0):
    from bayeslab.bayes import propensity_nuts as pn
    from bayeslab.bayes.propensity import PropensityPrior

    rng = np.random.default_rng(seed)
    Z1 = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    t = (rng.random(n) < 0.4).astype(int)
    y = Z1 @ [0.2, 0.5, -0.3] + 0.4 * t + rng.standard_normal(n)
    return pn.nutpie_model(Z1, t, "continuous", (y - y.mean()) / y.std(), True,
                           PropensityPrior())


@needs_fork
def test_parallel_chains_give_the_draws_of_the_serial_path():
    """Each chain has its own seed (chain_seeds), so processes or not, the draws are equal."""
    pytest.importorskip("nutpie")
    from bayeslab.inference.sampling import chain_seeds, sample_nutpie_model

    model = _propensity_model()
    kw = dict(draws=200, tune=200, chains=3, seed=11, progressbar=False)
    serial, _ = sample_nutpie_model(model, cores=1, **kw)
    parallel, _ = sample_nutpie_model(model, cores=2, **kw)
    for group in ("posterior", "sample_stats"):
        a, b = serial[group].to_dataset(), parallel[group].to_dataset()
        assert list(a["chain"].values) == [0, 1, 2] == list(b["chain"].values)
        for name in a.data_vars:
            np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    # and the chains differ from each other (distinct seeds), and from another seed
    beta = serial["posterior"]["beta"].values
    assert not np.array_equal(beta[0], beta[1])
    assert len(set(chain_seeds(11, 3))) == 3 and chain_seeds(11, 3) != chain_seeds(12, 3)
    other, _ = sample_nutpie_model(model, cores=2, **dict(kw, seed=12))
    assert not np.array_equal(other["posterior"]["beta"].values, beta)


@needs_fork
def test_pymc_model_on_the_default_backend_runs_its_chains_in_processes_too():
    pm = pytest.importorskip("pymc")
    pytest.importorskip("nutpie")
    from bayeslab.inference.sampling import sample_once

    with pm.Model() as model:
        pm.Normal("x", 1.0, 2.0, shape=2)
    kw = dict(draws=300, tune=300, chains=2, seed=4, sampler="nutpie", progressbar=False)
    a, _, _ = sample_once(model, cores=1, **kw)
    b, _, _ = sample_once(model, cores=2, **kw)
    np.testing.assert_array_equal(a["posterior"]["x"].values, b["posterior"]["x"].values)
    x = a["posterior"]["x"].values.reshape(-1, 2)
    np.testing.assert_allclose(x.mean(0), 1.0, atol=0.35)     # N(1, 2): 600 draws
    np.testing.assert_allclose(x.std(0), 2.0, rtol=0.2)


@needs_fork
def test_a_failing_chain_raises_with_its_traceback():
    def run_one(seed, show):
        raise ValueError(f"bad seed {seed}")

    with pytest.raises(ModelError, match=r"ValueError: bad seed [12]"):
        run_chains(run_one, [1, 2], workers=2)


@needs_fork
def test_ctrl_c_ends_every_chain_process(tmp_path):
    """SIGINT to the command: it exits 130 at once, silent, and leaves no process behind."""
    script = textwrap.dedent(f"""
        import os, sys, time
        from bayeslab.inference.chains import run_chains
        def run_one(seed, show):
            open(os.path.join({str(tmp_path)!r}, str(os.getpid())), "w").close()
            time.sleep(120)
        try:
            run_chains(run_one, [1, 2], workers=2)
        except KeyboardInterrupt:
            sys.exit(130)
        """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    deadline = time.monotonic() + 60
    while len(os.listdir(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    children = [int(p) for p in os.listdir(tmp_path)]
    assert len(children) == 2
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.monotonic() - t0 < 10
    assert err == "" and out == ""
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _in_daemon(queue):
    def run_one(seed, show):
        import xarray as xr

        return xr.DataTree.from_dict({"posterior": xr.Dataset(
            {"x": (("chain", "draw"), [[float(seed)]])})})

    tree = run_chains(run_one, [1, 2], workers=2)
    queue.put(tree["posterior"]["x"].values.ravel().tolist())


@needs_fork
def test_inside_a_daemon_process_the_chains_run_in_sequence():
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_in_daemon, args=(queue,), daemon=True)
    with warnings.catch_warnings():     # "this process is multi-threaded": the test's own fork
        warnings.simplefilter("ignore", DeprecationWarning)
        proc.start()
    assert queue.get(timeout=60) == [1.0, 2.0]
    proc.join(timeout=30)

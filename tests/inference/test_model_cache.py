"""The compiled-model cache: same draws from a loaded model, a bad file is a miss with a warning."""

import pickle
import warnings

import numpy as np
import pytest

from bayeslab.core.errors import CacheWarning
from bayeslab.inference import model_cache
from bayeslab.inference.sampling import clear_compiled, sample_once
from tests.segment_data import simulate_segments


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(model_cache.ENV_DIR, str(folder))
    clear_compiled()            # the in-process cache would hide the disk
    yield folder / "compiled"
    clear_compiled()


def _model(y, prior_sd=2.0):
    import pymc as pm

    with pm.Model() as model:
        data = pm.Data("y", y)
        mu = pm.Normal("mu", 0.0, prior_sd)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("obs", mu, sigma, observed=data)
    return model


def _draws(model):
    tree, _, _ = sample_once(model, draws=60, tune=60, chains=1, seed=5, progressbar=False)
    return tree["posterior"]["mu"].values.ravel()


def _files(folder):
    return sorted(folder.glob("*.pkl"))


def test_loaded_model_gives_the_same_draws_as_a_fresh_compile(cache):
    y = np.random.default_rng(0).normal(1.0, 1.0, 40)
    fresh = _draws(_model(y))
    assert len(_files(cache)) == 1
    clear_compiled()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        loaded = _draws(_model(y))
    np.testing.assert_array_equal(loaded, fresh)
    # other data of the same shape reuses the file; the draws follow the new data
    clear_compiled()
    shifted = _draws(_model(y + 10.0))
    assert len(_files(cache)) == 1
    assert shifted.mean() == pytest.approx(fresh.mean() + 10.0, abs=0.7)


def test_the_file_holds_no_data_values(cache):
    y = np.full(25, 123.456)
    _draws(_model(y))
    stored = pickle.loads(_files(cache)[0].read_bytes())["payload"]
    shared = stored["logp"].get_shared()
    assert [v.name for v in shared] == ["y"]
    assert not np.any(shared[0].get_value() == 123.456)


def test_a_model_holding_data_in_its_graph_is_not_written(cache):
    import pymc as pm

    y = np.random.default_rng(3).normal(0.0, 1.0, 30)
    with pm.Model() as observed_constant:            # observed values not in pm.Data
        pm.Normal("obs", pm.Normal("mu", 0.0, 1.0), 1.0, observed=y)
    assert model_cache.fingerprint(observed_constant) is None
    x = np.random.default_rng(4).normal(size=20_000)  # 160 kB of covariate in the graph
    with pm.Model() as big_constant:
        beta = pm.Normal("beta", 0.0, 1.0)
        pm.Normal("obs", beta * x, 1.0, observed=pm.Data("y", x))
    assert model_cache.fingerprint(big_constant) is None
    tree, _, _ = sample_once(observed_constant, draws=20, tune=20, chains=1, seed=1,
                             progressbar=False)
    assert tree["posterior"]["mu"].size == 20
    assert _files(cache) == []


def test_another_model_gets_another_file(cache):
    y = np.random.default_rng(1).normal(0.0, 1.0, 30)
    _draws(_model(y))
    clear_compiled()
    _draws(_model(y, prior_sd=3.0))          # a changed prior constant
    clear_compiled()
    _draws(_model(y[:20]))                   # another data shape
    assert len(_files(cache)) == 3


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other-env", "writable-by-others"])
def test_a_bad_file_warns_once_and_the_fit_is_unchanged(cache, damage):
    y = np.random.default_rng(2).normal(0.5, 1.0, 30)
    fresh = _draws(_model(y))
    (path,) = _files(cache)
    blob = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a pickle at all")
    elif damage == "other-env":
        stored = pickle.loads(blob)
        stored["env"] = {**stored["env"], "pytensor": "0.0.1"}
        path.write_bytes(pickle.dumps(stored))
    else:  # anyone could have replaced it: a pickle from there is never loaded
        path.chmod(0o666)
    clear_compiled()
    with pytest.warns(CacheWarning, match="unreadable compiled-model cache") as caught:
        again = _draws(_model(y))
    assert len([w for w in caught if issubclass(w.category, CacheWarning)]) == 1
    np.testing.assert_array_equal(again, fresh)
    # the bad file was replaced by a good one
    clear_compiled()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        np.testing.assert_array_equal(_draws(_model(y)), fresh)


def test_corrupt_cache_file_still_gives_the_right_segment_readout(cache):
    from bayeslab.bayes.segments import HierarchicalSegments

    stats, _ = simulate_segments(segments=4, seed=3, n_per_arm=2000)
    est = HierarchicalSegments(draws=200, tune=300, chains=2, seed=1, progressbar=False)
    first = est.fit(stats)
    (path,) = _files(cache)
    path.write_bytes(path.read_bytes()[:1000])
    clear_compiled()
    with pytest.warns(CacheWarning):
        second = est.fit(stats)
    np.testing.assert_allclose(second.table["abs_mean"], first.table["abs_mean"], rtol=0, atol=0)
    assert second.diagnostics.verdict == first.diagnostics.verdict


def test_size_cap_removes_least_recently_used(cache, monkeypatch):
    cache.mkdir(parents=True)
    for i, age in enumerate((300, 200, 100)):
        p = cache / f"{i}.pkl"
        p.write_bytes(b"x" * 600_000)
        import os
        os.utime(p, (1e9 - age, 1e9 - age))
    monkeypatch.setenv(model_cache.ENV_MAX_MB, "1.2")
    assert model_cache.prune() == 600_000
    assert [p.name for p in _files(cache)] == ["1.pkl", "2.pkl"]
    assert model_cache.clear() == 2


def test_cache_off(monkeypatch, tmp_path):
    monkeypatch.setenv(model_cache.ENV_DIR, "off")
    assert model_cache.cache_dir() is None
    assert model_cache.store("abc", {"x": 1}) is None
    assert model_cache.load("abc") is None


def test_unwritable_folder_warns_and_fits(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv(model_cache.ENV_DIR, str(blocker))
    clear_compiled()
    y = np.random.default_rng(4).normal(0.0, 1.0, 20)
    with pytest.warns(CacheWarning, match="could not write"):
        draws = _draws(_model(y))
    assert np.isfinite(draws).all()
    clear_compiled()


def test_cli_with_a_corrupt_cache_file_gives_the_same_readout_and_one_warning(
        cache, tmp_path, capsys):
    """`bayeslab compare --segment`: the same JSON readout after the cache file was damaged,
    and one warning line on stderr."""
    import json

    import pandas as pd

    from bayeslab.cli import main

    rng = np.random.default_rng(7)
    n = 6000
    frame = pd.DataFrame({"arm": np.tile([0, 1], n // 2), "seg": rng.choice(["a", "b", "c"], n)})
    frame["y"] = (rng.random(n) < 0.10 + 0.02 * frame["arm"]).astype(int)
    data = tmp_path / "d.parquet"
    frame.to_parquet(data)
    args = ["compare", str(data), "--arm", "arm", "--metric", "y", "--segment", "seg",
            "--draws", "200", "--tune", "300", "--chains", "2", "--seed", "3",
            "--format", "json", "--quiet"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "warning" not in first.err
    (path,) = _files(cache)
    path.write_bytes(b"\x80\x05garbage")
    clear_compiled()
    assert main(args) == 0
    second = capsys.readouterr()
    lines = [x for x in second.err.splitlines() if "compiled-model cache" in x]
    assert len(lines) == 1 and lines[0].startswith("bayeslab: warning: ignored an unreadable")

    def numbers(text):
        doc = json.loads(text)
        doc.pop("timings", None)
        return doc

    assert numbers(second.out) == numbers(first.out)

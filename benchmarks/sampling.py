"""Sampled models: compile seconds cold and warm, sampling seconds, ESS/s and divergences.

Run: .venv/bin/python benchmarks/sampling.py [--models segments8,...] [--samplers nutpie,pymc]
     .venv/bin/python benchmarks/sampling.py --sweep     (segment columns x seeds 1-10)
     .venv/bin/python benchmarks/sampling.py --plans     (`bayeslab run` first and second run)
     .venv/bin/python benchmarks/sampling.py --examples  (does any example need the remedy?)

Each (model, sampler) runs twice in a fresh Python process: "cold" with empty PyTensor / numba
caches (a first run after install), "warm" with the caches the cold run left (every later
process). ``compile`` is model building plus compiling (nutpie) or PyMC's initialisation;
``reuse`` is a second fit of the same structure in the same process (new data, no compile).
Samplers: ``nutpie`` (bayeslab's default: nutpie over PyTensor's disk-cached numba functions,
chains in forked processes; for the propensity model its hand-written numpy density, nothing
to compile), ``pymc`` (PyMC's NUTS, PyTensor's C backend); ``nutpie-numba`` (nutpie's own numba
C callback, recompiled in every process) and ``nutpie-jax`` (``pip install jax``) on request.
Every fit: 2 chains x 1000 draws after 1000 tuning steps, as the shipped plans, except the robust
and hurdle revenue models (both samplers) and PyMC on the 1e5-row and 200-cell models: 200 draws
after 200 tuning steps (the "draws" column says so; read ESS/s across them).
``--home-cache`` uses the user's own caches (warm after any earlier fit) for the compile-warm
column only. Retention is not sampled: its posterior is one-dimensional, integrated on a grid.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("segments8", "segments16", "segments200", "propensity1e4", "propensity1e5",
          "robust1e5", "hurdle1e5", "retention")
SAMPLERS = ("nutpie", "pymc")
SETTINGS = dict(draws=1000, tune=1000, chains=2)


# ------------------------------------------------------------------ models (built in-process)


def _propensity_units(rows: int, seed: int):
    """Unit rows of a simulated rollout: 8 confounders, binary outcome, logit effect 0.2."""
    import pandas as pd

    from bayeslab.data.units import load_units

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 8))
    t = rng.random(rows) < 1 / (1 + np.exp(-(x @ np.linspace(-0.4, 0.4, 8))))
    y = rng.random(rows) < 1 / (1 + np.exp(-(-1 + 0.2 * t + x @ np.full(8, 0.15))))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["arm"], frame["y"] = np.where(t, "B", "A"), y.astype(int)
    units = load_units(frame, arm="arm", metric="y", confounders=[f"x{i}" for i in range(8)],
                       control="A")
    return units


def _segments(cells: int, seed: int):
    from bayeslab.bayes import segments as seg

    if cells == 8:
        from bayeslab.data.sources import open_source
        from bayeslab.data.stats import sufficient_stats
        from bayeslab.scenarios import simulate

        sc = simulate("migration", rows=50_000, seed=seed)
        stats = sufficient_stats(open_source(sc.data), arm="treatment",
                                 metric="ps5_purchase_30d", control="0",
                                 segments=["ps_plus_member", "spend_tier"])
    else:
        sys.path.insert(0, str(ROOT / "tests"))
        from segment_data import simulate_segments

        stats, _ = simulate_segments(segments=cells, n_per_arm=int(1e6 / (2 * cells)),
                                     seed=seed)
    data = seg.prepare_cells(stats, "logistic")
    prior = seg.SegmentPriors()
    par = seg._auto_parameterization(data, "logistic", prior)
    model = seg.build_model(data, family="logistic", prior=prior, parameterization=par)
    return model, seg.model_key(data, family="logistic", prior=prior, parameterization=par)


def _propensity(rows: int, seed: int, sampler: str):
    """The DR propensity model on ``rows`` units x 8 confounders, binary outcome.

    ``nutpie``: bayeslab's default, the hand-written numpy density
    (:mod:`bayeslab.bayes.propensity_nuts`); otherwise the same model in PyMC.
    """

    from bayeslab.bayes import propensity_nuts as pn
    from bayeslab.bayes.propensity import PropensityPrior, _outcome_scale
    from bayeslab.kernels.propensity_design import design

    units = _propensity_units(rows, seed)
    ys, _ = _outcome_scale(units)
    args = (design(units), units.t, units.kind, ys, True, PropensityPrior())
    if sampler == "nutpie":
        return pn.nutpie_model(*args), None
    return pn.build_pymc_model(*args), ("propensity-pymc", rows)


class _Captured(Exception):
    pass


def _revenue(kind: str, rows: int, seed: int):
    import bayeslab.bayes.revenue_mcmc as rv
    from bayeslab.data.moments import UnitRows

    rng = np.random.default_rng(seed)
    d = rng.integers(0, 2, rows)
    x = rng.gamma(1.5, 30, rows)
    if kind == "robust":
        y = 20 + 0.5 * x + 3 * d + 4 * rng.standard_t(3, rows)
    else:
        buy = rng.random(rows) < 0.4 + 0.02 * d
        y = np.where(buy, rng.lognormal(np.log(20 + 0.5 * x), 0.8), 0.0)
    captured = {}
    real = rv._sample

    def fake(model, **kwargs):
        captured["model"], captured["key"] = model, kwargs.get("key")
        raise _Captured

    rv._sample = fake
    try:
        fn = rv.robust_regression if kind == "robust" else rv.hurdle_regression
        fn(UnitRows.from_arrays(d, y, x), seed=seed)
    except _Captured:
        pass
    finally:
        rv._sample = real
    return captured["model"], captured["key"]


def build(name: str, seed: int, sampler: str = "pymc"):
    """(model, structure key) of benchmark model ``name``: a PyMC model, or for the propensity
    model with ``sampler="nutpie"`` the nutpie model over its hand-written density."""
    if name.startswith("segments"):
        return _segments(int(name.removeprefix("segments")), seed)
    if name.startswith("propensity"):
        return _propensity(int(float(name.removeprefix("propensity"))), seed, sampler)
    kind, rows = name[:-3], int(float(name[-3:]))
    return _revenue(kind, rows, seed)


def settings(name: str, sampler: str) -> dict:
    """Draws of one benchmark fit: the plans' 2 x 1000 (+1000 tuning), fewer where slow."""
    if (sampler == "pymc" and (name.endswith("1e5") or name == "segments200")
            or name in ("robust1e5", "hurdle1e5")):
        return dict(draws=200, tune=200, chains=2)
    return dict(SETTINGS)


def one(name: str, sampler: str) -> dict:
    """Time one model with one sampler in this process; a second fit measures reuse."""
    from bayeslab.inference.diagnostics import diagnose
    from bayeslab.inference.sampling import sample_nutpie_model, sample_once

    warnings.simplefilter("ignore")
    out = {"model": name, "sampler": sampler, "settings": settings(name, sampler)}
    kernel = name.startswith("propensity") and sampler == "nutpie"
    for rep, seed in (("first", 1), ("reuse", 2)):
        t0 = time.perf_counter()
        model, key = build(name, seed, sampler)
        t_build = time.perf_counter() - t0
        backend = {"nutpie-numba": "numba", "nutpie-jax": "jax"}.get(sampler, "pytensor")
        kw = dict(sampler="pymc") if sampler == "pymc" else dict(sampler="nutpie",
                                                                  backend=backend)
        if kernel:   # nothing to compile: building the model is its whole set-up
            idata, s_s = sample_nutpie_model(model, seed=seed, progressbar=False,
                                             **out["settings"])
            c_s = t_build
        else:
            idata, c_s, s_s = sample_once(model, seed=seed, progressbar=False, key=key, **kw,
                                          **out["settings"])
        diag = diagnose(idata).to_dict()
        ess = min(diag["ess_bulk"], diag["ess_tail"])
        steps = idata["sample_stats"]["n_steps"].values      # leapfrog steps per draw
        out[rep] = {"build_s": t_build, "compile_s": c_s, "sample_s": s_s,
                    "fit_s": c_s + s_s, "ess_min": ess, "ess_per_s": ess / s_s,
                    "divergences": diag["divergences"], "r_hat": diag["r_hat"],
                    "mean_steps": float(np.mean(steps))}
        if sampler in ("pymc", "nutpie-jax") or name.endswith("1e5") or kernel:
            # no compiled-model reuse (PyMC; nutpie freezes the data into JAX models; the
            # propensity kernel compiles nothing); the 1e5-row models: sampling dominates
            break
    return out


# ------------------------------------------------------------------ drivers


def _env(cache: str | None) -> dict:
    """Environment of a child: empty caches under ``cache``, or the user's (``None``)."""
    if cache is None:
        return dict(os.environ, PYTHONPATH=str(ROOT))
    return dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={cache}/pytensor",
                NUMBA_CACHE_DIR=f"{cache}/numba", PYTHONPATH=str(ROOT))


def _child(args: list[str], env: dict) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def table(models, samplers, do_cold=True, home_cache=False) -> list[dict]:
    rows = []
    print(f"{'model':<14} {'sampler':<13} {'compile cold':>12} {'compile warm':>12} "
          f"{'reuse':>6} {'sample s':>8} {'ESS/s':>7} {'div':>4} {'R-hat':>6} {'steps':>5} "
          f"draws", flush=True)
    for name in models:
        if name == "retention":
            print(f"{name:<14} not sampled: its posterior is one-dimensional and integrated on "
                  "a grid (milliseconds)", flush=True)
            continue
        for sampler in samplers:
            with tempfile.TemporaryDirectory() as cache:
                warm = _child(["--one", name, sampler], _env(None if home_cache else cache))
                if do_cold and not home_cache:
                    cold, warm = warm, _child(["--one", name, sampler], _env(cache))
                else:
                    cold = {"first": {"compile_s": float("nan")}}
            if "error" in cold or "error" in warm:
                print(f"{name:<14} {sampler:<13} failed: {cold.get('error') or warm.get('error')}")
                continue
            w = warm["first"]
            reuse = warm.get("reuse", {}).get("compile_s", float("nan"))
            rows.append({"model": name, "sampler": sampler, "cold": cold["first"], "warm": w,
                         "reuse": warm.get("reuse")})
            print(f"{name:<14} {sampler:<13} {cold['first']['compile_s']:>12.1f} "
                  f"{w['compile_s']:>12.1f} {reuse:>6.2f} {w['sample_s']:>8.2f} "
                  f"{w['ess_per_s']:>7.0f} {w['divergences']:>4} {w['r_hat']:>6.3f} "
                  f"{w['mean_steps']:>5.1f} {warm['settings']}", flush=True)
    return rows


def readout_child(rows: int) -> dict:
    """The Bayesian propensity readout (DR, ATE, NUTS at its defaults) on ``rows`` x 8, timed
    from a fresh process: imports, data, sampling, weighting."""
    t0 = time.perf_counter()

    from bayeslab.bayes.propensity import BayesPropensity

    units = _propensity_units(rows, 1)
    t1 = time.perf_counter()
    res = BayesPropensity("ate", progressbar=False).fit(units)
    t2 = time.perf_counter()
    d = res.diagnostics.to_dict()
    return {"imports_data_s": t1 - t0, "fit_s": t2 - t1, "divergences": d["divergences"],
            "r_hat": d["r_hat"], "verdict": d["verdict"]}


def readouts(rows=(10_000,)) -> None:
    """Bayesian propensity readout, fresh process each (load average printed)."""
    for n in rows:
        load = os.getloadavg()[0]
        out = _child(["--readout", str(n)], dict(os.environ, PYTHONPATH=str(ROOT)))
        if "error" in out:
            print(f"propensity readout {n:,} x 8: failed: {out['error']}", flush=True)
            continue
        print(f"propensity readout {n:,} x 8 (DR, 2 x 1000 draws): fit {out['fit_s']:.1f} s "
              f"(+ {out['imports_data_s']:.1f} s imports and data), divergences "
              f"{out['divergences']}, R-hat {out['r_hat']:.3f}, {out['verdict']}; load "
              f"{load:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)


def plans(names=("migration", "homepage")) -> None:
    """`bayeslab run` of shipped plans: first run after install (cold caches), then second."""
    exe = Path(sys.executable).with_name("bayeslab")
    for plan in names:
        with tempfile.TemporaryDirectory() as cache:
            env = _env(cache)
            times = []
            for _ in range(2):
                with tempfile.TemporaryDirectory() as out:
                    t0 = time.perf_counter()
                    res = subprocess.run([str(exe), "run", str(ROOT / "models" / f"{plan}.toml"),
                                          "--out", f"{out}/run", "--quiet"], env=env,
                                         capture_output=True, text=True, check=False)
                    times.append(time.perf_counter() - t0)
                    readout = Path(out, "run", "readout.json")
                    remedy = ("remedy" in readout.read_text() and
                              '"remedy": null' not in readout.read_text()
                              if readout.exists() else None)
            print(f"bayeslab run models/{plan}.toml: first {times[0]:.1f} s, second "
                  f"{times[1]:.1f} s (exit {res.returncode}); remedy fired: {remedy}",
                  flush=True)


def example_child(path: str) -> dict:
    """Run one example script as a user would, counting sampled fits and remedies."""
    import contextlib
    import io
    import runpy

    import bayeslab.inference.sampling as sampling

    real, seen = sampling.sample_with_remedy, []

    def recording(*a, **kw):
        out = real(*a, **kw)
        seen.append(out.diagnostics.remedy)
        return out

    sampling.sample_with_remedy = recording
    sys.argv = [path]
    sys.path.insert(0, str(Path(path).parent))
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit:
            pass
    return {"example": Path(path).name, "fits": len(seen),
            "remedies": sum(r is not None for r in seen), "s": time.perf_counter() - t0}


def examples() -> None:
    """Each example with its default arguments: does any segment fit need the remedy?"""
    for path in sorted((ROOT / "examples").glob("0*.py")):
        out = _child(["--example", str(path)], dict(os.environ, PYTHONPATH=str(ROOT)))
        if "error" in out:
            print(f"{path.name:<22} failed: {out['error']}", flush=True)
            continue
        print(f"{path.name:<22} {out['fits']} sampled segment fits, remedy fired in "
              f"{out['remedies']}; {out['s']:.0f} s", flush=True)


SWEEP = [("migration", "ps5_purchase_30d", c) for c in
         (("ps_plus_member", "spend_tier"), ("ps_plus_member",), ("spend_tier",),
          ("engagement_tier",), ("stratum",))]
SWEEP += [("homepage", m, c) for m in ("is_converted", "is_clicked")
          for c in (("city_tier", "user_type"), ("city_tier",), ("user_type",))]
SWEEP += [("musicstream", m, c) for m in ("songs_played", "converted")
          for c in (("device",), ("country",), ("age_group",))]


def sweep(seeds=range(1, 11), only: str | None = None) -> int:
    """Segment model of each scenario segment column at each seed: divergences, R-hat, ESS.

    At the defaults of :func:`fit_segments` (4 chains); the plans' 2-chain settings are timed by
    ``--models segments8`` and ``--plans``.
    """
    from bayeslab.bayes.segments import fit_segments
    from bayeslab.data.sources import open_source
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.scenarios import simulate

    warnings.simplefilter("ignore")
    bad = 0
    for scen, metric, cols in SWEEP:
        if only and only not in scen:
            continue
        worst = {"div": 0, "rhat": 0.0, "ess": np.inf, "fail": 0, "s": []}
        for seed in seeds:
            sc = simulate(scen, seed=seed)
            r = sc.roles
            binary = set(np.unique(sc.data[metric])) <= {0, 1}
            stats = sufficient_stats(open_source(sc.data), arm=r["arm"], metric=metric,
                                     control=r["control"], segments=list(cols),
                                     kind="binary" if binary else "continuous")
            t0 = time.perf_counter()
            # fit_segments' defaults (4 chains x 1000 draws, 1000 tuning), without the remedy
            fit = fit_segments(stats, seed=seed, progressbar=False, remedy=False)
            worst["s"].append(time.perf_counter() - t0)
            d = fit.diagnostics.to_dict()
            worst["div"] += d["divergences"]
            worst["rhat"] = max(worst["rhat"], d["r_hat"])
            worst["ess"] = min(worst["ess"], d["ess_bulk"], d["ess_tail"])
            worst["fail"] += d["verdict"] == "fail"
        bad += worst["fail"]
        print(f"{scen:<12} {metric:<17} {' x '.join(cols):<30} divergences {worst['div']:>3}  "
              f"max R-hat {worst['rhat']:.4f}  min ESS {worst['ess']:6.0f}  failed "
              f"{worst['fail']}/{len(seeds)}  median fit {np.median(worst['s']):.1f} s",
              flush=True)
    return bad


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--samplers", default=",".join(SAMPLERS))
    p.add_argument("--one", nargs=2, metavar=("MODEL", "SAMPLER"), help=argparse.SUPPRESS)
    p.add_argument("--sweep", nargs="?", const="", metavar="SCENARIO",
                   help="segment columns x seeds 1-10 (of one scenario when named)")
    p.add_argument("--plans", action="store_true", help="time `bayeslab run` of shipped plans")
    p.add_argument("--example", help=argparse.SUPPRESS)
    p.add_argument("--readout", type=int, help=argparse.SUPPRESS)
    p.add_argument("--readouts", action="store_true",
                   help="time the Bayesian propensity readout (1e4 x 8) in a fresh process")
    p.add_argument("--examples", action="store_true",
                   help="run each example: does any segment fit need the remedy?")
    p.add_argument("--warm-only", action="store_true",
                   help="one process per model (its compile is then the cold one)")
    p.add_argument("--home-cache", action="store_true",
                   help="one process per model with the user's own PyTensor / numba caches "
                        "(warm after any earlier fit): compile warm only")
    args = p.parse_args(argv)
    if args.example:
        print(json.dumps(example_child(args.example)))
        return 0
    if args.readout:
        warnings.simplefilter("ignore")
        print(json.dumps(readout_child(args.readout)))
        return 0
    if args.readouts:
        readouts()
        return 0
    if args.examples:
        examples()
        return 0
    if args.one:
        print(json.dumps(one(*args.one)))
        return 0
    print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; 2 chains x 1000 draws (1000 tuning)", flush=True)
    if args.sweep is not None:
        return 1 if sweep(only=args.sweep or None) else 0
    if args.plans:
        plans()
        return 0
    table(args.models.split(","), args.samplers.split(","), do_cold=not args.warm_only,
          home_cache=args.home_cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Compile the shipped demo's sampled model once, so the README's first command finds it cached.

It lives beside the scenarios (it simulates the migration scenario to get the model's exact
shapes) rather than in :mod:`bayeslab.bayes.segments`, which must not import the simulator.
"""

from __future__ import annotations


def warm_compile_cache() -> float:
    """Compile the shipped migration plan's segment model once, to fill the on-disk cache.

    ``scripts/setup.sh`` calls this so the README's first command does not pay the one-time
    compile (minutes on a busy 2-core machine with empty PyTensor / numba caches). Nothing is
    sampled. Returns the seconds spent.
    """
    import time

    from bayeslab.bayes.segments import SegmentPriors
    from bayeslab.bayes.segments.cells import prepare_cells
    from bayeslab.bayes.segments.model import auto_parameterization, build_model, model_key
    from bayeslab.data.sources import open_source
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.inference.sampling import compile_for_nutpie
    from bayeslab.scenarios import simulate

    t0 = time.perf_counter()
    sc = simulate("migration", rows=50_000, seed=1)
    stats = sufficient_stats(open_source(sc.data), arm="treatment", metric="ps5_purchase_30d",
                             control="0", segments=["ps_plus_member", "spend_tier"])
    data = prepare_cells(stats, "logistic")
    prior = SegmentPriors()
    par = auto_parameterization(data, "logistic", prior)
    model = build_model(data, family="logistic", prior=prior, parameterization=par)
    compile_for_nutpie(model, key=model_key(data, family="logistic", prior=prior,
                                            parameterization=par))
    return time.perf_counter() - t0

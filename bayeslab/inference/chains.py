"""Running nutpie's chains: in its threads, or in forked processes when the model holds the GIL.

nutpie runs a model that calls its log density through Python (PyTensor's numba functions, a
hand-written numpy density) in threads, which take turns on the GIL: two chains take twice as
long as one. :func:`run_chains` forks one process per chain, after the model is compiled, so the
children share the compiled functions (copy-on-write) and compile nothing; each samples one chain
with its own seed and sends back its groups (posterior, sample stats, warm-up), which are joined
along ``chain``. With ``workers=1``, or where ``fork`` is unavailable (Windows, macOS default),
the chains run in this process one after the other, with the same seeds and the same draws.

Ctrl-C ends every child and raises ``KeyboardInterrupt`` (:mod:`bayeslab.inference.forks`).
"""

from __future__ import annotations

import contextlib
import os
import time

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.inference.forks import fork_available, fork_map  # noqa: F401  (fork_available re-exported)


def chain_seeds(seed: int, chains: int) -> list[int]:
    """One seed per chain, derived from ``seed`` (the same whichever way the chains run)."""
    states = np.random.SeedSequence(int(seed)).spawn(chains)
    return [int(s.generate_state(1, dtype=np.uint32)[0]) for s in states]


def _is_pyfunc(nutpie_model) -> bool:
    """A model whose log density nutpie calls through Python (holding the GIL)."""
    return type(nutpie_model).__name__ == "PyFuncModel"


def sample_nutpie_model(nutpie_model, *, draws=1000, tune=1000, chains=4, seed=0,
                        target_accept=0.9, cores=None, progressbar=None):
    """Sample a model already compiled for nutpie; return ``(idata, sample_s)``.

    A model whose log density nutpie calls through Python (PyTensor's numba functions, the
    default backend, or a hand-written density such as the propensity model's) holds the GIL at
    every gradient, so nutpie's threads run its chains one at a time. Such a model is sampled
    chain by chain, each chain with its own seed from :func:`chain_seeds`: in forked processes,
    ``cores`` at a time (default: one per chain, up to the CPU count), or in this process one
    after the other when ``cores=1`` or ``fork`` is unavailable. Both ways give the same
    draws for the same seed. Other models (nutpie's numba and JAX backends) run in nutpie's
    threads. Progress on a terminal only (``progressbar=None``); with processes, the first
    chain's.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C: the chains are cancelled (child processes ended), not returned cut short.
    ModelError
        A chain's process failed.
    """
    from bayeslab.core.progress import end_bar, show_progress

    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
    bar = show_progress(progressbar)
    t1 = time.perf_counter()
    if not _is_pyfunc(nutpie_model):
        out = _nutpie_run(nutpie_model, draws=draws, tune=tune, chains=chains, seed=seed,
                          target_accept=target_accept, cores=cores, progress_bar=bar)
        end_bar(bar)
        return out, time.perf_counter() - t1
    seeds = chain_seeds(seed, chains)
    workers = min(chains, os.cpu_count() or 1) if cores is None else max(1, int(cores))

    def one_chain(chain_seed, show):
        with one_blas_thread():
            return _nutpie_run(nutpie_model, draws=draws, tune=tune, chains=1, seed=chain_seed,
                               target_accept=target_accept, cores=1, progress_bar=show)

    out = run_chains(one_chain, seeds, workers=workers, progressbar=bar)
    end_bar(bar)
    return out, time.perf_counter() - t1


def one_blas_thread():
    """Limit BLAS to one thread while a chain samples (the chains are the parallelism).

    A 1e5 x 9 matrix-vector product took 11-18 ms with OpenBLAS's threads on a busy 2-core
    machine, 0.2-0.5 ms in one thread. Uses ``threadpoolctl`` (a PyMC dependency) when present.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - PyMC depends on it
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _nutpie_run(nutpie_model, *, draws, tune, chains, seed, target_accept, cores, progress_bar):
    import nutpie

    kwargs = {} if cores is None else {"cores": int(cores)}
    run = nutpie.sample(nutpie_model, draws=draws, tune=tune, chains=chains, seed=seed,
                        target_accept=target_accept, progress_bar=progress_bar,
                        blocking=False, **kwargs)
    try:
        out = run.wait()
    except KeyboardInterrupt:
        run.cancel()
        raise
    if not hasattr(out, "children"):
        import arviz as az

        out = az.convert_to_datatree(out)
    return out


def join_chains(trees):
    """One DataTree from single-chain DataTrees: groups with a ``chain`` dimension joined."""
    import xarray as xr

    groups = {}
    for name in trees[0].children:
        parts = [t[name].to_dataset() for t in trees]
        if "chain" in parts[0].dims:
            ds = xr.concat(parts, dim="chain", combine_attrs="drop_conflicts")
            ds = ds.assign_coords(chain=np.arange(len(trees)))
        else:
            ds = parts[0]
        groups[name] = ds
    tree = xr.DataTree.from_dict(groups)
    tree.attrs.update(trees[0].attrs)
    return tree


def _chain_groups(tree) -> tuple:
    """A sampled chain as picklable groups (what a child process sends back)."""
    return {name: tree[name].to_dataset() for name in tree.children}, dict(tree.attrs)


def _from_groups(groups_attrs):
    import xarray as xr

    groups, attrs = groups_attrs
    tree = xr.DataTree.from_dict(groups)
    tree.attrs.update(attrs)
    return tree


def run_chains(run_one, seeds, *, workers: int, progressbar: bool = False):
    """Run ``run_one(seed, show_progress) -> DataTree`` once per seed; join the chains.

    Parameters
    ----------
    run_one : callable
        Samples one chain with the given seed; ``show_progress`` is True for the first chain
        only, when ``progressbar``.
    seeds : list of int
        One per chain, in chain order.
    workers : int
        Processes at a time (:func:`bayeslab.inference.forks.fork_map`); 1 runs the chains here, one
        after the other.
    progressbar : bool

    Returns
    -------
    xarray.DataTree

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C; every child process has ended.
    ModelError
        A child failed (its traceback in the message).
    """
    def one(i_seed):
        i, s = i_seed
        return _chain_groups(run_one(s, progressbar and i == 0))

    parts = fork_map(one, list(enumerate(seeds)), workers=workers, error=ModelError)
    return join_chains([_from_groups(p) for p in parts])

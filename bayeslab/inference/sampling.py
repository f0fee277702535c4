"""Sampling: nutpie by default, one compile per model structure, a safe remedy, Ctrl-C that stops.

:func:`sample_with_remedy` samples a PyMC model with nutpie (default) or PyMC's own NUTS
(``sampler="pymc"``) and, when the first fit fails its diagnostics, refits once: with a smaller
step (more tuning, ``target_accept`` 0.99) when it diverged or did not mix, with more draws when
only the effective sample size was short. The result records that it did.

Compiling is the slow part of a small model. nutpie's own numba backend builds a C callback
that numba cannot cache on disk (it recompiles in every process, 6-15 s for the 8-cell segment
model on 2 cores). The default backend here, ``"pytensor"``, hands nutpie the logp-and-gradient
function that PyTensor compiles with numba, which PyTensor caches on disk under its compile
directory (``pytensor.config.compiledir``, by default ``~/.pytensor``; safe to delete, it is
rebuilt on the next fit). Within one process a model built with the same ``key`` (its structure:
sizes, priors, parameterization) is compiled once and later fits only swap its data
(``pm.Data`` values through nutpie's ``with_data``): a refit, another metric with the same
segment layout, an app recomputation. ``benchmarks/sampling.py`` measures both backends.

nutpie calls the default backend's functions through Python, holding the GIL, so its threads
ran the chains one at a time; :func:`bayeslab.inference.chains.sample_nutpie_model` runs such a
model's chains in forked processes instead, one seed per chain, with the same draws as one after the
other (``cores=1``).

PyMC and nutpie both catch ``KeyboardInterrupt`` and return the chains cut short; here Ctrl-C
during sampling raises ``KeyboardInterrupt`` so the command stops.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import threading
import time
from dataclasses import dataclass, replace

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.core.progress import show_progress  # noqa: F401  (re-exported)
from bayeslab.inference.chains import chain_seeds, sample_nutpie_model  # noqa: F401  (re-exported)

SAMPLERS = ("auto", "pymc", "nutpie")
BACKENDS = ("pytensor", "numba", "jax")
DEFAULT_BACKEND = "pytensor"

_COMPILED: dict = {}
_COMPILED_MAX = 32


def nutpie_available() -> bool:
    """Whether the ``nutpie`` sampler is importable (a runtime dependency of bayeslab)."""
    return importlib.util.find_spec("nutpie") is not None


def resolve_sampler(sampler: str) -> str:
    """``"auto"`` becomes ``"nutpie"`` when installed, else ``"pymc"``.

    Raises
    ------
    ModelError
        Unknown sampler name.
    ImportError
        ``"nutpie"`` asked for and not installed.
    """
    if sampler not in SAMPLERS:
        raise ModelError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if sampler == "auto":
        return "nutpie" if nutpie_available() else "pymc"
    if sampler == "nutpie" and not nutpie_available():
        raise ImportError("sampler='nutpie' needs nutpie: pip install nutpie (a bayeslab "
                          "dependency; reinstall with sh scripts/setup.sh)")
    return sampler


# --------------------------------------------------------------------------------------------
# Compiling for nutpie


@dataclass(frozen=True)
class Compiled:
    """A model compiled for nutpie, with the names of its data variables."""

    nutpie_model: object
    data_names: tuple[str, ...]
    backend: str


def clear_compiled() -> None:
    """Forget every model compiled in this process (the on-disk PyTensor cache stays)."""
    _COMPILED.clear()


def _data_values(model) -> dict:
    return {v.name: np.asarray(v.get_value()) for v in model.data_vars}


def _compile_pytensor(model):
    """A nutpie model calling PyTensor's numba logp, from the compiled-model cache when there.

    The compiled functions are loaded from :mod:`bayeslab.inference.model_cache` when a model of
    the same fingerprint was compiled before on this machine (by any process); otherwise they are
    built and stored there.
    """
    from bayeslab.inference import model_cache

    data = _data_values(model)
    digest = model_cache.fingerprint(model)
    parts = model_cache.load(digest)
    if parts is None or not set(sum(_shared_names(parts), [])) <= set(data):
        parts = _build_functions(model)
        shared = [v for f in (parts["logp"], parts["expand"]) for v in f.get_shared()]
        with _zeroed(shared):  # the functions go to disk, the data they saw does not
            model_cache.store(digest, {k: v for k, v in parts.items() if k != "values"})
        data = {**parts["values"], **data}
    return _nutpie_model(model, parts, {n: data[n] for n in sum(_shared_names(parts), [])})


def _build_functions(model) -> dict:
    """Build and compile the logp-and-gradient and expand functions of ``model`` (slow)."""
    from nutpie.compile_pymc import _make_functions, _wrap_with_lock
    from pymc.initial_point import make_initial_point_fn

    # the support point without jitter: the chains' jitter is added by _nutpie_model, the
    # same whether the functions were just built or loaded from the cache
    support = _wrap_with_lock(make_initial_point_fn(
        model=model, default_strategy="support_point", jitter_rvs=set(),
        return_transformed=True))
    n_dim, _, logp_pt, expand_pt, init_fn, shape_info, reparam = _make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=False,
        pymc_initial_point_fn=support, var_names=None)
    shared = [*logp_pt.get_shared(), *expand_pt.get_shared()]
    return {"n_dim": int(n_dim), "logp": logp_pt, "expand": expand_pt,
            "start": np.asarray(init_fn(0), dtype=np.float64),
            "shape_info": shape_info, "reparam": list(reparam),
            "values": {v.name: np.asarray(v.get_value()) for v in shared}}


def _shared_names(parts: dict) -> tuple[list[str], list[str]]:
    """Names of the data each compiled function takes, in its argument order."""
    return ([v.name for v in parts["logp"].get_shared()],
            [v.name for v in parts["expand"].get_shared()])


@contextlib.contextmanager
def _zeroed(variables):
    """Temporarily give shared variables zero values (so no user data reaches the cache)."""
    saved = [v.get_value(borrow=True) for v in variables]
    try:
        for v, value in zip(variables, saved, strict=True):
            v.set_value(np.zeros_like(value), borrow=True)
        yield
    finally:
        for v, value in zip(variables, saved, strict=True):
            v.set_value(value, borrow=True)


def _nutpie_model(model, parts: dict, shared: dict):
    """The nutpie model over compiled functions; chains start at the support point + U(-1, 1)."""
    from nutpie.compile_pymc import _prepare_dims_and_coords
    from nutpie.compiled_pyfunc import from_pyfunc

    logp_jit, expand_jit = parts["logp"].vm.jit_fn, parts["expand"].vm.jit_fn
    logp_shared, expand_shared = _shared_names(parts)
    names, _, shapes = parts["shape_info"]
    shapes = [tuple(int(s) for s in shape) for shape in shapes]
    start = parts["start"]

    def make_logp():
        def logp(x, **data):
            value, grad = logp_jit(x, *[data[n] for n in logp_shared])
            return float(value), np.asarray(grad, dtype=np.float64, order="C")
        return logp

    def make_expand(seed1, seed2, chain):
        def expand(x, **data):
            values = expand_jit(x, *[data[n] for n in expand_shared])
            return {n: np.asarray(v, dtype=np.float64, order="C").reshape(s)
                    for n, v, s in zip(names, values, shapes, strict=True)}
        return expand

    def init_fn(seed):
        # PyMC's default: the support point with a U(-1, 1) jitter on the unconstrained scale
        jitter = np.random.default_rng(seed).uniform(-1.0, 1.0, size=start.shape)
        return np.ascontiguousarray(start + jitter, dtype=np.float64)

    # compile now (PyTensor's disk cache or numba), not inside the first chain
    make_logp()(start, **shared)
    make_expand(0, 0, 0)(start, **shared)
    dims, coords = _prepare_dims_and_coords(model, parts["shape_info"], parts["reparam"])
    return from_pyfunc(ndim=parts["n_dim"], make_logp_fn=make_logp, make_expand_fn=make_expand,
                       make_initial_point_fn=init_fn,
                       expanded_dtypes=[np.dtype("float64")] * len(names),
                       expanded_shapes=shapes, expanded_names=list(names), dims=dims,
                       coords=coords, shared_data=shared, reparameterized_names=parts["reparam"])


def compile_for_nutpie(model, *, key=None, backend: str = DEFAULT_BACKEND):
    """Compile ``model`` for nutpie, or reuse the compiled model of the same ``key``.

    Parameters
    ----------
    model : pymc.Model
    key : hashable, optional
        The model's structure (everything but its ``pm.Data`` values). A second model with the
        same key reuses the first one's compiled functions with its own data.
    backend : {"pytensor", "numba", "jax"}
        ``"pytensor"`` (default): PyTensor's numba functions, cached on disk across processes;
        ``"numba"``: nutpie's C callback (fastest per step, recompiled in every process);
        ``"jax"``: needs ``pip install jax``.

    Returns
    -------
    compiled : Compiled
    seconds : float
        Time spent compiling (0 when reused).
    reused : bool
    """
    if backend not in BACKENDS:
        raise ModelError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    data = _data_values(model)
    full_key = None if key is None else (backend, key)
    if full_key is not None and full_key in _COMPILED:
        entry = _COMPILED[full_key]
        if set(data) == set(entry.data_names):
            return replace(entry, nutpie_model=entry.nutpie_model.with_data(**data)), 0.0, True
    t0 = time.perf_counter()
    if backend == "pytensor":
        compiled = _compile_pytensor(model)
    else:
        import nutpie

        compiled = nutpie.compile_pymc_model(model, backend=backend)
    entry = Compiled(compiled, tuple(data), backend)
    if full_key is not None:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[full_key] = entry
    return entry, time.perf_counter() - t0, False


# --------------------------------------------------------------------------------------------
# One fit


@contextlib.contextmanager
def _keyboard_interrupt_raises():
    """Make a Ctrl-C that PyMC swallows (returning cut-short chains) raise after it returns."""
    hit = []
    if threading.current_thread() is not threading.main_thread():
        yield hit
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        hit.append(signum)
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield hit
    finally:
        signal.signal(signal.SIGINT, previous)
    if hit:
        raise KeyboardInterrupt


def _sample_nutpie(model, *, draws, tune, chains, seed, target_accept, cores, progressbar,
                   key, backend, density=None):
    if density is not None:   # a hand-written density of the same posterior: nothing to compile
        out, sample_s = sample_nutpie_model(
            density, draws=draws, tune=tune, chains=chains, seed=seed,
            target_accept=target_accept, cores=cores, progressbar=progressbar)
        return out, 0.0, sample_s
    compiled, compile_s, reused = compile_for_nutpie(model, key=key, backend=backend)
    out, sample_s = sample_nutpie_model(
        compiled.nutpie_model, draws=draws, tune=tune, chains=chains, seed=seed,
        target_accept=target_accept, cores=cores, progressbar=progressbar)
    if reused:
        out = _relabel(out, model)
    return out, compile_s, sample_s


def _relabel(tree, model):
    """Coordinates of ``model`` on a sample drawn with another model's compiled functions."""
    for group in ("posterior", "observed_data", "constant_data"):
        if group not in tree.children:
            continue
        ds = tree[group].to_dataset()
        labels = {dim: list(values) for dim, values in model.coords.items()
                  if values is not None and dim in ds.dims and ds.sizes[dim] == len(values)}
        if labels:
            tree[group] = ds.assign_coords(labels)
    return tree


def sample_once(model, *, draws=1000, tune=1000, chains=4, seed=0, target_accept=0.9,
                sampler="auto", cores=None, progressbar=None, key=None,
                backend=DEFAULT_BACKEND, density=None):
    """Sample ``model`` once; return ``(idata, compile_s, sample_s)``.

    ``density``: a nutpie model of the same posterior over a hand-written log density (see
    :func:`sample_with_remedy`), sampled instead of compiling ``model`` when the sampler is nutpie.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, even though PyMC and nutpie would return the chains cut short.
    """
    name = resolve_sampler(sampler)
    bar = show_progress(progressbar)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
    if name == "nutpie":
        return _sample_nutpie(model, draws=draws, tune=tune, chains=chains, seed=seed,
                              target_accept=target_accept, cores=cores, progressbar=bar,
                              key=key, backend=backend, density=density)
    import pymc as pm

    t0 = time.perf_counter()
    with _keyboard_interrupt_raises():
        # nuts_sampler="pymc": PyMC 6 would otherwise hand the model to nutpie's numba backend
        idata = pm.sample(draws, tune=tune, chains=chains, cores=cores, random_seed=seed,
                          nuts_sampler="pymc",
                          progressbar=bar, quiet=not bar, model=model,
                          target_accept=target_accept, compute_convergence_checks=False)
    total = time.perf_counter() - t0
    # PyMC records the time spent in the sampling loop; the rest is compiling and initialising
    sampling = float(idata["posterior"].attrs.get("sampling_time", total))
    return idata, max(total - sampling, 0.0), sampling


@dataclass(frozen=True)
class Sampled:
    """A posterior sample with its diagnostics and how it was obtained.

    Attributes
    ----------
    idata : xarray.DataTree
    diagnostics : Diagnostics
        Diagnostics of the kept sample (``remedy`` set when it is the refit).
    first : Diagnostics, optional
        Diagnostics of the first fit when it was refitted.
    sampler : str
    settings : dict
        ``draws``, ``tune``, ``chains``, ``target_accept``, ``seed`` of the kept sample.
    compile_s, sample_s : float
        Seconds spent compiling / initialising and sampling (the kept fit; compile 0 when a
        compiled model was reused).
    """

    idata: object
    diagnostics: object
    sampler: str
    settings: dict
    compile_s: float
    sample_s: float
    first: object = None


def _only_ess_short(diag) -> bool:
    failed = {c.name for c in diag.checks if c.status == "fail"}
    return bool(failed) and failed <= {"ess_bulk", "ess_tail"}


def sample_with_remedy(
    model,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    target_accept: float = 0.9,
    sampler: str = "auto",
    cores: int | None = None,
    progressbar: bool | None = None,
    remedy: bool = True,
    var_names=None,
    key=None,
    backend: str = DEFAULT_BACKEND,
    density=None,
    **thresholds,
) -> Sampled:
    """Sample ``model`` with NUTS and, if diagnostics fail, refit once with a safe remedy.

    The remedy depends on what failed. When only the effective sample size is short (chains
    that mix, just not long enough), it samples more draws: enough for the smallest ESS to
    reach its threshold at the rate observed, times 1.5, at most 4x. Otherwise (divergences,
    R-hat) it doubles the tuning steps (at least 1000) and raises ``target_accept`` to 0.99,
    which shortens the step size. The kept sample is the refit, whose :class:`Diagnostics`
    records the remedy; a refit that still fails stays ``"fail"``.

    Parameters
    ----------
    model : pymc.Model
    draws, tune, chains : int
        Draws kept per chain, tuning steps per chain, number of chains.
    seed : int
        Random seed (the refit uses ``seed + 1``).
    target_accept : float
        NUTS target acceptance rate of the first fit.
    sampler : {"auto", "pymc", "nutpie"}
        ``"auto"`` (default) uses nutpie, PyMC's NUTS only when nutpie is missing.
    cores : int, optional
        Chains run in parallel (default: one per chain, up to the CPU count).
    progressbar : bool, optional
        Default: only when stderr is a terminal.
    remedy : bool
        Refit on failure (default True).
    var_names : list of str, optional
        Variables the diagnostics look at.
    key : hashable, optional
        Structure of the model, to reuse its compiled form (see :func:`compile_for_nutpie`).
    backend : {"pytensor", "numba", "jax"}
        nutpie backend (see :func:`compile_for_nutpie`).
    density : nutpie compiled model, optional
        The same posterior over a hand-written log density (nutpie's ``from_pyfunc``, e.g.
        :func:`bayeslab.bayes.history_nuts.nutpie_model`), its expanded variables named as
        ``model``'s: sampled instead of compiling ``model`` when the sampler is nutpie;
        ``model`` is sampled by PyMC when nutpie is missing.
    **thresholds
        Passed to :func:`bayeslab.inference.diagnostics.diagnose` (``rhat_max``, ``ess_min``, ...).

    Returns
    -------
    Sampled

    Raises
    ------
    ModelError
        Bad sampler name or sampling settings.
    KeyboardInterrupt
        Ctrl-C during sampling.
    """
    from bayeslab.inference.diagnostics import diagnose

    _check_settings(draws, tune, chains, target_accept)
    name = resolve_sampler(sampler)
    settings = dict(draws=draws, tune=tune, chains=chains, target_accept=target_accept, seed=seed)
    common = dict(sampler=name, cores=cores, progressbar=progressbar, key=key, backend=backend,
                  density=density)
    idata, c_s, s_s = sample_once(model, **common, **settings)
    diag = diagnose(idata, var_names=var_names, **thresholds)
    if diag.ok or not remedy:
        return Sampled(idata, diag, name, settings, c_s, s_s)
    if _only_ess_short(diag):
        ess_min = thresholds.get("ess_min", 400)
        low = min(diag.check("ess_bulk").value, diag.check("ess_tail").value)
        factor = 4.0 if not low > 0 else min(4.0, 1.5 * ess_min / low)
        new = dict(settings, draws=int(np.ceil(draws * max(factor, 1.5))), seed=seed + 1)
        what = f"draws={new['draws']}"
    else:
        new = dict(settings, tune=max(2 * tune, 1000), target_accept=max(0.99, target_accept),
                   seed=seed + 1)
        what = f"tune={new['tune']}, target_accept={new['target_accept']}"
    idata2, c2, s2 = sample_once(model, **common, **new)
    diag2 = diagnose(idata2, var_names=var_names, **thresholds)
    text = (f"first fit failed ({diag.reason.removeprefix('not converged, no decision: ')}); "
            f"refitted with {what}: "
            f"{'now ' + diag2.verdict if diag2.ok else 'still failing'}")
    diag2 = replace(diag2, remedy=text)
    return Sampled(idata2, diag2, name, new, c_s + c2, s2, first=diag)


def _check_settings(draws, tune, chains, target_accept):
    for label, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ModelError(f"{label} must be an integer >= {low}, got {value!r}")
    if not 0 < target_accept < 1:
        raise ModelError(f"target_accept must be in (0, 1), got {target_accept!r}")

"""Module paths from before the package layout (bayeslab 0.1), kept for one release.

``import bayeslab.results`` (or ``from bayeslab.sampling import ...``) still works in 0.2: a
finder on ``sys.meta_path`` answers the old name with the module that now holds it, under a
:class:`DeprecationWarning` that names the new path. ``bayeslab.readout`` and ``bayeslab.plan``
are packages now; their ``__init__`` forwards the old modules' names. Removed in 0.3.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings

#: old module -> the module that holds its names now
MOVED = {
    "bayeslab.errors": "bayeslab.core.errors",
    "bayeslab.results": "bayeslab.core.estimates",
    "bayeslab.resultbase": "bayeslab.core.estimates",
    "bayeslab.decision": "bayeslab.core.decision",
    "bayeslab.kinds": "bayeslab.core.kinds",
    "bayeslab.format": "bayeslab.core.format",
    "bayeslab.labels": "bayeslab.core.format",
    "bayeslab.text": "bayeslab.core.text",
    "bayeslab.validate": "bayeslab.core.checks",
    "bayeslab.priors": "bayeslab.core.priors",
    "bayeslab.paths": "bayeslab.core.paths",
    "bayeslab.progress": "bayeslab.core.progress",
    "bayeslab.distributions": "bayeslab.kernels.distributions",
    "bayeslab.balance": "bayeslab.kernels.balance",
    "bayeslab.propensity_design": "bayeslab.kernels.propensity_design",
    "bayeslab.sampling": "bayeslab.inference.sampling",
    "bayeslab.chains": "bayeslab.inference.chains",
    "bayeslab.model_cache": "bayeslab.inference.model_cache",
    "bayeslab.diagnostics": "bayeslab.inference.diagnostics",
    "bayeslab.storage": "bayeslab.inference.storage",
    "bayeslab.forks": "bayeslab.inference.forks",
    "bayeslab.contract": "bayeslab.readout.contract",
    "bayeslab.metrics": "bayeslab.readout.fitters",
    "bayeslab.decide": "bayeslab.readout.verdicts",
    "bayeslab.segment_readout": "bayeslab.readout.segments",
    "bayeslab.causal": "bayeslab.readout.observational",
    "bayeslab.custom": "bayeslab.readout.custom",
    "bayeslab.readout_figures": "bayeslab.readout.figures",
    "bayeslab.sequential.monitor": "bayeslab.readout.monitor",
    "bayeslab.sequential.monitor_result": "bayeslab.readout.monitor_result",
    "bayeslab.runner": "bayeslab.plan.runner",
    "bayeslab.output": "bayeslab.plan.output",
    # the Beta kernel's modules, now one package (their public functions are its names)
    "bayeslab.kernels.beta_fast": "bayeslab.kernels.beta",
    "bayeslab.kernels.beta_cdf": "bayeslab.kernels.beta",
    "bayeslab.kernels.beta_density": "bayeslab.kernels.beta",
    "bayeslab.kernels.beta_multi": "bayeslab.kernels.beta",
    "bayeslab.kernels.beta_outer": "bayeslab.kernels.beta",
    "bayeslab.kernels.beta_quantile": "bayeslab.kernels.beta",
}


class _Alias:
    """Loader that answers an old name with the new module (its own spec kept)."""

    def __init__(self, new: str):
        self.new = new
        self.spec = None

    def create_module(self, spec):
        warnings.warn(f"{spec.name} moved to {self.new}; the old path goes in bayeslab 0.3",
                      DeprecationWarning, stacklevel=2)
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        module.__spec__ = self.spec  # the import machinery set the old name's spec: put it back


class _Finder:
    """``sys.meta_path`` entry for the names in :data:`MOVED` (nothing else)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        new = MOVED.get(name)
        if new is None:
            return None
        return importlib.util.spec_from_loader(name, _Alias(new))


def forward(package: str, module: str, public: set[str]):
    """A package's ``__getattr__`` that serves the names of the module it replaced.

    ``public`` names come back as they are; any other function or class defined in ``module``
    comes back with a :class:`DeprecationWarning` naming its new path; anything else (a
    submodule not imported yet, a private name) is an ``AttributeError``, so ``from package
    import submodule`` still imports the submodule.
    """

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        target = importlib.import_module(module)
        if name in public:
            return getattr(target, name)
        obj = vars(target).get(name)
        if not name.startswith("_") and getattr(obj, "__module__", None) == target.__name__:
            warnings.warn(f"{package}.{name} moved to {module}.{name}; the old path goes in "
                          "bayeslab 0.3", DeprecationWarning, stacklevel=2)
            return obj
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``import bayeslab`` does it)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())

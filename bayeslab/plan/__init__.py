"""Analysis plans: the TOML schema, running a plan end to end, and its output folder.

- :mod:`~bayeslab.plan.schema`: :func:`load_plan`, :class:`Plan`, :class:`PlanError`: a plan
  validated against the kind registry, with the line of every error;
- :mod:`~bayeslab.plan.runner`: :func:`run_plan`: one scan, every readout, the report, the files;
- :mod:`~bayeslab.plan.output`: the output folder, staged beside ``--out`` and moved into place;
- ``template.toml``: the plan ``bayeslab init`` writes.

``from bayeslab.plan import load_plan, Plan, PlanError`` keeps working (the module this package
replaced); its other names are read from :mod:`bayeslab.plan.schema` with a
:class:`DeprecationWarning`.
"""

from __future__ import annotations

_PUBLIC = {"load_plan", "Plan", "MetricPlan", "PlanError"}


def __getattr__(name: str):
    import importlib

    if name.startswith("__"):
        raise AttributeError(name)
    schema = importlib.import_module("bayeslab.plan.schema")
    if name in _PUBLIC:
        return getattr(schema, name)
    obj = vars(schema).get(name)
    if not name.startswith("_") and getattr(obj, "__module__", None) == schema.__name__:
        import warnings

        warnings.warn(f"bayeslab.plan.{name} moved to bayeslab.plan.schema.{name}; the old path "
                      "goes in the next release", DeprecationWarning, stacklevel=2)
        return obj
    raise AttributeError(f"module 'bayeslab.plan' has no attribute {name!r}")

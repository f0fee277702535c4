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

from bayeslab._compat import forward

__getattr__ = forward("bayeslab.plan", "bayeslab.plan.schema",
                      {"load_plan", "Plan", "MetricPlan", "PlanError"})

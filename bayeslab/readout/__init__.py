"""The comparison layer: both sides of one question, with a decision, behind one contract.

- :mod:`~bayeslab.readout.contract`: :class:`BaseReadout`, the contract every readout keeps, and
  :class:`SavedReadout`, a readout read back from JSON;
- :mod:`~bayeslab.readout.metric`: :func:`compare` and :class:`Readout` (one metric);
- :mod:`~bayeslab.readout.fitters`: each metric kind's fitter (both sides on the same statistics);
- :mod:`~bayeslab.readout.verdicts`: each side's verdict, then the readout's decision;
- :mod:`~bayeslab.readout.segments`: where the lift came from (partial pooling beside tests);
- :mod:`~bayeslab.readout.observational`: a rollout that was not randomized (propensity);
- :mod:`~bayeslab.readout.custom`: your own model (formula, builder file, any PyMC model);
- :mod:`~bayeslab.readout.monitor` and :mod:`~bayeslab.readout.monitor_result`: the sequential
  monitor of a running experiment;
- :mod:`~bayeslab.readout.figures`: the figures of a readout, by name.

``from bayeslab.readout import compare, Readout`` keeps working (the module this package
replaced); every other name of that module is read from :mod:`bayeslab.readout.metric` with a
:class:`DeprecationWarning`.
"""

from __future__ import annotations

from bayeslab._compat import forward

__getattr__ = forward("bayeslab.readout", "bayeslab.readout.metric", {"compare", "Readout"})

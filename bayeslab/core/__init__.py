"""The vocabulary every layer speaks: errors, estimates, the decision rule, the kind registry.

Nothing here imports another bayeslab package, numpy excepted where a module needs it:

- :mod:`~bayeslab.core.errors`: the errors and warnings a user can cause;
- :mod:`~bayeslab.core.estimates`: :class:`Estimate` (one per side, method and effect) and the
  shared ``summary()`` / ``to_dict()`` of results made of estimates;
- :mod:`~bayeslab.core.decision`: the decision rule and the decision a readout reaches;
- :mod:`~bayeslab.core.kinds`: the metric-kind registry and its option table;
- :mod:`~bayeslab.core.format` and :mod:`~bayeslab.core.text`: numbers, units, probabilities and
  segment labels as text, and terminal tables;
- :mod:`~bayeslab.core.checks`: interval, count and formula-grammar checks both sides use;
- :mod:`~bayeslab.core.priors`: prior spec objects;
- :mod:`~bayeslab.core.paths`: file names derived from data, confined to an output folder;
- :mod:`~bayeslab.core.progress`: progress bars and stage lines.
"""

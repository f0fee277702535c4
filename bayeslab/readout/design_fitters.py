"""Fitters of two experiment designs: cluster randomization and quantile metrics.

``fit_clustered`` reads a conversion, continuous or count metric whose randomization unit is a
cluster column (``cluster = "account_id"``): the Bayesian ratio model of cluster totals
(:mod:`bayeslab.bayes.cluster`) against CR1 cluster-robust errors
(:mod:`bayeslab.frequentist.cluster`), both on the per-arm sums over clusters; the readout's SRM
check counts clusters (the ``clusters`` column of its arms table) and a note states the design
effect. ``fit_quantile`` reads ``kind = "quantile"``: the exact Bayesian bootstrap of each
quantile against the outer interval of Deng et al. (2018), on order statistics near each quantile
(:mod:`bayeslab.data.quantiles`).

``unclustered_spec`` is the cheap check of a readout that names ``unit_id`` but no cluster: ids
that repeat within one arm on at least half the rows mean the rows are clustered, so the readout
warns with the design effect (how much too narrow its naive interval is) and goes on.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

from bayeslab.core import format as fmt
from bayeslab.core.errors import DataError, ModelError, StatisticalWarning

#: share of rows in repeated ids above which ids repeating within one arm read as clusters
CLUSTERED_SHARE = 0.5


def _design_note(deff: float, cluster: str) -> str:
    return (f"clustered by {cluster!r}: design effect {fmt.number(deff, 3)} (CR1 variance over "
            f"the variance with independent rows); a naive interval would be "
            f"{fmt.number(deff ** 0.5, 3)}x too narrow")


def fit_clustered(source, s):
    """Cluster ratio model vs CR1 cluster-robust errors on per-arm sums over clusters."""
    from bayeslab.bayes.cluster import ClusterBootstrap
    from bayeslab.data.clusters import cluster_stats
    from bayeslab.frequentist.cluster import ClusterRobustTest

    if s.covariate or s.model or s.clip:
        raise ModelError(f"cluster {s.cluster!r}: a clustered readout takes no covariate, "
                         "model or clip; leave them out")
    if s.segments:
        raise ModelError(f"cluster {s.cluster!r}: a clustered readout has no segment model; "
                         "read segments as their own metrics with sql=... WHERE")
    if s.n is not None:
        raise DataError("a clustered readout needs unit rows with the cluster column, not "
                        "aggregated input (n)", column=s.cluster)
    kind = {"conversion": "binary", "count": "count"}.get(s.kind, "continuous")
    st = cluster_stats(source, arm=s.arm, metric=s.metric, cluster=s.cluster,
                       control=s.control, kind=kind, missing=s.missing)
    freq = ClusterRobustTest(interval=s.interval).fit(st)
    bayes = ClusterBootstrap(interval=s.interval, seed=s.seed).fit(st)
    warnings.warn(_design_note(freq.design_effect, s.cluster), StatisticalWarning, stacklevel=2)
    return dict(bayes=(bayes,), frequentist=(freq,), rows=st.rows, arms=st.arm_cells(),
                control=st.control, headline=("bayes-cluster", "cluster-cr1", "absolute"),
                stats=st.units, extra={"cluster": {"column": s.cluster,
                                                   "clusters": st.clusters.tolist(),
                                                   "design_effect": freq.design_effect}})


def unclustered_spec(source, s):
    """``s`` to read without its ``unit_id`` check, warning when the ids show clustered rows.

    One grouped query over ``unit_id``: no id repeats (``s`` without the check it has just
    passed); ids repeat within one arm on at least :data:`CLUSTERED_SHARE` of the rows (warn
    with the design effect, read the rows as they are); anything else (ids in two arms, a few
    duplicates) keeps ``s`` so that the unit-id check raises its error.
    """
    from bayeslab.data.clusters import cluster_stats, repeated_ids
    from bayeslab.frequentist.cluster import ClusterRobustTest

    if s.unit_id is None or s.n is not None or s.cluster:
        return s
    repeated, split, repeated_rows = repeated_ids(source, s.unit_id, s.arm)
    if repeated == 0:
        return replace(s, unit_id=None)
    total = source.sql(f"SELECT count(*) FROM {source.relation}")[0][0]
    if split or repeated_rows < CLUSTERED_SHARE * total:
        return s
    kind = "binary" if s.kind == "conversion" else "continuous"
    try:
        st = cluster_stats(source, arm=s.arm, metric=s.metric, cluster=s.unit_id,
                           control=s.control, kind=kind, missing=s.missing)
    except DataError:
        return replace(s, unit_id=None)  # the readout itself reports the bad input
    deff = ClusterRobustTest(interval=s.interval).fit(st).design_effect
    warnings.warn(f"column {s.unit_id!r} repeats within arms ({fmt.count(repeated)} ids over "
                  f"{fmt.count(repeated_rows)} rows): the rows are clustered and this readout "
                  f"treats them as independent; its interval is {fmt.number(deff ** 0.5, 3)}x "
                  f"too narrow (design effect {fmt.number(deff, 3)}); name the column as the "
                  f"cluster (cluster = {s.unit_id!r}, --cluster {s.unit_id})",
                  StatisticalWarning, stacklevel=3)
    return replace(s, unit_id=None)


def fit_quantile(source, s):
    """Exact Bayesian bootstrap vs the Deng et al. (2018) outer interval, per quantile."""
    from bayeslab.bayes.quantile import QuantileBootstrap
    from bayeslab.data.quantiles import quantile_stats
    from bayeslab.frequentist.quantile import QuantileTest, quantile_label

    if s.n is not None:
        raise DataError("a quantile metric needs unit rows, not aggregated input (n)",
                        column=s.metric)
    st = quantile_stats(source, arm=s.arm, metric=s.metric, quantiles=s.quantiles,
                        control=s.control, missing=s.missing)
    label = quantile_label(st.quantiles[0])
    return dict(bayes=(QuantileBootstrap(interval=s.interval, seed=s.seed).fit(st),),
                frequentist=(QuantileTest(interval=s.interval).fit(st),), rows=st.rows,
                arms=st.arm_cells(), control=st.control,
                headline=(f"bayes-bootstrap-{label}", f"deng-{label}", "absolute"),
                stats=st.units, extra={"quantiles": list(st.quantiles)})

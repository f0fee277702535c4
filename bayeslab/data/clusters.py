r"""Per-arm sums over clusters: the sufficient statistics of a cluster-randomized metric.

When whole clusters :math:`g` (accounts, stores) are assigned to an arm and the outcome is read
per row (user), a cluster is summarized by its row count :math:`n_g` and outcome total
:math:`Y_g = \sum_{i \in g} y_i`. Every cluster-robust variance of a difference of arm means is a
function of the per-arm sums

.. math::

    G_a,\quad \sum_g n_g,\quad \sum_g Y_g,\quad \sum_g n_g^2,\quad \sum_g Y_g^2,\quad
    \sum_g n_g Y_g \qquad (g \in \text{arm } a),

so the engine aggregates per cluster first and then per arm, in one query (the same SQL on
DuckDB and Spark). The row-level :class:`~bayeslab.data.stats.ArmStats` of the same metric
(validation, row accounting, the naive variance :math:`\sum y_i^2`) come from the readout's one
grouped scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.data.arms import arm_label
from bayeslab.data.cells import Cells, key_array
from bayeslab.data.columns import not_finite_sql, numeric_expression
from bayeslab.data.sources import Source, check_columns, quote
from bayeslab.data.stats import ArmStats, UnitsView, sufficient_stats

#: the per-arm sums over clusters, in the order of :attr:`ClusterStats.sums`
SUMS = ("n", "y", "nn", "yy", "ny")


@dataclass(frozen=True)
class ClusterStats(UnitsView):
    r"""Per-arm sums over the clusters of one metric (control first).

    Attributes
    ----------
    cluster : str
        Cluster column (the randomization unit).
    clusters : numpy.ndarray
        Clusters per arm, :math:`G_a`.
    sums : dict of str to numpy.ndarray
        ``n, y, nn, yy, ny``: :math:`\sum_g n_g`, :math:`\sum_g Y_g`, :math:`\sum_g n_g^2`,
        :math:`\sum_g Y_g^2`, :math:`\sum_g n_g Y_g` per arm.
    largest : numpy.ndarray
        Rows in the largest cluster of each arm.
    units : ArmStats
        The row-level statistics (``n``, ``sum``, ``sum_sq`` per arm) and row accounting.
    """

    cluster: str
    clusters: np.ndarray
    sums: dict
    largest: np.ndarray
    units: ArmStats

    def arm_cells(self) -> Cells:
        """Per arm: ``arm``, ``n`` (rows), ``mean`` and ``clusters`` (SRM counts clusters)."""
        return Cells({"arm": key_array(self.arms), "n": self.units.n.astype(np.int64),
                      "mean": self.units.sums / self.units.n,
                      "clusters": self.clusters.astype(np.int64)})


def cluster_sql(source: Source, *, arm: str, metric: str, cluster: str) -> str:
    """The query: rows to clusters (``GROUP BY arm, cluster``), then clusters to arms.

    A window count over the clusters finds those seen in more than one arm; rows with a missing
    arm or outcome are left out (the row-level scan accounts for them).
    """
    y = numeric_expression(source, metric)
    a, c = quote(arm), quote(cluster)
    per_cluster = (f"SELECT {a} AS arm, {c} AS cl, count(*) AS n, "
                   f"sum(CAST({y} AS DOUBLE)) AS y FROM {source.relation} "
                   f"WHERE {a} IS NOT NULL AND NOT {not_finite_sql(y)} GROUP BY {a}, {c}")
    spread = f"SELECT arm, cl, n, y, count(*) OVER (PARTITION BY cl) AS k FROM ({per_cluster}) g"
    return (f"SELECT arm, count(*) AS clusters, sum(n) AS n, sum(y) AS y, "
            f"sum(CAST(n AS DOUBLE) * n) AS nn, sum(y * y) AS yy, sum(n * y) AS ny, "
            f"max(n) AS largest, sum(CASE WHEN k > 1 THEN 1 ELSE 0 END) AS split, "
            f"sum(CASE WHEN cl IS NULL THEN n ELSE 0 END) AS null_rows "
            f"FROM ({spread}) w GROUP BY arm")


def cluster_stats(source: Source, *, arm: str, metric: str, cluster: str,
                  control: str | None = None, kind: str = "continuous",
                  missing: str = "error") -> ClusterStats:
    """Per-arm sums over clusters of ``metric``, with the row-level statistics.

    Parameters
    ----------
    source : Source
    arm, metric, cluster : str
        Arm, outcome and cluster (randomization unit) columns.
    control : str, optional
    kind : {"binary", "continuous", "count"}
        Validation of the outcome (see :func:`~bayeslab.data.stats.sufficient_stats`).
    missing : {"error", "exclude"}

    Returns
    -------
    ClusterStats

    Raises
    ------
    DataError
        Bad outcome or arm values (as :func:`~bayeslab.data.stats.sufficient_stats`), a missing
        cluster id, a cluster in more than one arm, or an arm with fewer than two clusters.
    """
    check_columns(source, [cluster])
    if cluster in (arm, metric):
        raise DataError(f"the cluster column {cluster!r} must be its own column, not the arm "
                        "or the outcome", column=cluster)
    units = sufficient_stats(source, arm=arm, metric=metric, control=control, kind=kind,
                             missing=missing)
    cur = source.execute(cluster_sql(source, arm=arm, metric=metric, cluster=cluster))
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    by_arm = {arm_label(r["arm"]): r for r in rows}
    null_rows = sum(int(r["null_rows"] or 0) for r in rows)
    if null_rows:
        raise DataError(f"column {cluster!r} is missing on {null_rows:,} rows; every row needs "
                        "the cluster it was randomized with", column=cluster, rows=null_rows)
    split = sum(int(r["split"] or 0) for r in rows)
    if split:
        raise DataError(f"column {cluster!r} has clusters in more than one arm ({split:,} "
                        "cluster-arm pairs); cluster randomization assigns each cluster to one "
                        "arm", column=cluster)
    take = [by_arm[a] for a in units.arms]
    clusters = np.array([int(r["clusters"]) for r in take], dtype=np.int64)
    small = [a for a, g in zip(units.arms, clusters, strict=True) if g < 2]
    if small:
        raise DataError(f"arm {small[0]!r} has fewer than two clusters of column {cluster!r}; "
                        "a cluster-robust variance needs two or more per arm", column=cluster)
    sums = {k: np.array([float(r[k]) for r in take]) for k in SUMS}
    largest = np.array([int(r["largest"]) for r in take], dtype=np.int64)
    return ClusterStats(cluster=cluster, clusters=clusters, sums=sums, largest=largest,
                        units=units)


def repeated_ids(source: Source, unit_id: str, arm: str) -> tuple[int, int, int]:
    """``(repeated ids, ids in several arms, rows of repeated ids)`` of ``unit_id``: one query.

    The cheap check of a readout that names ``unit_id``: ids that repeat, each within one arm,
    mean the rows are clustered by that id.
    """
    c, a = quote(unit_id), quote(arm)
    row = source.sql(
        f"SELECT coalesce(sum(CASE WHEN r > 1 THEN 1 ELSE 0 END), 0), "
        f"coalesce(sum(CASE WHEN k > 1 THEN 1 ELSE 0 END), 0), "
        f"coalesce(sum(CASE WHEN r > 1 THEN r ELSE 0 END), 0) "
        f"FROM (SELECT count(*) AS r, count(DISTINCT {a}) AS k FROM {source.relation} "
        f"GROUP BY {c}) t")[0]
    return int(row[0]), int(row[1]), int(row[2])


def cluster_moments(stats: ClusterStats) -> dict:
    r"""Per arm: rows :math:`N`, mean :math:`m = \sum Y_g / N`, clusters :math:`G`, sums.

    The sums are

    .. math::

        S = \sum_g (Y_g - m n_g)^2 = \sum Y_g^2 - 2 m \sum n_g Y_g + m^2 \sum n_g^2, \qquad
        R = \sum_i (y_i - m)^2 = \sum y_i^2 - N m^2,

    the cluster-level and row-level residual sums of squares both sides read.
    """
    s = stats.sums
    n, y = s["n"], s["y"]
    m = y / n
    S = np.maximum(s["yy"] - 2 * m * s["ny"] + m * m * s["nn"], 0.0)
    sum_sq = np.asarray(stats.units.by_arm()["sum_sq"], dtype=float)
    R = np.maximum(sum_sq - n * m * m, 0.0)
    return {"N": n, "mean": m, "G": stats.clusters.astype(float), "S": S, "R": R}

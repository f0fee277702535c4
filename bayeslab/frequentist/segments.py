r"""Per-segment tests with multiplicity control, and a GLM test of effect heterogeneity.

Each segment gets its own test of treatment versus control: the two-proportion z-test for a
binary metric (pooled variance for the p-value, unpooled Wald interval for the difference,
delta-method interval for the relative lift) or Welch's t-test for a continuous one. Testing many
segments multiplies false positives, so the p-values are adjusted by Holm (family-wise error) and
Benjamini-Hochberg (false discovery rate); ``p_value`` of each entry is the adjusted one chosen by
``adjust``. A binomial GLM with an arm x segment interaction, fitted on the aggregated counts,
tests whether the effect differs between segments (likelihood-ratio test against the model
without interaction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate
from bayeslab.core.format import cell_label

ADJUST = ("holm", "bh", "bonferroni", "none")


def holm(p) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error rate)."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate)."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p)[::-1]
    adj = np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1))
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def _cells(stats):
    segs = tuple(stats.segments)
    if not segs:
        raise ModelError("segment tests need ArmStats with segments=(...)")
    t = stats.table
    t = t[t["n"] > 0]
    labels = [cell_label(tuple(str(v) for v in row))
              for row in t[list(segs)].itertuples(index=False)]
    return t.assign(segment=labels, arm=t["arm"].astype(str))


def _binary_test(n0, y0, n1, y1, z):
    p0, p1 = y0 / n0, y1 / n1
    diff = p1 - p0
    pool = (y0 + y1) / (n0 + n1)
    se0 = np.sqrt(pool * (1 - pool) * (1 / n0 + 1 / n1))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se0 > 0, diff / se0, 0.0)
        se = np.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
        se_log = np.sqrt((1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0))
        rel = p1 / p0 - 1
        log_ratio = np.log(p1 / p0)
        rel_lo, rel_hi = np.exp(log_ratio - z * se_log) - 1, np.exp(log_ratio + z * se_log) - 1
    p = 2 * st.norm.sf(np.abs(stat))
    return dict(control=p0, treatment=p1, abs=diff, abs_se=se, abs_lower=diff - z * se,
                abs_upper=diff + z * se, rel=rel, rel_lower=rel_lo, rel_upper=rel_hi,
                statistic=stat, p_raw=p)


def _welch_test(n0, s0, q0, n1, s1, q1, level):
    m0, m1 = s0 / n0, s1 / n1
    v0 = (q0 - n0 * m0**2) / (n0 - 1)
    v1 = (q1 - n1 * m1**2) / (n1 - 1)
    a, b = v0 / n0, v1 / n1
    se = np.sqrt(a + b)
    df = (a + b) ** 2 / (a**2 / (n0 - 1) + b**2 / (n1 - 1))
    diff = m1 - m0
    stat = diff / se
    tq = st.t.ppf(0.5 + level / 2, df)
    p = 2 * st.t.sf(np.abs(stat), df)
    rel = m1 / m0 - 1
    se_rel = np.sqrt(b / m0**2 + a * m1**2 / m0**4)  # delta method for m1 / m0
    return dict(control=m0, treatment=m1, abs=diff, abs_se=se, abs_lower=diff - tq * se,
                abs_upper=diff + tq * se, rel=rel, rel_lower=rel - tq * se_rel,
                rel_upper=rel + tq * se_rel, statistic=stat, p_raw=p, df=df)


@dataclass(frozen=True)
class Heterogeneity:
    """Likelihood-ratio test of an arm x segment interaction in a binomial GLM.

    Attributes
    ----------
    statistic : float
        Deviance difference between the additive and the interaction model.
    df : int
    p_value : float
    interaction_params : pandas.Series
        Interaction coefficients (log-odds) of the full model.
    """

    statistic: float
    df: int
    p_value: float
    interaction_params: pd.Series

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"test": "glm-lr", "statistic": float(self.statistic), "df": int(self.df),
                "p_value": float(self.p_value)}


def glm_frame(stats) -> pd.DataFrame:
    """Long frame for the GLM: one row per (cell, outcome) with a count weight."""
    cells = _cells(stats)
    conv = cells.assign(y=1.0, w=cells["sum"].astype(float))
    fail = cells.assign(y=0.0, w=(cells["n"] - cells["sum"]).astype(float))
    out = pd.concat([conv, fail], ignore_index=True)
    out = out[out["w"] > 0][["segment", "arm", "y", "w"]].reset_index(drop=True)
    out["segment"] = out["segment"].astype(object)
    out["arm"] = out["arm"].astype(object)
    return out


def heterogeneity_test(stats) -> Heterogeneity:
    r"""Test effect heterogeneity with a binomial GLM and a likelihood-ratio test.

    The model :math:`\operatorname{logit} p = \text{segment} + \text{arm} +
    \text{segment} \times \text{arm}` is fitted on aggregated counts (``freq_weights``) and
    compared with the additive model.

    Raises
    ------
    ModelError
        The metric is not binary or there is a single segment.
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    if stats.kind != "binary":
        raise ModelError("the GLM heterogeneity test is for a binary metric")
    frame = glm_frame(stats)
    if frame["segment"].nunique() < 2:
        raise ModelError("a heterogeneity test needs at least two segments")
    # treatment coding by hand (as patsy's C(): sorted levels, the first dropped), without the
    # formula machinery's import: intercept, segment, arm, and for the full model segment x arm
    seg_levels, arm_levels = sorted(frame["segment"].unique()), sorted(frame["arm"].unique())
    seg = {f"C(segment)[T.{v}]": (frame["segment"] == v).to_numpy(float) for v in seg_levels[1:]}
    arm = {f"C(arm)[T.{v}]": (frame["arm"] == v).to_numpy(float) for v in arm_levels[1:]}
    inter = {f"{a}:{b}": x * z for a, x in seg.items() for b, z in arm.items()}
    additive = {"Intercept": np.ones(len(frame)), **seg, **arm}
    y, w = frame["y"].to_numpy(float), frame["w"].to_numpy(float)

    def fit(columns):
        X = pd.DataFrame(columns)
        return GLM(y, X, family=families.Binomial(), freq_weights=w).fit()

    full, reduced = fit({**additive, **inter}), fit(additive)
    stat = max(reduced.deviance - full.deviance, 0.0)
    df = int(round(reduced.df_resid - full.df_resid))
    inter = full.params[list(inter)]
    return Heterogeneity(statistic=float(stat), df=df, p_value=float(st.chi2.sf(stat, df)),
                         interaction_params=inter)


@dataclass(frozen=True)
class SegmentTests:
    """Per-segment frequentist tests with adjusted p-values and a heterogeneity test.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (segment, treatment arm): control / treatment rate (or mean), absolute and
        relative effect with interval, statistic, ``p_raw``, ``p_holm``, ``p_bh``.
    population : pandas.DataFrame
        Post-stratified (size-weighted) absolute lift over segments with its interval.
    heterogeneity : Heterogeneity, optional
        GLM likelihood-ratio test (binary metrics with at least two segments).
    test : str
        ``"z-test"`` or ``"welch"``.
    adjust : {"holm", "bh", "bonferroni", "none"}
        Which adjusted p-value ``estimates()`` reports as ``p_value``.
    interval : float
    """

    table: pd.DataFrame
    population: pd.DataFrame
    heterogeneity: Heterogeneity | None
    test: str
    adjust: str
    interval: float

    def estimates(self) -> list[Estimate]:
        """Per-segment entries (absolute, relative) and population entries (segment ``None``)."""
        col = self.p_column
        out = []
        for r in self.table.itertuples(index=False):
            extra = {"p_raw": r.p_raw, "p_holm": r.p_holm, "p_bh": r.p_bh, "adjust": self.adjust,
                     "n_control": r.n_control, "n_treatment": r.n_treatment}
            if self.adjust == "bonferroni":
                extra["p_bonferroni"] = r.p_bonferroni
            for eff, key in (("absolute", "abs"), ("relative", "rel")):
                out.append(Estimate(side="frequentist", method=self.test, effect=eff,
                                    estimate=getattr(r, key), lower=getattr(r, f"{key}_lower"),
                                    upper=getattr(r, f"{key}_upper"), level=self.interval,
                                    arm=r.arm, segment=r.segment, p_value=getattr(r, col),
                                    extra=extra))
        het = self.heterogeneity.to_dict() if self.heterogeneity else {}
        for r in self.population.itertuples(index=False):
            out.append(Estimate(side="frequentist", method="post-stratified", effect="absolute",
                                estimate=r.abs, lower=r.abs_lower, upper=r.abs_upper,
                                level=self.interval, arm=r.arm, p_value=r.p_value,
                                extra={"heterogeneity": het} if het else {}))
        return out

    @property
    def p_column(self) -> str:
        """The table column holding the p-value ``adjust`` names (``p_holm``, ..., ``p_raw``)."""
        return {"holm": "p_holm", "bh": "p_bh", "bonferroni": "p_bonferroni",
                "none": "p_raw"}[self.adjust]

    def summary(self) -> pd.DataFrame:
        """Return the per-segment table."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """JSON-safe readout."""
        return {"test": self.test, "adjust": self.adjust, "interval": self.interval,
                "heterogeneity": self.heterogeneity.to_dict() if self.heterogeneity else None,
                "results": [e.to_dict() for e in self.estimates()]}

    def __str__(self) -> str:
        lines = [f"Segment tests ({self.test}; p adjusted by {self.adjust})"]
        for r in self.table.itertuples(index=False):
            lines.append(f"  {r.segment:<24} {r.arm:<10} {r.abs:+.4g} [{r.abs_lower:+.4g}, "
                         f"{r.abs_upper:+.4g}]  p {r.p_raw:.3g}  holm {r.p_holm:.3g}  "
                         f"bh {r.p_bh:.3g}")
        if self.heterogeneity:
            h = self.heterogeneity
            lines.append(f"  heterogeneity (GLM LR): chi2={h.statistic:.3f}, df={h.df}, "
                         f"p={h.p_value:.3g}")
        return "\n".join(lines)


@dataclass(frozen=True)
class PerSegmentTests:
    r"""Test treatment versus control in every segment; adjust p-values; test heterogeneity.

    .. math::

        z_j = \frac{\hat p_{j1} - \hat p_{j0}}{\sqrt{\bar p_j (1 - \bar p_j)(1/n_{j0} + 1/n_{j1})}}
        \quad\text{(binary)}, \qquad
        t_j = \frac{\bar y_{j1} - \bar y_{j0}}{\sqrt{s_{j0}^2/n_{j0} + s_{j1}^2/n_{j1}}}
        \quad\text{(Welch)}

    The population entry is the post-stratified lift :math:`\sum_j w_j \hat\Delta_j` with
    :math:`w_j` the segment's share of units and variance :math:`\sum_j w_j^2 SE_j^2`.

    Parameters
    ----------
    interval : float
        Confidence level.
    adjust : {"holm", "bh", "bonferroni", "none"}
        Adjusted p-value reported as ``p_value`` (Holm and BH are always in the table,
        Bonferroni when chosen).

    Raises
    ------
    ModelError
        Bad ``adjust`` or ``interval``.

    See Also
    --------
    bayeslab.bayes.segments.HierarchicalSegments : hierarchical (partially pooled) counterpart.
    """

    interval: float = DEFAULT_LEVEL
    adjust: str = "holm"

    def __post_init__(self):
        if self.adjust not in ADJUST:
            raise ModelError(f"adjust must be one of {', '.join(ADJUST)}, got {self.adjust!r}")
        if not 0 < self.interval < 1:
            raise ModelError(f"interval must be in (0, 1), got {self.interval!r}")

    def fit(self, stats) -> SegmentTests:
        """Test the cells of ``stats`` (``ArmStats`` with one or two ``segments``).

        Raises
        ------
        ModelError
            No segment columns.
        """
        cells = _cells(stats)
        z = st.norm.ppf(0.5 + self.interval / 2)
        rows, pop = [], []
        seg_n = cells.groupby("segment", sort=False)["n"].sum()
        for arm in stats.arms[1:]:
            c = cells[cells["arm"] == stats.control].set_index("segment")
            t = cells[cells["arm"] == arm].set_index("segment")
            both = [s for s in c.index if s in t.index]
            c, t = c.loc[both], t.loc[both]
            n0, n1 = c["n"].to_numpy(float), t["n"].to_numpy(float)
            if stats.kind == "binary":
                r = _binary_test(n0, c["sum"].to_numpy(float), n1, t["sum"].to_numpy(float), z)
            else:
                r = _welch_test(n0, c["sum"].to_numpy(float), c["sum_sq"].to_numpy(float),
                                n1, t["sum"].to_numpy(float), t["sum_sq"].to_numpy(float),
                                self.interval)
            frame = pd.DataFrame({"segment": both, "arm": arm, "n_control": n0,
                                  "n_treatment": n1, **r})
            frame["p_holm"] = holm(frame["p_raw"])
            frame["p_bh"] = benjamini_hochberg(frame["p_raw"])
            if self.adjust == "bonferroni":   # min(1, m p) over the arm's m segments
                frame["p_bonferroni"] = np.minimum(frame["p_raw"] * len(frame), 1.0)
            rows.append(frame)
            w = seg_n.reindex(both).to_numpy(float)
            w = w / w.sum()
            est = float(np.sum(w * frame["abs"]))
            se = float(np.sqrt(np.sum(w**2 * frame["abs_se"] ** 2)))
            pop.append({"arm": arm, "abs": est, "abs_lower": est - z * se,
                        "abs_upper": est + z * se,
                        "p_value": float(2 * st.norm.sf(abs(est / se))) if se > 0 else np.nan})
        het = None
        if stats.kind == "binary" and cells["segment"].nunique() >= 2:
            het = heterogeneity_test(stats)
        return SegmentTests(table=pd.concat(rows, ignore_index=True),
                            population=pd.DataFrame(pop), heterogeneity=het,
                            test="z-test" if stats.kind == "binary" else "welch",
                            adjust=self.adjust, interval=self.interval)


def segment_tests(stats, *, interval: float = DEFAULT_LEVEL, adjust: str = "holm") -> SegmentTests:
    """Per-segment tests: ``PerSegmentTests(interval, adjust).fit(stats)`` (the math is there).

    Parameters
    ----------
    stats : ArmStats
        With one or two ``segments``.
    interval : float
    adjust : {"holm", "bh", "none"}
        Adjusted p-value reported as ``p_value`` (all three are in the table).

    Returns
    -------
    SegmentTests

    Raises
    ------
    ModelError
        No segments, bad ``adjust`` or ``interval``.

    See Also
    --------
    bayeslab.bayes.segments.fit_segments : hierarchical (partially pooled) counterpart.
    """
    return PerSegmentTests(interval=interval, adjust=adjust).fit(stats)


__all__ = ["Heterogeneity", "PerSegmentTests", "SegmentTests", "benjamini_hochberg",
           "heterogeneity_test", "holm", "segment_tests"]

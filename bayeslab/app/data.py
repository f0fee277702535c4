"""What ``bayeslab app`` shows: a run folder's metrics, segments and looks, read out again.

Pure functions, no Streamlit. :func:`load_run` reads the ``readout.json`` that
:func:`bayeslab.runner.run_plan` wrote; :func:`list_metrics`, :func:`list_segments` and
:func:`list_looks` say what the user can pick; :func:`metric_view` gives everything the app shows
for one choice of metric, segment, look and prior.

Conversion metrics are read out again *exactly* from the saved sufficient statistics (units and
conversions per arm; per segment cell; per look of the monitor) with
:class:`~bayeslab.bayes.conversion.BetaBinomial` under the chosen prior and
:class:`~bayeslab.frequentist.conversion.TwoProportionZTest` (which does not depend on the prior).
Other metric kinds need the unit rows or MCMC to refit, so their saved results are shown as they
are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayeslab.contract import SavedReadout, readout_from_dict
from bayeslab.errors import DataError
from bayeslab.results import DEFAULT_LEVEL, Estimate

SEGMENT_SEP = " x "


@dataclass(frozen=True)
class RunFolder:
    """A run's output folder, as written by :func:`bayeslab.runner.run_plan`.

    Attributes
    ----------
    path : pathlib.Path
    readout : dict
        The content of ``readout.json``.
    """

    path: Path
    readout: dict = field(repr=False)

    @property
    def name(self) -> str:
        """The plan's experiment name."""
        return str(self.readout.get("name") or self.path.name)

    @property
    def entries(self) -> dict[str, dict]:
        """Every metric's saved readout by name: primary, its guardrails, then secondary."""
        out = {}
        for entry in self.readout.get("metrics", []):
            out.setdefault(entry["metric"], entry)
            for g in entry.get("guardrails", []):
                out.setdefault(g["metric"], g)
        return out

    @property
    def readouts(self) -> dict[str, SavedReadout]:
        """Every metric's readout read back through the readout contract, by name."""
        return {name: readout_from_dict(entry) for name, entry in self.entries.items()}

    @property
    def decision(self):
        """The run's decision (:class:`~bayeslab.decision.Decision`), or ``None``."""
        from bayeslab.decision import Decision

        d = self.readout.get("decision")
        return Decision.from_dict(d) if d else None

    @property
    def monitor(self) -> dict | None:
        """The saved sequential monitor, if the plan had one."""
        return self.readout.get("monitor")

    def figures(self) -> list[Path]:
        """The PNG figures of the run, by name."""
        return sorted(self.path.glob("*.png"))


def load_run(path) -> RunFolder:
    """Read a run folder (the ``--out`` folder of ``bayeslab run``).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    RunFolder

    Raises
    ------
    DataError
        No folder, no ``readout.json`` in it, or a file that is not a readout.
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"run folder {str(path)!r} not found: give the --out folder of "
                        "'bayeslab run'")
    file = path / "readout.json"
    if not file.is_file():
        raise DataError(f"{str(path)!r} has no readout.json: give the --out folder of "
                        "'bayeslab run'")
    try:
        readout = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{file} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(readout, dict) or not isinstance(readout.get("metrics"), list):
        raise DataError(f"{file} has no 'metrics' list: it is not a bayeslab run readout")
    return RunFolder(path=path, readout=readout)


def list_metrics(run: RunFolder) -> list[str]:
    """Metric names: the primary metric first, then its guardrails, then secondary metrics."""
    return list(run.entries)


def metric_entry(run: RunFolder, metric: str) -> dict:
    """The saved readout of ``metric``.

    Raises
    ------
    DataError
        ``metric`` is not in the run.
    """
    entries = run.entries
    if metric not in entries:
        raise DataError(f"metric {metric!r} is not in this run; it has "
                        f"{', '.join(entries) or 'no metrics'}", column=metric)
    return entries[metric]


def _segment_stats(run: RunFolder, metric: str) -> dict | None:
    """Stats with per-cell counts for ``metric``: its own, else the segment readout's."""
    for entry in (metric_entry(run, metric), run.readout.get("segments") or {}):
        stats = entry.get("stats") or {}
        if entry.get("metric") == metric and stats.get("segments") and stats.get("cells"):
            return stats
    return None


def _cell_label(cell: dict, columns) -> str:
    return SEGMENT_SEP.join(str(cell[c]) for c in columns)


def segment_columns(run: RunFolder, metric: str) -> list[str]:
    """The segment columns of ``metric``'s saved cells (empty without segments)."""
    stats = _segment_stats(run, metric)
    return list(stats["segments"]) if stats is not None else []


def list_segments(run: RunFolder, metric: str) -> list[str]:
    """Segment labels with saved per-cell counts for ``metric`` (``"a"``, ``"a x b"``)."""
    stats = _segment_stats(run, metric)
    if stats is None:
        return []
    return list(dict.fromkeys(_cell_label(c, stats["segments"]) for c in stats["cells"]))


def _monitor_stats(run: RunFolder, metric: str) -> dict | None:
    mon = run.monitor
    if not mon or mon.get("metric") != metric or not (mon.get("stats") or {}).get("looks"):
        return None
    return mon["stats"]


def list_looks(run: RunFolder, metric: str) -> list[str]:
    """Labels of the monitor's looks (dates or cumulative rows) when it followed ``metric``."""
    stats = _monitor_stats(run, metric)
    return [] if stats is None else [look["label"] for look in stats["looks"]]


@dataclass(frozen=True)
class ArmCounts:
    """Units and outcome sums per arm (conversions for a binary metric), control first."""

    arms: tuple[str, ...]
    n: np.ndarray
    sums: np.ndarray
    binary: bool
    source: str


def arm_counts(run: RunFolder, metric: str, *, segment: str | None = None,
               look: str | None = None) -> ArmCounts | None:
    """Saved per-arm counts of ``metric``: all units, one segment, or one look of the monitor.

    Returns ``None`` when the run saved no per-arm statistics for the metric.

    Raises
    ------
    DataError
        Unknown metric, segment or look, or a segment and a look together (the monitor keeps
        no per-segment counts).
    """
    entry = metric_entry(run, metric)
    if segment is not None and look is not None:
        raise DataError("pick a segment or a look, not both: the monitor keeps no "
                        "per-segment counts")
    if look is not None:
        stats = _monitor_stats(run, metric)
        labels = list_looks(run, metric)
        if look not in labels:
            where = f"looks are {', '.join(labels)}" if labels else "no monitor followed it"
            raise DataError(f"look {look!r} is not in this run for {metric!r}: {where}",
                            column="look")
        row = stats["looks"][labels.index(look)]
        return ArmCounts(arms=tuple(stats["arms"]), n=np.asarray(row["n"], dtype=float),
                         sums=np.asarray(row["sum"], dtype=float),
                         binary=stats["kind"] == "binary",
                         source=f"monitor look {row['look']} ({look}), cumulative")
    if segment is not None:
        labels = list_segments(run, metric)
        if segment not in labels:
            where = f"segments are {', '.join(labels)}" if labels else "no segment counts saved"
            raise DataError(f"segment {segment!r} is not in this run for {metric!r}: {where}",
                            column="segment")
        stats = _segment_stats(run, metric)
        cells = [c for c in stats["cells"] if _cell_label(c, stats["segments"]) == segment]
        arms = tuple(stats["arms"])
        n = np.array([sum(c["n"] for c in cells if c["arm"] == a) for a in arms], dtype=float)
        s = np.array([sum(c["sum"] for c in cells if c["arm"] == a) for a in arms], dtype=float)
        return ArmCounts(arms=arms, n=n, sums=s, binary=stats["kind"] == "binary",
                         source=f"segment {segment}")
    stats = entry.get("stats")
    if not stats:
        return None
    return ArmCounts(arms=tuple(stats["arms"]), n=np.asarray(stats["n"], dtype=float),
                     sums=np.asarray(stats["sum"], dtype=float),
                     binary=stats["kind"] == "binary", source="all units")


def saved_prior(run: RunFolder, metric: str) -> tuple[float, float] | None:
    """The Beta prior (alpha, beta) the run used for a conversion metric, else ``None``."""
    prior = metric_entry(run, metric).get("prior")
    if isinstance(prior, dict) and prior.get("distribution") == "Beta":
        return float(prior["alpha"]), float(prior["beta"])
    return None


def recomputable(run: RunFolder, metric: str) -> bool:
    """Whether the run saved the per-arm conversions of ``metric`` (so its prior can change)."""
    stats = metric_entry(run, metric).get("stats") or {}
    return stats.get("kind") == "binary" and saved_prior(run, metric) is not None


def _level(saved: SavedReadout) -> float:
    return next((e.level for e in saved.estimates() if e.level), DEFAULT_LEVEL)


def estimate_from_dict(d: dict) -> Estimate:
    """Rebuild an :class:`~bayeslab.results.Estimate` from its ``to_dict()`` form."""
    return Estimate.from_dict(d)


@dataclass(frozen=True)
class MetricView:
    """Everything the app shows for one choice of metric, segment, look and prior.

    Attributes
    ----------
    metric, kind, role : str
    segment, look : str or None
        The segment or monitor look read out (``None``: all units of the run).
    counts : ArmCounts or None
        The counts the readout was recomputed from.
    prior : BetaPrior or None
        The prior in use (conversion metrics).
    saved_prior : tuple or None
        The Beta prior of the run, to say whether the view departs from the plan.
    run_prior : object
        The prior as saved in ``readout.json`` (any kind).
    recomputed : bool
        ``True`` when the numbers were computed here from the saved counts.
    bayes : ConversionPosterior or None
    frequentist : ConversionTest or None
    estimates : list of Estimate
        Recomputed estimates, or the saved ones.
    decision : Decision or None
        The run's saved decision on this metric (for all units, under the plan's prior).
    monitor_row : dict or None
        The saved monitor row of the look (z, boundaries, rule decisions).
    note : str
        What the numbers are, in one sentence.
    unit : str or None
        The metric's unit from the plan (``"EUR"``); rates are in percentage points.
    margin : float or None
        A guardrail's non-inferiority margin.
    guardrail : dict or None
        The run's saved guardrail check (margin, P(increase > margin), non-inferiority p).
    saved : SavedReadout or None
        The run's readout of the metric, read back through the readout contract.
    pooled : Estimate or None
        For a segment: the hierarchical (partially pooled) model's saved absolute estimate.
    headline_methods : dict or None
        The methods the run's decision reads (``{"bayes": ..., "frequentist": ...}``), from
        the saved readout's headline.
    """

    metric: str
    kind: str
    role: str
    segment: str | None
    look: str | None
    counts: ArmCounts | None
    prior: object
    saved_prior: tuple | None
    run_prior: object
    recomputed: bool
    bayes: object
    frequentist: object
    estimates: list
    decision: object
    monitor_row: dict | None
    note: str
    unit: str | None = None
    margin: float | None = None
    guardrail: dict | None = None
    pooled: Estimate | None = None
    headline_methods: dict | None = None
    saved: SavedReadout | None = field(default=None, repr=False)

    @property
    def prior_text(self) -> str:
        """The prior in use, and whether it is the plan's."""
        if self.prior is None:
            from bayeslab.format import prior as prior_text

            words = prior_text(self.run_prior) if self.run_prior else "none recorded"
            return f"the run's prior ({words}); it cannot be changed for this kind"
        if self.saved_prior is not None and \
                (self.prior.alpha, self.prior.beta) == tuple(self.saved_prior):
            return f"{self.prior}, the plan's prior"
        return f"{self.prior}, chosen here (the plan used {_beta_text(self.saved_prior)})"

    def methods(self, side: str) -> list[str]:
        """Methods of ``side`` in order, adjusted ones before an unadjusted (naive) one."""
        found = [e for e in self.estimates if e.side == side]
        ordered = sorted(found, key=lambda e: e.extra.get("estimand") == "unadjusted")
        return list(dict.fromkeys(e.method for e in ordered))

    def headline(self, side: str, effect: str = "absolute",
                 method: str | None = None) -> Estimate | None:
        """The estimate of ``side`` by ``method`` (default the first of :meth:`methods`).

        On the ``effect`` scale when that method reports it, else its first estimate (a
        hazard ratio, say); ``None`` when the side has no estimate.
        """
        methods = self.methods(side)
        method = method if method in methods else (methods[0] if methods else None)
        found = [e for e in self.estimates if e.side == side and e.method == method]
        return next((e for e in found if e.effect == effect), found[0] if found else None)

    def summary(self) -> pd.DataFrame:
        """One row per estimate, both sides."""
        return pd.DataFrame([e.to_dict() for e in self.estimates])

    def arm_table(self) -> pd.DataFrame:
        """Per arm: units, conversions, and (recomputed) the posterior mean and interval."""
        if self.bayes is not None:
            return self.bayes.arm_table()
        if self.counts is None:
            return pd.DataFrame()
        return pd.DataFrame({"arm": list(self.counts.arms), "n": self.counts.n,
                             "mean": self.counts.sums / self.counts.n})


def _beta_text(prior) -> str:
    return "no Beta prior" if prior is None else f"Beta({prior[0]:g}, {prior[1]:g})"


def metric_view(run: RunFolder, metric: str, *, prior=None, segment: str | None = None,
                look: str | None = None, interval: float | None = None) -> MetricView:
    """Read out ``metric`` for the app, under ``prior``, for a segment or a monitor look.

    Parameters
    ----------
    run : RunFolder
    metric : str
    prior : (float, float), optional
        Beta prior (alpha, beta) of each arm's rate; the plan's prior by default. Conversion
        metrics only.
    segment : str, optional
        One of :func:`list_segments`.
    look : str, optional
        One of :func:`list_looks`: the cumulative counts at that look.
    interval : float, optional
        Interval level (the run's by default).

    Returns
    -------
    MetricView

    Raises
    ------
    DataError
        Unknown metric, segment or look; a prior, segment or look for a metric whose counts
        were not saved.
    ModelError
        A prior parameter that is not positive.
    """
    from bayeslab.bayes.conversion import BetaBinomial
    from bayeslab.frequentist.conversion import TwoProportionZTest

    entry = metric_entry(run, metric)
    saved = readout_from_dict(entry)
    kind, role = saved.kind or "?", saved.role
    level = float(interval) if interval is not None else _level(saved)
    plan_prior = saved_prior(run, metric)
    counts = arm_counts(run, metric, segment=segment, look=look)
    mon_row = None
    if look is not None:
        mon_row = next(r for r in run.monitor["looks"] if str(r["label"]) == look)
    pooled = None
    if segment is not None:
        pooled = next((e for e in saved.estimates() if e.segment == segment
                       and e.effect == "absolute" and e.side == "bayes"), None)
    head = saved.headline
    common = dict(metric=metric, kind=kind, role=role, segment=segment, look=look,
                  counts=counts, saved_prior=plan_prior, run_prior=saved.prior,
                  decision=saved.decision if entry.get("decision") else None,
                  monitor_row=mon_row, unit=saved.unit, margin=saved.margin,
                  guardrail=saved.guardrail_check(), pooled=pooled,
                  headline_methods={"bayes": head.bayes, "frequentist": head.frequentist,
                                    "effect": head.effect, "rate": head.rate},
                  saved=saved)
    if counts is None or not counts.binary or plan_prior is None:
        if prior is not None:
            raise DataError(f"metric {metric!r} is {kind} without saved conversions per arm: "
                            "the app can change the prior of conversion metrics only",
                            column=metric)
        if segment is not None or look is not None:
            raise DataError(f"metric {metric!r} is {kind}: per segment and per look the app "
                            "reads conversion metrics only", column=metric)
        return MetricView(**common, prior=None, recomputed=False, bayes=None, frequentist=None,
                          estimates=saved.estimates(),
                          note=f"Saved results of the run ({kind} metric: refitting it needs "
                               "the unit rows or sampling, so the app shows the numbers as "
                               "they were).")
    a, b = prior if prior is not None else (plan_prior or (1.0, 1.0))
    bayes = BetaBinomial(float(a), float(b), interval=level).fit_counts(
        counts.n, counts.sums, arms=counts.arms, metric=metric)
    freq = TwoProportionZTest(interval=level).fit_counts(counts.n, counts.sums,
                                                         arms=counts.arms, metric=metric)
    return MetricView(**common, prior=bayes.prior, recomputed=True, bayes=bayes,
                      frequentist=freq, estimates=[*bayes.estimates(), *freq.estimates()],
                      note=f"Recomputed exactly from the saved counts ({counts.source}): "
                           f"Beta-Binomial under {bayes.prior} beside the two-proportion "
                           "z-test.")


def rate_densities(view: MetricView, points: int = 300) -> pd.DataFrame:
    """Posterior density of each arm's rate on a grid: columns ``x`` and one per arm.

    Empty when the view was not recomputed (no conjugate posterior to draw).
    """
    from scipy import stats as sps

    if view.bayes is None:
        return pd.DataFrame()
    a, b = view.bayes.alpha_post, view.bayes.beta_post
    lo = min(sps.beta.ppf(1e-4, a, b))
    hi = max(sps.beta.ppf(1 - 1e-4, a, b))
    x = np.linspace(lo, hi, points)
    out = {"x": x}
    for arm, ak, bk in zip(view.bayes.arms, a, b, strict=True):
        out[arm] = sps.beta.pdf(x, ak, bk)
    return pd.DataFrame(out)


def lift_density(view: MetricView, arm: str | None = None, points: int = 200) -> pd.DataFrame:
    """Posterior density of the absolute lift :math:`p_T - p_C` (exact): columns ``x``, ``density``.

    Empty when the view was not recomputed.
    """
    from bayeslab.kernels import beta as K

    if view.bayes is None:
        return pd.DataFrame()
    post = view.bayes
    k = 1 if arm is None else post.arms.index(arm)
    c = post.comparison(post.arms[k])
    p = (post.alpha_post[k], post.beta_post[k], post.alpha_post[0], post.beta_post[0])
    width = c.abs_upper - c.abs_lower
    x = np.linspace(max(c.abs_lower - 0.6 * width, -1.0), min(c.abs_upper + 0.6 * width, 1.0),
                    points)
    return pd.DataFrame({"x": x, "density": [K.diff_pdf(v, *p) for v in x]})

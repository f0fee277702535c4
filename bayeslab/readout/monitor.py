r"""Replay the looks of a running experiment: posterior, z statistic, boundary and stops per look.

The data (unit rows with a timestamp, or daily aggregates with a count column) are reduced by
DuckDB in one scan to sufficient statistics per (look, arm), then accumulated over looks. At every
look the result states the units per arm, the posterior :math:`P(\Delta > 0)`, the expected loss
of shipping and the credible interval of the lift :math:`\Delta` (treatment minus control), the
frequentist z statistic, and the group-sequential boundary at that look's *realised* information
fraction (Lan-DeMets spending, so unequal looks are handled exactly), and where each stopping rule
and the design would have stopped. Each Bayesian rule also carries its simulated false-positive
rate under this look schedule (:func:`~bayeslab.sequential.operating.rule_false_positive_rate`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import numpy as np
import pandas as pd

from bayeslab.core import kinds
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL
from bayeslab.data.accounting import RowAccount
from bayeslab.data.sources import check_columns, open_source
from bayeslab.data.stats import sufficient_stats
from bayeslab.readout.monitor_result import MonitorResult, RuleStop
from bayeslab.sequential import posteriors as P
from bayeslab.sequential import rules as R
from bayeslab.sequential.looks import (
    check_total,
    cumulative,
    equal_cuts,
    look_keys,
    look_view,
    parse_looks,
)

__all__ = ["MonitorResult", "RuleStop", "monitor", "monitor_request"]


# ----------------------------------------------------------------------------- rules


def _rules(rule) -> list[tuple[str, R.Rule]]:
    if rule is None:
        rule = R.ProbPositive()
    if isinstance(rule, dict) and "type" not in rule:
        return [(str(k), _one_rule(v)) for k, v in rule.items()]
    if isinstance(rule, (list, tuple)):
        return [(f"rule{i + 1}", _one_rule(r)) for i, r in enumerate(rule)]
    return [("rule", _one_rule(rule))]


def _one_rule(rule) -> R.Rule:
    if isinstance(rule, str):
        return R.parse_rule(rule)
    if isinstance(rule, dict):
        return R.rule_from_dict(rule)
    if isinstance(rule, R.Rule):
        return rule
    raise ModelError(f"a rule is a bayeslab rule, a dict or a spec like 'prob:0.95,0.10', "
                     f"got {rule!r}")


def _with_prior(rule: R.Rule, prior) -> R.Rule:
    """The rule with ``prior`` filled in wherever it has none (composites recursively)."""
    if isinstance(rule, (R.AnyOf, R.AllOf)):
        return dataclasses.replace(rule, rules=tuple(_with_prior(r, prior) for r in rule.rules))
    if getattr(rule, "prior", "absent") is None and prior is not None:
        # a rule class with a prior field (checked just above; Rule itself has none)
        return dataclasses.replace(cast(Any, rule), prior=tuple(prior))
    return rule


def monitor_request(source, *, arm: str, metric: str, timestamp=None, looks=None,
                    kind: str = "conversion", n=None, sum_sq=None):
    """The grouped aggregates :func:`monitor` will read, for a plan's one scan (or ``None``)."""
    from bayeslab.data.stats import stats_request

    try:
        mode, cuts = parse_looks(looks)
        if mode == "equal":
            return None
        keyed = look_keys(source, timestamp, mode, cuts, n)
    except DataError:
        return None
    if keyed is None or kind not in kinds.names(monitoring=True):
        return None
    key, key_exprs = keyed
    return stats_request(source, arm=arm, metric=metric, kind=kinds.get(kind).stats,
                         segments=(key,),
                         n=n, sum_sq=sum_sq, key_exprs=key_exprs)


# ----------------------------------------------------------------------------- replay


def _posterior_row(one, prior, interval, kind):
    """Exact posterior quantities of one look (scalar kernels)."""
    from bayeslab.kernels import beta as K

    lo_q, hi_q = (1 - interval) / 2, (1 + interval) / 2
    if kind == "conversion":
        a0, b0 = prior
        p = (a0 + one.sum_treatment[0], b0 + one.n_treatment[0] - one.sum_treatment[0],
             a0 + one.sum_control[0], b0 + one.n_control[0] - one.sum_control[0])
        gt, lt = K.prob_greater_pair(*p)
        mean = p[0] / (p[0] + p[1]) - p[2] / (p[2] + p[3])
        return dict(prob_positive=gt, prob_negative=lt,
                    expected_loss=K.expected_loss(*p), lift_mean=mean,
                    lift_lower=K.diff_quantile(lo_q, *p), lift_upper=K.diff_quantile(hi_q, *p))
    m, s = P.normal_posterior(one, prior)
    lo, hi = P.lift_interval(one, interval, prior)
    ship, _ = P.expected_losses(one, prior)
    pp = float(P.prob_positive(one, prior)[0])
    return dict(prob_positive=pp, prob_negative=1 - pp, expected_loss=float(ship[0]),
                lift_mean=float(m[0]), lift_lower=float(lo[0]), lift_upper=float(hi[0]))


def _design_at(design, fractions, alpha, sides):
    from bayeslab.sequential.boundaries import GroupSequentialDesign, group_sequential_design

    f = list(fractions)
    if f[-1] < 1 - 1e-12:
        f.append(1.0)
    if isinstance(design, GroupSequentialDesign):
        if design.kind != "spending":
            raise ModelError("a classical design has fixed equally spaced looks; pass a "
                             "spending design (group_sequential_design) or a spending name")
        return group_sequential_design(fractions=f, alpha=design.alpha, sides=design.sides,
                                       spending=design.spending, beta=design.beta,
                                       beta_spending=design.beta_spending)
    return group_sequential_design(fractions=f, alpha=alpha, sides=sides,
                                   spending=design or "obf")


def monitor(data=None, *, arm: str, metric: str, timestamp: str | None = None,
            control: str | None = None, looks=None, rule=None, design=None, prior=None,
            kind: str = "conversion", n: str | None = None, sum_sq: str | None = None,
            missing: str = "error", sql: str | None = None, interval: float = DEFAULT_LEVEL,
            alpha: float = 0.05, sides: int = 2, max_n: int | None = None,
            fpr_sims: int = 10_000, seed: int | None = 0,
            engine: str | None = None) -> MonitorResult:
    r"""Replay the looks of an experiment with Bayesian stopping rules and a group-sequential test.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Source, optional
        Unit rows, or aggregated rows with ``n`` (one per arm and day). Or give ``sql``.
    arm, metric : str
        Arm column (two arms) and outcome column (conversions for aggregated rows).
    timestamp : str, optional
        Time of each row (date, timestamp or parseable text; a look is a calendar day) or a look
        column (look numbers or dates of aggregated rows).
    control : str, optional
        Control arm label (``0`` / ``false`` / ``control`` by default).
    looks : "daily", int, sequence of dates, or sequence of int
        ``"daily"`` / ``None``: one look per distinct day (or look value); dates: a look at the end
        of each date, rows after the last date excluded and counted; integers: cumulative numbers
        of rows in timestamp order (row order without ``timestamp``), unit rows only; one
        integer K: K looks at equal numbers of rows.
    rule : Rule, dict, str, or a list / dict of them
        Stopping rules (:mod:`bayeslab.sequential.rules`, a dict form, or a spec such as
        ``"prob:0.95,0.10"``); default ``ProbPositive(success=0.95, futility=0.10)``.
    design : GroupSequentialDesign or str, optional
        Its spending function, alpha and sides are used, at the realised fractions. A string is a
        spending spec; default ``"obf"`` with ``alpha`` and ``sides``.
    prior : tuple, optional
        Beta prior ``(alpha, beta)`` of each rate (default (1, 1)), or normal prior
        ``(mean, sd)`` of the lift for ``kind="continuous"`` (default flat). Filled into rules
        that have none.
    kind : {"conversion", "continuous"}
    n, sum_sq : str, optional
        Count column (and sum of squares, continuous) of aggregated rows.
    missing : {"error", "exclude"}
    sql : str, optional
    interval : float
    alpha, sides : float, int
        Of the default design.
    max_n : int, optional
        Planned total units at the final look, if the experiment is still running: the
        information fractions are then relative to it (information
        :math:`\propto 1/(1/n_C + 1/n_T)`, the allocation of the last look assumed).
        By default the last look is the final one.
    fpr_sims : int
        A/A experiments simulated per rule for its false-positive rate (0: skip).
    seed : int, optional
    engine : {"duckdb", "spark"}, optional
        Where the per-look statistics are computed (see :func:`bayeslab.readout.metric.compare`).

    Returns
    -------
    MonitorResult

    Raises
    ------
    DataError
        Bad columns or values (naming column and rows), not two arms, bad looks.
    ModelError
        Bad rule, design, prior or kind.

    See Also
    --------
    bayeslab.readout.metric.compare : the one-look readout.
    bayeslab.sequential.operating.rule_false_positive_rate
    """
    from bayeslab.sequential.operating import rule_false_positive_rate

    if kind not in kinds.names(monitoring=True):
        raise ModelError(f"kind must be one of {', '.join(kinds.names(monitoring=True))} to be "
                         f"monitored, got {kind!r}")
    stat_kind = kinds.get(kind).stats
    sim_metric = "binary" if stat_kind == "binary" else "normal"
    if prior is None and kind == "conversion":
        prior = (1.0, 1.0)
    P.check_prior(prior)
    if prior is not None:
        prior = tuple(float(v) for v in prior)
        if kind == "conversion" and min(prior) <= 0:
            raise ModelError(f"the Beta prior needs two positive numbers, got {prior!r}")
    named = [(name, _with_prior(r, prior)) for name, r in _rules(rule)]
    source = open_source(data, sql=sql, engine=engine)
    check_columns(source, [c for c in (arm, metric, timestamp, n, sum_sq) if c])
    mode, cuts = parse_looks(looks)
    stats = None
    if mode == "equal":
        total = source.sql(f"SELECT count(*) FROM {source.relation}")[0][0]
        mode, cuts = "sizes", equal_cuts(total, cuts)
    keyed = look_keys(source, timestamp, mode, cuts, n)
    if keyed is not None:  # grouped by a look key on the table itself: shares the plan's scan
        key, key_exprs = keyed
        stats = sufficient_stats(source, arm=arm, metric=metric, control=control,
                                 kind=stat_kind, segments=(key,), n=n, sum_sq=sum_sq,
                                 missing=missing, key_exprs=key_exprs)
        after = 0
        if mode == "sizes":
            check_total(stats.rows.read, cuts)
            if stats.rows.read > cuts[-1]:  # rows after the last look: filter them (a view)
                stats = None
    if stats is None:
        view, key, after, cuts = look_view(source, timestamp, mode, cuts, n)
        stats = sufficient_stats(view, arm=arm, metric=metric, control=control,
                                 kind=stat_kind, segments=(key,), n=n, sum_sq=sum_sq,
                                 missing=missing)
    if len(stats.arms) != 2:
        raise DataError(f"column {arm!r} has {len(stats.arms)} arms ({', '.join(stats.arms)}); "
                        "monitor compares two: filter the rows (sql=...)", column=arm)
    labels, cum_c, cum_t = cumulative(stats, key, mode, cuts)
    if cum_c[0, 0] < 1 or cum_t[0, 0] < 1:
        raise DataError("the first look has an arm with no units; start the looks later",
                        column="looks")
    acc = stats.rows
    excluded = dict(acc.excluded)
    if after:
        excluded["after the last look"] = int(after)
    rows = RowAccount(read=acc.read + after, used=acc.used, excluded=excluded, units=acc.units)
    k = len(labels)
    table, one_looks = [], []
    for i in range(k):
        one = P.look_stats(cum_c[i, 0], cum_c[i, 1], cum_t[i, 0], cum_t[i, 1],
                           sumsq_control=cum_c[i, 2], sumsq_treatment=cum_t[i, 2],
                           metric=sim_metric, look=i, n_looks=k)
        one_looks.append(one)
        row = dict(look=i + 1, label=labels[i], n_control=cum_c[i, 0], n_treatment=cum_t[i, 0],
                   mean_control=float(one.mean_control[0]),
                   mean_treatment=float(one.mean_treatment[0]), diff=float(one.estimate[0]),
                   se=float(one.se[0]), z=float(one.z[0]))
        row.update(_posterior_row(one, prior, interval, kind))
        table.append(row)
    info = 1.0 / (1.0 / cum_c[:, 0] + 1.0 / cum_t[:, 0])
    if np.any(np.diff(info) <= 0):
        raise DataError("the looks must add units at every look; two looks have the same "
                        "sample size", column="looks")
    if max_n is not None:
        share = cum_t[-1, 0] / (cum_c[-1, 0] + cum_t[-1, 0])
        full = 1.0 / (1.0 / (max_n * (1 - share)) + 1.0 / (max_n * share))
        if full < info[-1] - 1e-9:
            raise DataError(f"max_n={max_n:,} is below the units already observed",
                            column="max_n")
        fractions = info / full
        note = (f"Boundaries computed at the realised information fractions relative to the "
                f"planned {max_n:,} units (spending function), not at planned ones.")
    else:
        fractions = info / info[-1]
        note = ("Boundaries computed at the realised information fractions (spending "
                "function, the last look taken as final), not at planned ones.")
    gsd = _design_at(design, fractions, alpha, sides)
    up, lo = np.asarray(gsd.upper)[:k], np.asarray(gsd.lower)[:k]
    z = np.array([r["z"] for r in table])
    for i, row in enumerate(table):
        row.update(fraction=float(fractions[i]), upper=float(up[i]), lower=float(lo[i]),
                   alpha_spent=float(gsd.alpha_spent[i]))
    crossed = (z >= up) | (z <= lo)
    design_stop = int(np.argmax(crossed)) + 1 if crossed.any() else None
    if design_stop is None:
        design_decision = "continue"
    elif z[design_stop - 1] >= up[design_stop - 1]:
        design_decision = "success"
    else:
        design_decision = "harm" if gsd.sides == 2 else "futility"
    looks_n = np.column_stack([cum_c[:, 0], cum_t[:, 0]])
    rule_stops = []
    for j, (name, r) in enumerate(named):
        decisions = tuple(r.decide(one) for one in one_looks)
        for row, d in zip(table, decisions, strict=True):
            row[f"rule_{j}"] = d
        stop = next((i for i, d in enumerate(decisions) if d != "continue"), None)
        fp = None
        if fpr_sims:
            base = float(cum_c[-1, 1] + cum_t[-1, 1]) / float(cum_c[-1, 0] + cum_t[-1, 0])
            sd = 1.0
            if kind == "continuous":
                var = ((cum_c[-1, 2] + cum_t[-1, 2]) / (cum_c[-1, 0] + cum_t[-1, 0])
                       - base**2)
                sd = float(np.sqrt(max(var, 1e-300)))
            elif not 0 < base < 1:
                base = min(max(base, 1e-6), 1 - 1e-6)
            fp = rule_false_positive_rate(r, looks_n, baseline=base, n_sims=int(fpr_sims),
                                          seed=seed, metric=sim_metric, sd=sd)
        rule_stops.append(RuleStop(name=name, rule=r, decisions=decisions,
                                   stop_look=None if stop is None else stop + 1,
                                   decision="continue" if stop is None else decisions[stop],
                                   false_positive=fp))
    frame = pd.DataFrame(table)
    return MonitorResult(metric=metric, kind=kind, arm=arm, control=stats.control,
                         treatment=stats.arms[1], table=frame, rules=tuple(rule_stops),
                         design=gsd, design_stop=design_stop, design_decision=design_decision,
                         rows=rows, prior=prior, interval=float(interval), note=note)

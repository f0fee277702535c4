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
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayeslab import kinds
from bayeslab.data.accounting import RowAccount
from bayeslab.data.sources import (
    ROW_NUMBER,
    check_columns,
    derived_view,
    open_source,
    quote,
    select_list,
    shown,
)
from bayeslab.data.stats import rows_text, sufficient_stats
from bayeslab.errors import DataError, ModelError
from bayeslab.results import DEFAULT_LEVEL, Estimate, jsonable
from bayeslab.sequential import posteriors as P
from bayeslab.sequential import rules as R

_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT")
_LOOK = "__bayeslab_look"


@dataclass(frozen=True)
class RuleStop:
    """Where one rule would have stopped, and what it costs in false positives.

    Attributes
    ----------
    name : str
    rule : Rule
    decisions : tuple of str
        Decision at each look (``continue`` until the rule stops; later looks are still shown).
    stop_look : int or None
        1-based look at which the rule first stops; ``None`` if it never did.
    decision : str
        Its decision there (``continue`` if it never stopped).
    false_positive : FalsePositiveRate or None
        Simulated false-positive rate of the rule under the realised look schedule.
    """

    name: str
    rule: object
    decisions: tuple
    stop_look: int | None
    decision: str
    false_positive: object = None

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return jsonable({"name": self.name, "rule": self.rule.to_dict(),
                         "text": self.rule.describe(), "stop_look": self.stop_look,
                         "decision": self.decision, "decisions": list(self.decisions),
                         "false_positive_rate": None if self.false_positive is None
                         else self.false_positive.to_dict()})


@dataclass(frozen=True)
class MonitorResult:
    """Look-by-look replay of an experiment (see :func:`monitor`).

    Attributes
    ----------
    metric, kind, arm, control, treatment : str
    table : pandas.DataFrame
        One row per look (see :meth:`summary`).
    rules : tuple of RuleStop
    design : GroupSequentialDesign
        Boundaries at the realised information fractions (with a final fraction of 1 appended
        when ``max_n`` says the experiment is not finished).
    design_stop : int or None
        1-based look at which the z statistic first crossed a boundary.
    design_decision : str
    rows : RowAccount
    prior : tuple or None
    interval : float
    note : str
        How the boundaries were computed.
    """

    metric: str
    kind: str
    arm: str
    control: str
    treatment: str
    table: pd.DataFrame
    rules: tuple
    design: object
    design_stop: int | None
    design_decision: str
    rows: RowAccount
    prior: tuple | None
    interval: float
    note: str

    @property
    def false_positive_rate(self) -> float | None:
        """Simulated false-positive rate of the first rule under this look schedule."""
        fp = self.rules[0].false_positive if self.rules else None
        return None if fp is None else fp.rate

    def summary(self) -> pd.DataFrame:
        """One row per look: units, posterior quantities, z, boundaries and rule decisions."""
        return self.table.copy()

    def estimates(self) -> list[Estimate]:
        """The final look's Bayesian and frequentist estimates of the absolute lift."""
        last = self.table.iloc[-1]
        method = "beta-binomial" if self.kind == "conversion" else "normal-conjugate"
        bayes = Estimate(side="bayes", method=method, effect="absolute",
                         estimate=float(last["lift_mean"]), lower=float(last["lift_lower"]),
                         upper=float(last["lift_upper"]), level=self.interval,
                         arm=self.treatment, prob_positive=float(last["prob_positive"]),
                         expected_loss=float(last["expected_loss"]),
                         extra={"look": int(last["look"]), "prior": self.prior,
                                "prob_negative": float(last["prob_negative"])})
        se = float(last["se"])
        from scipy.special import ndtri

        zq = float(ndtri((1 + self.interval) / 2))
        est = float(last["diff"])
        freq = Estimate(side="frequentist", method="group-sequential z-test", effect="absolute",
                        estimate=est, lower=est - zq * se, upper=est + zq * se,
                        level=self.interval, arm=self.treatment,
                        extra={"look": int(last["look"]), "z": float(last["z"]),
                               "upper_boundary": float(last["upper"]),
                               "lower_boundary": float(last["lower"]),
                               "design_stop_look": self.design_stop,
                               "interval_note": "naive (not adjusted for the looks)"})
        return [bayes, freq]

    def to_dict(self) -> dict:
        """JSON-safe form: looks, rules with their false-positive rates, design, rows."""
        return jsonable({
            "metric": self.metric, "kind": self.kind, "arm": self.arm, "control": self.control,
            "treatment": self.treatment, "prior": self.prior, "interval": self.interval,
            "looks": self.table.to_dict(orient="records"),
            "rules": [r.to_dict() for r in self.rules],
            "design": self.design.to_dict(), "design_stop_look": self.design_stop,
            "design_decision": self.design_decision, "rows": self.rows.to_dict(),
            "note": self.note, "results": [e.to_dict() for e in self.estimates()]})

    def __str__(self) -> str:
        from bayeslab import format as fmt
        from bayeslab.text import render_table

        t = self.table
        conv = self.kind == "conversion"

        def rate(v):
            return fmt.rate(v) if conv else fmt.number(v)

        rows = [[str(r.look), str(r.label), fmt.count(r.n_control), fmt.count(r.n_treatment),
                 rate(r.mean_control), rate(r.mean_treatment),
                 fmt.prob(r.prob_positive, r.prob_negative),
                 f"{r.expected_loss:.3g}",
                 fmt.interval(r.lift_lower, r.lift_upper, "absolute",
                              "conversion" if conv else self.kind),
                 f"{r.z:+.2f}", f"{r.fraction:.2f}", f"{r.upper:.2f}"]
                + [str(getattr(r, f"rule_{i}")) for i in range(len(self.rules))]
                for r in t.itertuples()]
        head = ["look", "at", "n " + self.control, "n " + self.treatment, "mean C", "mean T",
                "P(lift>0)", "exp. loss", f"{self.interval:.0%} interval", "z", "t", "bound"]
        head += [r.name for r in self.rules]
        out = [f"Monitor: {self.metric} ({self.kind}), {self.treatment!r} vs control "
               f"{self.control!r}, {len(t)} looks", str(self.rows), render_table(rows, head)]
        for r in self.rules:
            where = (f"stops at look {r.stop_look} ({r.decision})" if r.stop_look
                     else "never stops")
            line = f"Rule {r.name}: {r.rule.describe()}: {where}."
            if r.false_positive is not None:
                fp = r.false_positive
                line += (f" Simulated false-positive rate with these looks: {fp.rate:.1%} "
                         f"(MC se {fp.mc_se:.1%}, {fp.n_sims:,} A/A experiments).")
            out.append(line)
        d = self.design
        where = (f"crosses at look {self.design_stop} ({self.design_decision})"
                 if self.design_stop else "never crosses")
        out.append(f"Design: {d.sides}-sided alpha={d.alpha:g}, {d.spending} spending: z "
                   f"{where}. {self.note}")
        return "\n".join(out)

    def plot(self, ax=None):
        """Figure of P(lift > 0) and z over the looks (see ``plot_monitor``)."""
        from bayeslab.plots import plot_monitor

        return plot_monitor(self, ax=ax)


# ----------------------------------------------------------------------------- inputs


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
        return dataclasses.replace(rule, prior=tuple(prior))
    return rule


def _look_expression(source, timestamp: str) -> str:
    col = quote(timestamp)
    typ = source.type_of(timestamp).upper()
    if typ == "DATE" or typ in _INTEGER:
        return col
    if typ.startswith("TIMESTAMP"):
        return f"CAST({col} AS DATE)"
    if typ == "VARCHAR":
        expr = f"TRY_CAST(TRY_CAST({col} AS TIMESTAMP) AS DATE)"
        cond = f"{col} IS NOT NULL AND {expr} IS NULL"
        bad = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
        if bad:
            sample = source.sql(f"SELECT {col} FROM {source.relation} WHERE {cond} LIMIT 1")[0][0]
            raise DataError(f"column {timestamp!r} is not a date or time: "
                            f"{rows_text(source, cond, bad)} hold text such as {shown(sample)}",
                            column=timestamp, rows=bad)
        return expr
    raise DataError(f"column {timestamp!r} has type {typ}: the look column must hold dates, "
                    "times or look numbers", column=timestamp)


def _as_date(value, name="looks"):
    try:
        return pd.Timestamp(value).date()
    except (TypeError, ValueError):
        raise DataError(f"{name}: {value!r} is not a date", column=name) from None


def _parse_looks(looks):
    """``("daily", None)``, ``("dates", [date, ...])`` or ``("sizes", [int, ...])``."""
    if looks is None or (isinstance(looks, str) and looks == "daily"):
        return "daily", None
    if isinstance(looks, (int, np.integer)) and not isinstance(looks, bool):
        if looks < 1:
            raise DataError(f"looks must be a positive number of looks, got {looks!r}",
                            column="looks")
        return "equal", int(looks)
    if isinstance(looks, str):
        raise DataError(f"looks must be 'daily', dates or cumulative sample sizes, got {looks!r}",
                        column="looks")
    values = list(looks)
    if not values:
        raise DataError("looks is empty", column="looks")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        arr = np.asarray(values, dtype=np.int64)
        if arr[0] < 4 or np.any(np.diff(arr) <= 0):
            raise DataError(f"cumulative sample sizes must start at 4 or more and increase, got "
                            f"{values}", column="looks")
        return "sizes", arr.tolist()
    dates = [_as_date(v) for v in values]
    if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
        raise DataError("look dates must increase", column="looks")
    return "dates", dates


def _equal_cuts(total: int, k: int) -> list[int]:
    cuts = [int(round(total * (i + 1) / k)) for i in range(k)]
    if cuts[0] < 4 or len(set(cuts)) < k:
        raise DataError(f"{total:,} rows cannot make {k} looks", column="looks")
    return cuts


def _check_total(total: int, cuts) -> None:
    if total < cuts[-1]:
        raise DataError(f"the last look needs {cuts[-1]:,} rows but the data have "
                        f"{total:,}", column="looks")


def _look_keys(source, timestamp, mode, cuts, n):
    """``(key, {key: SQL})``: the look of each row as a group key of the table itself.

    Daily looks group by the day of the timestamp; looks at cumulative row counts in row order
    group by the row number (DuckDB's scan order; an engine without one returns ``None``), the
    rows after the last look falling in an extra group. ``None`` for the other schedules, which
    read a filtered view instead.
    """
    if mode == "daily" and timestamp is not None:
        return timestamp, {timestamp: _look_expression(source, timestamp)}
    if mode == "sizes" and timestamp is None and n is None and source.row_number:
        cases = " ".join(f"WHEN {ROW_NUMBER} <= {c} THEN {i}" for i, c in enumerate(cuts))
        return _LOOK, {_LOOK: f"CASE {cases} ELSE {len(cuts)} END"}
    return None


def monitor_request(source, *, arm: str, metric: str, timestamp=None, looks=None,
                    kind: str = "conversion", n=None, sum_sq=None):
    """The grouped aggregates :func:`monitor` will read, for a plan's one scan (or ``None``)."""
    from bayeslab.data.stats import stats_request

    try:
        mode, cuts = _parse_looks(looks)
        if mode == "equal":
            return None
        keyed = _look_keys(source, timestamp, mode, cuts, n)
    except DataError:
        return None
    if keyed is None or kind not in kinds.names(monitoring=True):
        return None
    key, key_exprs = keyed
    return stats_request(source, arm=arm, metric=metric, kind=kinds.get(kind).stats,
                         segments=(key,),
                         n=n, sum_sq=sum_sq, key_exprs=key_exprs)


def _look_view(source, timestamp, mode, cuts, n):
    """A view with the look key column and the rows after the last look filtered out."""
    rel = source.relation
    if mode == "sizes":
        if n is not None:
            raise DataError("looks as cumulative sample sizes need unit rows; with aggregated "
                            "rows (n) give look dates", column="looks")
        # row order: the timestamp, else the scan's (DuckDB) or Spark's row ids (file order)
        order = (f"ORDER BY {quote(timestamp)}" if timestamp else
                 "ORDER BY monotonically_increasing_id()" if source.engine == "spark" else "")
        cases = " ".join(f"WHEN __rn <= {c} THEN {i}" for i, c in enumerate(cuts))
        sql = (f"SELECT {select_list(source)}, CASE {cases} END AS {_LOOK} FROM (SELECT *, "
               f"row_number() OVER ({order}) AS __rn FROM {rel}) AS t "
               f"WHERE __rn <= {cuts[-1]}")
        total = source.sql(f"SELECT count(*) FROM {rel}")[0][0]
        _check_total(total, cuts)
        return derived_view(source, sql, source.label), _LOOK, total - cuts[-1], cuts
    if timestamp is None:
        raise DataError("daily or dated looks need the timestamp column (timestamp=... or "
                        "--timestamp)", column="timestamp")
    expr = _look_expression(source, timestamp)
    where, after = "", 0
    if mode == "dates":
        last = cuts[-1].isoformat()
        cond = f"{expr} > DATE '{last}'"
        after = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
        where = f" WHERE NOT coalesce({cond}, FALSE)"
    sql = f"SELECT {select_list(source, {timestamp: expr})} FROM {rel}{where}"
    return derived_view(source, sql, source.label), timestamp, after, cuts


# ----------------------------------------------------------------------------- replay


def _cumulative(stats, key, mode, cuts):
    table = stats.table
    keys = sorted(table[key].unique().tolist())
    if mode == "dates":
        idx = np.searchsorted(np.array(cuts, dtype="datetime64[D]"),
                              np.array(keys, dtype="datetime64[D]"), side="left")
        index_of = dict(zip(keys, idx.tolist(), strict=True))
        labels = [c.isoformat() for c in cuts]
    else:
        index_of = {k: i for i, k in enumerate(keys)}
        labels = ([f"{c:,} rows" for c in cuts] if mode == "sizes"
                  else [k.isoformat() if isinstance(k, dt.date) else str(k) for k in keys])
    t = table.assign(_look=table[key].map(index_of))
    k = len(labels)
    out = {}
    for j, a in enumerate(stats.arms):
        sub = t[t["arm"] == a].groupby("_look")[["n", "sum", "sum_sq"]].sum()
        sub = sub.reindex(range(k), fill_value=0.0).cumsum()
        out[j] = sub.to_numpy(dtype=float)
    return labels, out[0], out[1]


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
        Where the per-look statistics are computed (see :func:`bayeslab.readout.compare`).

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
    bayeslab.readout.compare : the one-look readout.
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
    mode, cuts = _parse_looks(looks)
    stats = None
    if mode == "equal":
        total = source.sql(f"SELECT count(*) FROM {source.relation}")[0][0]
        mode, cuts = "sizes", _equal_cuts(total, cuts)
    keyed = _look_keys(source, timestamp, mode, cuts, n)
    if keyed is not None:  # grouped by a look key on the table itself: shares the plan's scan
        key, key_exprs = keyed
        stats = sufficient_stats(source, arm=arm, metric=metric, control=control,
                                 kind=stat_kind, segments=(key,), n=n, sum_sq=sum_sq,
                                 missing=missing, key_exprs=key_exprs)
        after = 0
        if mode == "sizes":
            _check_total(stats.rows.read, cuts)
            if stats.rows.read > cuts[-1]:  # rows after the last look: filter them (a view)
                stats = None
    if stats is None:
        view, key, after, cuts = _look_view(source, timestamp, mode, cuts, n)
        stats = sufficient_stats(view, arm=arm, metric=metric, control=control,
                                 kind=stat_kind, segments=(key,), n=n, sum_sq=sum_sq,
                                 missing=missing)
    if len(stats.arms) != 2:
        raise DataError(f"column {arm!r} has {len(stats.arms)} arms ({', '.join(stats.arms)}); "
                        "monitor compares two: filter the rows (sql=...)", column=arm)
    labels, cum_c, cum_t = _cumulative(stats, key, mode, cuts)
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

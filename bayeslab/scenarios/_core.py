"""Scenario result type and the helpers the generators share (checks, exact truth tables)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from bayeslab.core.errors import DataError

SCENARIOS = ("migration", "campaign", "musicstream", "homepage", "personalization")
MIN_ROWS = 100
# about 100 bytes a simulated row in memory: 20 million rows are 2 GB, larger ones are refused
# (simulate several seeds and stack them, or aggregate with a count column)
MAX_ROWS = 20_000_000


# --------------------------------------------------------------------------------------------
# Scenario


@dataclass(frozen=True, eq=False)
class Scenario:
    """One simulated experiment with its known truth.

    Attributes
    ----------
    name : str
        Scenario name, one of :data:`SCENARIOS`.
    data : pandas.DataFrame
        Unit-level rows, columns as in the source notebook.
    truth : dict
        True parameters of the generating model (JSON-safe); see the module docstring and the
        generator's docstring for every key.
    roles : dict
        Column roles for bayeslab: ``unit_id``, ``arm``, ``control`` (label of the control arm as a
        string), ``treatment`` (label of the treatment arm), ``metric`` (primary outcome),
        ``kinds`` (outcome column -> kind) and, where they apply, ``guardrails``, ``covariate``
        (pre-period CUPED covariate), ``revenue``, ``segments``, ``strata``, ``funnel``,
        ``date``, ``duration``, ``event``, ``confounders``, ``balance_covariates``,
        ``expected_shares`` (arm label -> designed share, for SRM), ``salt``, ``randomized``.
    description : str
        What the scenario simulates, in a few lines.
    params : dict
        Generator arguments actually used (``rows``, ``seed`` and the options).
    """

    name: str
    data: pd.DataFrame
    truth: dict
    roles: dict
    description: str
    params: dict = field(default_factory=dict)

    def write(self, path) -> Path:
        """Write the data (CSV or Parquet, by extension) and a ``<path>.truth.json`` sidecar.

        Parameters
        ----------
        path : str or pathlib.Path
            Target file ending in ``.csv``, ``.parquet`` or ``.pq``.

        Returns
        -------
        pathlib.Path
            The sidecar path (``<path>.truth.json``) holding name, description, params, roles and
            truth.

        Raises
        ------
        DataError
            If the extension is neither CSV nor Parquet.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            self.data.to_csv(path, index=False)
        elif suffix in (".parquet", ".pq"):
            self.data.to_parquet(path, index=False)
        else:
            raise DataError(f"cannot write scenario to {str(path)!r}: the extension must be .csv, "
                            f".parquet or .pq, got {suffix or 'none'!r}")
        sidecar = path.with_name(path.name + ".truth.json")
        payload = {"scenario": self.name, "description": self.description,
                   "params": self.params, "roles": self.roles, "truth": self.truth}
        sidecar.write_text(json.dumps(payload, indent=2) + "\n")
        return sidecar

    def __str__(self) -> str:
        head = self.description.splitlines()[0]
        lines = [f"Scenario {self.name!r}: {len(self.data):,} rows x {self.data.shape[1]} columns",
                 f"  {head}",
                 f"  arm {self.roles['arm']!r} (control {self.roles['control']!r}), "
                 f"metric {self.roles['metric']!r}"]
        from bayeslab.core import format as fmt

        for col, m in self.truth["metrics"].items():
            rate = self._is_rate(col)

            def diff(v, rate=rate):
                return fmt.pp(v) if rate else fmt.number(v, sign=True)

            def level(v, rate=rate):
                return fmt.rate(v) if rate else fmt.number(v)

            if "ate" in m:
                lines.append(f"  {col:<22} ATE {diff(m['ate'])}  ATT {diff(m['att'])}  naive "
                             f"difference {diff(m['naive_difference'])}")
            else:
                lines.append(f"  {col:<22} control {level(m['control']):>10}  treatment "
                             f"{level(m['treatment']):>10}  effect {diff(m['abs_effect'])} "
                             f"({fmt.pct(m['rel_effect'], 1)})")
        return "\n".join(lines)

    def _is_rate(self, column: str) -> bool:
        """Whether a truth column is a 0/1 outcome (its effects are shown in pp)."""
        import numpy as np

        if column not in self.data:
            return False
        values = self.data[column].dropna()
        return bool(len(values)) and bool(np.isin(values.unique(), (0, 1)).all())


# --------------------------------------------------------------------------------------------
# shared helpers


def check_rows(rows, default: int) -> int:
    if rows is None:
        return default
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)):
        raise DataError(f"rows must be an integer >= {MIN_ROWS}, got {rows!r}")
    if rows < MIN_ROWS:
        raise DataError(f"rows must be at least {MIN_ROWS} to populate every arm and segment, "
                        f"got {rows}", rows=int(rows))
    if rows > MAX_ROWS:
        raise DataError(f"rows must be at most {MAX_ROWS:,} (a simulated frame is held in "
                        f"memory, about 100 bytes a row), got {int(rows):,}: simulate several "
                        "seeds and stack them", rows=int(rows))
    return int(rows)


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_fraction(name: str, value, *, low: float = 0.0, high: float = 1.0,
                    low_open: bool = True) -> float:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low) and value < high
    if not ok:
        bracket = "(" if low_open else "["
        raise DataError(f"{name} must be a number in {bracket}{low}, {high}), got {value!r}")
    return float(value)


def label_array(names, codes) -> np.ndarray:
    return np.asarray(names, dtype=object)[codes]


def wmean(w, x) -> float:
    return float(np.dot(w, x) / np.sum(w))


def contrast(w, m0, m1, suffix: str = "") -> dict:
    c, t = wmean(w, m0), wmean(w, m1)
    return {f"control{suffix}": c, f"treatment{suffix}": t, f"abs_effect{suffix}": t - c,
            f"rel_effect{suffix}": t / c - 1 if c != 0 else None}


def ratio_contrast(num: dict, den: dict, suffix: str = "") -> dict:
    c = num[f"control{suffix}"] / den[f"control{suffix}"]
    t = num[f"treatment{suffix}"] / den[f"treatment{suffix}"]
    return {f"control{suffix}": c, f"treatment{suffix}": t, f"abs_effect{suffix}": t - c,
            f"rel_effect{suffix}": t / c - 1}


def metric_truth(kind, pop, sample) -> dict:
    """Return population and sample contrasts of one metric; ``pop``/``sample`` are (w, m0, m1)."""
    out = {"kind": kind, **contrast(*pop), **contrast(*sample, suffix="_sample")}
    return out


def segment_truth(pop_codes, pop_w, pop_metrics, unit_codes, unit_metrics, labels,
                   ratios=()) -> dict:
    """Per-segment truths. ``*_metrics`` map column -> (m0, m1) arrays over cells / units."""
    ones = np.ones(len(unit_codes))
    total = np.sum(pop_w)
    out = {}
    for g, label in enumerate(labels):
        pm, um = pop_codes == g, unit_codes == g
        entry = {"share": float(np.sum(pop_w[pm]) / total), "share_sample": float(np.mean(um))}
        for col, (m0, m1) in pop_metrics.items():
            u0, u1 = unit_metrics[col]
            entry[col] = {**contrast(pop_w[pm], m0[pm], m1[pm]),
                          **contrast(ones[um], u0[um], u1[um], "_sample")}
        for name, num, den in ratios:
            entry[name] = {**ratio_contrast(entry[num], entry[den]),
                           **ratio_contrast(entry[num], entry[den], "_sample")}
        out[label] = entry
    return out


def flat_rates(m: dict) -> dict:
    out = {}
    for suffix in ("", "_sample"):
        out.update({f"control_rate{suffix}": m[f"control{suffix}"],
                    f"treatment_rate{suffix}": m[f"treatment{suffix}"],
                    f"abs_lift{suffix}": m[f"abs_effect{suffix}"],
                    f"rel_lift{suffix}": m[f"rel_effect{suffix}"]})
    return out


def finish(name, data, truth, roles, description, params) -> Scenario:
    from bayeslab.core.estimates import jsonable

    return Scenario(name=name, data=data, truth=jsonable(truth), roles=jsonable(roles),
                    description=description, params=jsonable(params))


def expit(x):
    return special.expit(x)



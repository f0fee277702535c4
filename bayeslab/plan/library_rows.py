"""A plan run's rows for the experiment library (issue 25): one per metric and treatment arm.

:func:`run_rows` turns a :class:`~bayeslab.plan.runner.RunResult` into the rows
:meth:`bayeslab.data.library.ExperimentLibrary.append` writes; :func:`unrecorded` says which
readouts gave no row and why. The runner (or the CLI) writes them only when a library is named::

    from bayeslab.data.library import ExperimentLibrary
    from bayeslab.plan.library_rows import run_rows

    written = ExperimentLibrary(path).append(run_rows(result))

Numbers: each side's *frequentist* estimate of the effect, the decision's own method where it is
on that scale (its headline), else the first frequentist method on it; population level, the
headline's funnel stage. The standard error is the method's own where it reports one
(``extra["se"]``), else read from the interval, ``(upper - lower) / (2 z)`` with ``z`` the
normal quantile of the interval level: exact for a Wald interval, the delta-method standard error
to first order for an interval built on another scale (a log-ratio relative effect). A conversion
metric's absolute effect is a difference of rates as a fraction (0.004 for +0.4 percentage
points); other metrics' in their unit. A readout with neither an absolute nor a relative
frequentist estimate (a retention metric's hazard ratio) gives no row.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from statistics import NormalDist

SCALES = ("absolute", "relative")


def plan_hash(plan) -> str:
    """SHA-256 of the plan file's bytes, as ``sha256sum`` prints it.

    A plan without a readable file (built in memory) is hashed from its fields instead.
    """
    try:
        content = plan.path.read_bytes()
    except (OSError, AttributeError, TypeError):
        content = repr(plan).encode()
    return hashlib.sha256(content).hexdigest()


def data_identity(plan) -> str:
    """What names the data a plan read: its ``[data]`` table, and its files' sizes and times.

    The bytes are not read (a 10 GB Parquet folder costs nothing); SQL is named by its text and
    simulated data by its scenario, rows and seed.
    """
    files = []
    path = plan.data_path()
    if path is not None:
        targets = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for p in targets:
            try:
                st = p.stat()
            except OSError:
                files.append([str(p), None, None])
                continue
            files.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    return json.dumps({"data": plan.data, "files": files}, sort_keys=True, default=str)


def run_id(plan) -> str:
    """The experiment id of a run: SHA-256 of the plan's hash and its data's identity.

    16 hex digits. The same plan file on the same data gives the same id, so a rerun replaces
    its rows in the library instead of adding them again.
    """
    return _run_id(plan_hash(plan), plan)


def _run_id(digest: str, plan) -> str:
    return hashlib.sha256(f"run\0{digest}\0{data_identity(plan)}".encode()).hexdigest()[:16]


def run_rows(result, *, run_at: _dt.datetime | None = None,
             start_date: _dt.date | None = None,
             end_date: _dt.date | None = None) -> list[dict]:
    """The library rows of a plan run: primary, guardrails and secondaries, per treatment arm.

    Parameters
    ----------
    result : RunResult
        What :func:`~bayeslab.plan.runner.run_plan` returned.
    run_at : datetime, optional
        When the run happened (UTC, naive); now by default.
    start_date, end_date : date, optional
        When the experiment ran, where the caller knows it.

    Returns
    -------
    list of dict
        Keyed by :data:`bayeslab.data.library.NAMES`: ``shipped`` is true for every metric of
        the arm the plan's decision ships (verdict ``"ship"``); ``verdict`` is each readout's
        decision for the arm it is about (``None`` for the other arms of a several-arm
        readout).

    See Also
    --------
    unrecorded : the readouts that gave no row.
    bayeslab.data.library.ExperimentLibrary.append : writes the rows.
    """
    return _collect(result, run_at, start_date, end_date)[0]


def unrecorded(result) -> list[str]:
    """One sentence per readout that :func:`run_rows` gives no row for, saying why."""
    return _collect(result, None, None, None)[1]


def _collect(result, run_at, start_date, end_date) -> tuple[list[dict], list[str]]:
    plan = result.plan
    digest = plan_hash(plan)
    experiment_id = _run_id(digest, plan)
    run_at = run_at or _dt.datetime.now(_dt.UTC).replace(tzinfo=None)
    decision = result.decision
    shipped_arm = _ship_arm(decision, result.primary)
    rows, skipped = [], []
    for readout in result.readouts:
        control, arms, counts = _arms(readout, plan)
        for arm in arms:
            est = {scale: _estimate(readout, arm, scale) for scale in SCALES}
            if est["absolute"] is None and est["relative"] is None:
                skipped.append(f"{readout.metric!r} (arm {arm!r}) has no absolute or relative "
                               f"frequentist estimate (its effect is {readout.headline.effect})")
                continue
            effect = readout.headline.effect
            scale = effect if effect in SCALES else next(s for s in SCALES if est[s])
            about = readout.decision.arm
            verdict = (readout.decision.verdict
                       if (about is not None and str(about) == arm)
                       or (about is None and len(arms) == 1) else None)
            rows.append({
                "experiment": plan.name, "experiment_id": experiment_id, "plan_hash": digest,
                "run_at": run_at, "start_date": start_date, "end_date": end_date,
                "metric": readout.metric, "role": readout.role, "kind": readout.kind,
                "unit": readout.unit, "effect_scale": scale, "arm": arm, "control": control,
                "estimate_abs": _at(est["absolute"], 0), "se_abs": _at(est["absolute"], 1),
                "estimate_rel": _at(est["relative"], 0), "se_rel": _at(est["relative"], 1),
                "n_control": None if control is None else counts.get(control),
                "n_treatment": counts.get(arm),
                "verdict": verdict, "shipped": shipped_arm is not None and arm == shipped_arm,
                "source": "run",
            })
    return rows, skipped


def _at(pair, i):
    return None if pair is None else pair[i]


def _ship_arm(decision, primary) -> str | None:
    """The arm the plan ships (``None`` unless the verdict is ``ship``)."""
    if decision.verdict != "ship":
        return None
    if decision.arm is not None:
        return str(decision.arm)
    _control, arms, _counts = _arms(primary, None)
    return arms[0] if len(arms) == 1 else None


def _arms(readout, plan) -> tuple[str | None, list[str], dict[str, int]]:
    """Control label, treatment arm labels and units per arm (from the readout's arm table)."""
    table = readout.arms
    if table is not None and len(table) >= 2:
        labels = [str(a) for a in table["arm"]]
        counts = {str(a): int(round(float(n))) for a, n in zip(table["arm"], table["n"],
                                                                   strict=True)
                  if n is not None and math.isfinite(float(n))}
        return labels[0], labels[1:], counts
    control = None if plan is None else plan.columns.get("control")
    control = None if control is None else str(control)
    labels = [str(e.arm) for e in readout.estimates() if e.arm is not None]
    arms = list(dict.fromkeys(labels)) or (
        [str(readout.decision.arm)] if readout.decision.arm is not None else ["treatment"])
    return control, arms, {}


def _estimate(readout, arm: str, scale: str) -> tuple[float, float] | None:
    """(estimate, standard error) of the frequentist effect of ``arm`` on ``scale``."""
    head = readout.headline
    pick = [e for e in readout.estimates()
            if e.side == "frequentist" and e.segment is None and e.effect == scale
            and (e.arm is None or str(e.arm) == arm)
            and (head.rate is None or e.extra.get("rate") in (None, head.rate))]
    if not pick:
        return None
    chosen = next((e for e in pick if e.method == head.frequentist), pick[0])
    se = chosen.extra.get("se")
    if not (isinstance(se, (int, float)) and math.isfinite(se) and se > 0):
        z = NormalDist().inv_cdf(0.5 + chosen.level / 2)
        se = (chosen.upper - chosen.lower) / (2 * z)
    if not (math.isfinite(chosen.estimate) and math.isfinite(se) and se > 0):
        return None
    return float(chosen.estimate), float(se)

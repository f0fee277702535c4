r"""The next period's traffic weights of a bandit: Thompson sampling computed exactly.

Thompson sampling sends each unit to arm :math:`k` with the posterior probability that
:math:`k` is best, :math:`\alpha_k = P(\theta_k = \max_j \theta_j \mid \text{data})`. A period's
traffic weights are therefore :math:`\alpha_k` itself, computed here by quadrature, not by
drawing:

- conversion: :math:`\theta_k \sim \mathrm{Beta}(a + y_k, b + n_k - y_k)` (prior
  :math:`\mathrm{Beta}(a, b)`, default Beta(1, 1)) and :math:`\alpha_k` from
  :func:`bayeslab.kernels.beta.prob_best`;
- continuous: :math:`\theta_k \sim N(\bar y_k, s_k^2 / n_k)`, the flat-prior posterior of a mean
  with the sample sd plugged in (the Student-t posterior is within :math:`O(1/n_k)` of it; an arm
  needs :math:`n_k \ge 2`), and :math:`\alpha_k` from
  :func:`bayeslab.kernels.normal_best.normal_prob_best`.

**Top-two Thompson sampling** (Russo 2016, *Simple Bayesian algorithms for best-arm
identification*): the leader :math:`I \sim \alpha` is played with probability :math:`\beta`;
otherwise posterior draws are repeated until another arm :math:`J \ne I` leads, so
:math:`P(J = i \mid I = j) = \alpha_i / (1 - \alpha_j)` and

.. math::

    \psi_i = \beta\,\alpha_i
        + (1 - \beta)\,\alpha_i \sum_{j \ne i} \frac{\alpha_j}{1 - \alpha_j}.

**Exploration floor.** The weights are mixed with an even split,
:math:`w_k = f + (1 - K f)\,\psi_k`, so every arm keeps at least the floor :math:`f` (default
:math:`0.1 / K`: a tenth of the traffic explores evenly) and the order of the arms is kept;
``floor=0`` turns it off. A floor keeps every arm in every period, which the stratified readout
of the experiment (:func:`bayeslab.readout.bandit.bandit_readout`) needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import jsonable

KINDS = ("conversion", "continuous")


def default_floor(k: int) -> float:
    """The default exploration floor of ``k`` arms: :math:`0.1 / k`."""
    return 0.1 / k


def check_floor(floor: float | None, k: int) -> float:
    """The floor to use: ``None`` gives :func:`default_floor`; it must lie in [0, 1/k]."""
    if floor is None:
        return default_floor(k)
    f = float(floor)
    if not (np.isfinite(f) and 0.0 <= f <= 1.0 / k):
        raise ModelError(f"floor must be a share from 0 to 1/{k} (= {1.0 / k:.4g}) for {k} "
                         f"arms, got {floor!r}")
    return f


def check_top_two(top_two) -> float | None:
    """``None`` / ``False``: plain Thompson; ``True``: beta 0.5; a number: beta in (0, 1)."""
    if top_two is None or top_two is False:
        return None
    if top_two is True:
        return 0.5
    b = float(top_two)
    if not 0.0 < b < 1.0:
        raise ModelError(f"top_two (beta, the leader's share) must be in (0, 1), got {top_two!r}")
    return b


def top_two_weights(alpha, beta: float) -> np.ndarray:
    r"""Top-two Thompson allocation :math:`\psi` from P(best) :math:`\alpha` (last axis: arms).

    :math:`1 - \alpha_j` is taken as :math:`\sum_{i \ne j} \alpha_i` (no cancellation); a leader
    with :math:`1 - \alpha_j = 0` hands its challenger share evenly to the other arms.
    """
    a = np.asarray(alpha, dtype=float)
    k = a.shape[-1]
    rest = a.sum(axis=-1, keepdims=True) - a                  # 1 - alpha_j
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(rest > 0, a / np.where(rest > 0, rest, 1.0), 0.0)
    share = a * (ratio.sum(axis=-1, keepdims=True) - ratio)   # sum_{j != i} alpha_j c_ij
    lone = np.where(rest > 0, 0.0, a)                         # leaders with 1 - alpha_j = 0
    share = share + (lone.sum(axis=-1, keepdims=True) - lone) / (k - 1)
    return beta * a + (1.0 - beta) * share


def allocation(alpha, *, floor: float = 0.0, top_two: float | None = None) -> np.ndarray:
    """Traffic weights from P(best): top-two if asked, then the floor (last axis: arms)."""
    a = np.asarray(alpha, dtype=float)
    psi = top_two_weights(a, top_two) if top_two is not None else a
    k = a.shape[-1]
    return floor + (1.0 - k * floor) * psi / psi.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class BanditWeights:
    r"""The next period's traffic weights of a Thompson-sampling bandit.

    Attributes
    ----------
    arms : tuple of str
    weights : tuple of float
        Traffic share per arm (sums to 1).
    prob_best : tuple of float
        :math:`P(\text{best}_k)` under the posterior.
    n : tuple of float
        Units per arm.
    mean : tuple of float
        Observed rate (conversion) or mean (continuous) per arm.
    posterior : tuple of tuple
        Per arm ``(a, b)`` of the Beta posterior, or ``(mean, sd)`` of the normal one.
    kind : str
    floor : float
    top_two : float or None
        :math:`\beta` of top-two Thompson sampling, None for plain Thompson.
    prior : tuple of float
        Beta(a, b) prior of conversion rates (unused for continuous).
    """

    arms: tuple
    weights: tuple
    prob_best: tuple
    n: tuple
    mean: tuple
    posterior: tuple
    kind: str
    floor: float
    top_two: float | None
    prior: tuple

    @property
    def method(self) -> str:
        """One line naming the rule: Thompson (or top-two), exact, the floor."""
        rule = (f"top-two Thompson sampling (beta = {self.top_two:g})" if self.top_two is not None
                else "Thompson sampling")
        post = ("Beta posteriors" if self.kind == "conversion"
                else "normal posteriors of the means")
        from bayeslab.core import format as fmt

        floor = (f"exploration floor {fmt.rate(self.floor, 2)} per arm" if self.floor > 0
                 else "no exploration floor")
        return f"{rule}, P(best) of the {post} by quadrature (no sampling), {floor}"

    def weights_dict(self) -> dict:
        """``{arm: share}``."""
        return dict(zip(self.arms, (float(w) for w in self.weights), strict=True))

    def to_dict(self) -> dict:
        """JSON-safe: ``weights`` (arm -> share), ``prob_best`` (arm -> P), the rule, the arms."""
        return jsonable({
            "weights": self.weights_dict(),
            "prob_best": dict(zip(self.arms, self.prob_best, strict=True)),
            "kind": self.kind, "floor": self.floor, "top_two": self.top_two,
            "method": self.method, "prior": list(self.prior) if self.kind == "conversion"
            else None,
            "arms": [{"arm": a, "n": n, "mean": m, "posterior": list(p)}
                     for a, n, m, p in zip(self.arms, self.n, self.mean, self.posterior,
                                           strict=True)]})

    def summary(self):
        """DataFrame, one row per arm: n, mean, P(best), weight."""
        import pandas as pd

        return pd.DataFrame({"arm": list(self.arms), "n": list(self.n), "mean": list(self.mean),
                             "prob_best": list(self.prob_best),
                             "weight": list(self.weights)}).set_index("arm")

    def __str__(self) -> str:
        from bayeslab.core import format as fmt
        from bayeslab.core.text import render_table

        shown = fmt.rate if self.kind == "conversion" else (
            lambda v: fmt.amount(v, sign=False))
        rows = [[a, fmt.count(n), shown(m), fmt.prob(p), fmt.rate(w, 2)]
                for a, n, m, p, w in zip(self.arms, self.n, self.mean, self.prob_best,
                                         self.weights, strict=True)]
        head = ["arm", "n", "rate" if self.kind == "conversion" else "mean", "P(best)",
                "next weight"]
        return f"next period's traffic: {self.method}\n" + render_table(rows, head)


def arm_totals(data, *, arm: str, metric: str, n: str | None = None, sd: str | None = None,
               kind: str = "conversion"):
    """Per-arm totals ``(arms, n, sum, sd)`` from one row per arm or from unit rows.

    With ``n``, each row is an arm: ``n`` units, ``metric`` their conversions (conversion) or the
    sum of their values (continuous, which also needs ``sd``, the units' sample sd). Without
    ``n``, each row is a unit and the totals are grouped by ``arm``.
    """
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    cols = [c for c in (arm, metric, n, sd) if c is not None]
    for c in cols:
        if c not in frame.columns:
            raise DataError(f"column {c!r} is not in the data (columns: "
                            f"{', '.join(map(str, frame.columns))})", column=c)
    for c in cols[1:]:
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(float))
        if bad.any():
            raise DataError(f"column {c!r} has {int(bad.sum())} missing or non-numeric "
                            f"values (first: {frame[c][bad].iloc[0]!r})", column=c,
                            rows=int(bad.sum()))
    if frame[arm].isna().any():
        raise DataError(f"column {arm!r} has {int(frame[arm].isna().sum())} missing arms",
                        column=arm)
    if n is not None:
        if kind == "continuous" and sd is None:
            raise DataError(f"continuous arm rows need an sd column (the units' sample sd of "
                            f"{metric!r}); give sd (--sd COL), or unit rows without n",
                            column=metric)
        dup = frame[arm].astype(str).duplicated()
        if dup.any():
            raise DataError(f"column {arm!r} repeats arm {frame[arm][dup].iloc[0]!r}: with "
                            f"--n give one row per arm (or unit rows without --n)", column=arm)
        arms = tuple(frame[arm].astype(str))
        cnt = frame[n].to_numpy(float)
        tot = frame[metric].to_numpy(float)
        sds = frame[sd].to_numpy(float) if sd is not None else np.full(len(arms), np.nan)
    else:
        g = frame.groupby(frame[arm].astype(str), sort=True)[metric]
        arms = tuple(g.size().index)
        cnt = g.size().to_numpy(float)
        tot = g.sum().to_numpy(float)
        sds = g.std(ddof=1).to_numpy(float) if kind == "continuous" else np.full(len(arms),
                                                                                   np.nan)
    if len(arms) < 2:
        raise DataError(f"column {arm!r} has {len(arms)} arm; a bandit needs two or more",
                        column=arm)
    if (cnt <= 0).any() or (cnt != np.floor(cnt)).any():
        k = int(np.argmax((cnt <= 0) | (cnt != np.floor(cnt))))
        raise DataError(f"column {n or arm!r}: arm {arms[k]!r} has {cnt[k]:g} units; each arm "
                        "needs a positive whole number", column=n or arm)
    if kind == "conversion":
        bad = (tot < 0) | (tot > cnt) | (tot != np.floor(tot))
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(f"column {metric!r}: arm {arms[k]!r} has {tot[k]:g} conversions of "
                            f"{cnt[k]:g} units (need whole numbers from 0 to n; a continuous "
                            "metric needs --kind continuous)", column=metric)
    else:
        bad = (cnt < 2) | ~np.isfinite(sds) | (sds <= 0)
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(f"column {sd or metric!r}: arm {arms[k]!r} has n = {cnt[k]:g} and sd "
                            f"= {sds[k]:g}; each arm needs n >= 2 and a positive sd",
                            column=sd or metric)
    return arms, cnt, tot, sds


def bandit_weights(data, *, arm: str, metric: str, n: str | None = None, sd: str | None = None,
                   kind: str = "conversion", floor: float | None = None, top_two=None,
                   prior=(1.0, 1.0)) -> BanditWeights:
    r"""The next period's traffic weights by Thompson sampling, computed exactly.

    .. math::

        w_k = f + (1 - K f)\,\psi_k, \qquad \psi_k = \alpha_k = P(\theta_k = \max_j \theta_j)
        \text{ (Thompson) or the top-two allocation (Russo 2016)}

    with :math:`\theta_k \sim \mathrm{Beta}(a + y_k, b + n_k - y_k)` (conversion) or
    :math:`N(\bar y_k, s_k^2 / n_k)` (continuous); see the module docstring.

    Parameters
    ----------
    data : pandas.DataFrame or mapping of columns
        One row per arm (with ``n``) or one row per unit (without).
    arm, metric : str
        Arm column; conversions (0/1 per unit, or counts per arm) or values (sums per arm).
    n : str, optional
        Units column of per-arm rows.
    sd : str, optional
        Sample sd column of per-arm continuous rows.
    kind : {"conversion", "continuous"}
    floor : float, optional
        Least share per arm, in [0, 1/K]; default :math:`0.1/K`; 0 turns it off.
    top_two : bool or float, optional
        Top-two Thompson sampling with leader share :math:`\beta` (True: 0.5).
    prior : (float, float)
        Beta(a, b) prior of each conversion rate.

    Returns
    -------
    BanditWeights

    Raises
    ------
    DataError
        A missing column, a repeated arm, counts that are not whole numbers from 0 to n.
    ModelError
        An unknown kind, a floor outside [0, 1/K], a beta outside (0, 1), a bad prior.

    See Also
    --------
    bayeslab.readout.bandit.bandit_readout : reading out the experiment, stratified by period.
    """
    if kind not in KINDS:
        raise ModelError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    beta = check_top_two(top_two)
    a0, b0 = (float(v) for v in prior)
    if not (a0 > 0 and b0 > 0 and np.isfinite(a0) and np.isfinite(b0)):
        raise ModelError(f"prior must be two positive numbers (Beta a, b), got {prior!r}")
    arms, cnt, tot, sds = arm_totals(data, arm=arm, metric=metric, n=n, sd=sd, kind=kind)
    f = check_floor(floor, len(arms))
    if kind == "conversion":
        post = tuple((a0 + y, b0 + m - y) for y, m in zip(tot, cnt, strict=True))
        from bayeslab.kernels.beta import prob_best

        alpha = prob_best(post)
    else:
        from bayeslab.kernels.normal_best import normal_prob_best

        post = tuple((t / m, s / np.sqrt(m)) for t, m, s in zip(tot, cnt, sds, strict=True))
        alpha = normal_prob_best([p[0] for p in post], [p[1] for p in post])
    w = allocation(alpha, floor=f, top_two=beta)
    return BanditWeights(arms=arms, weights=tuple(float(v) for v in w),
                         prob_best=tuple(float(v) for v in alpha),
                         n=tuple(float(v) for v in cnt),
                         mean=tuple(float(t / m) for t, m in zip(tot, cnt, strict=True)),
                         posterior=tuple(tuple(float(v) for v in p) for p in post), kind=kind,
                         floor=f, top_two=beta, prior=(a0, b0))

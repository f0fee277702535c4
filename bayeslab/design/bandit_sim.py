r"""Simulated conversion bandits: regret and time to identify the best arm, many at once.

A scenario has :math:`K` arms with true rates :math:`p_{tk} = p_k\, m_t` in period :math:`t`
(``period_effect`` :math:`m_t`, default 1: no drift), :math:`T` periods of :math:`N` users.
Each replicate allocates period :math:`t` by multinomial draws from the weights computed on the
data of periods :math:`1 .. t-1` (:func:`bayeslab.design.bandit.allocation`: Thompson, top-two,
or an even split), then draws conversions :math:`y_{tk} \sim \mathrm{Bin}(n_{tk}, p_{tk})`. All
replicates advance together (numpy arrays over replicates).

**Regret** (cumulative, expected conversions lost against always playing the best arm):
:math:`R = \sum_t \sum_k n_{tk} (\max_j p_{tj} - p_{tk})`. **Time to identify** the best arm: the
first period after which :math:`P(\text{best}_{k^*}) \ge 0.95` under the Beta(1, 1) posteriors of
the data so far (never: not counted, and the share identified is reported).

P(best) of every replicate at once uses the same integral as
:func:`bayeslab.kernels.beta.prob_best`, on composite 8-point Gauss-Legendre panels at each arm's
mean :math:`\pm` (0, 1.5, 3, 5, 8, 12) sd, clipped to where the leader lives (from the largest
lower 12-sd end to the largest upper one), with the Beta CDF and density of the kernel
(:func:`batched_prob_best`; tested against the kernel to 1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.design.bandit import allocation, check_floor

POLICIES = ("thompson", "top-two", "uniform")
IDENTIFIED = 0.95
_EDGES = np.array([-12.0, -8.0, -5.0, -3.0, -1.5, 0.0, 1.5, 3.0, 5.0, 8.0, 12.0])
_GL8 = np.polynomial.legendre.leggauss(8)


def batched_prob_best(a, b) -> np.ndarray:
    r"""P(best) of independent Beta(a, b) arms for many problems at once (last axis: arms).

    .. math:: P(\text{best}_k) = \int f_k(x) \prod_{j \ne k} F_j(x)\, dx

    Parameters
    ----------
    a, b : array of shape (R, K)

    Returns
    -------
    numpy.ndarray of shape (R, K), rows summing to 1.
    """
    from bayeslab.kernels import beta as K

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    m = a / (a + b)
    s = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    lo = np.clip(np.max(m - 12.0 * s, axis=-1), 0.0, 1.0)[:, None]
    hi = np.clip(np.max(m + 12.0 * s, axis=-1), 0.0, 1.0)[:, None]
    edges = (m[..., None] + s[..., None] * _EDGES).reshape(len(m), -1)
    edges = np.sort(np.concatenate([np.clip(edges, lo, hi), lo, hi], axis=1), axis=1)
    u, v = edges[:, :-1, None], edges[:, 1:, None]
    gx, gw = _GL8
    x = ((u + v) / 2 + (v - u) / 2 * gx).reshape(len(m), -1)        # (R, G)
    w = ((v - u) / 2 * gw).reshape(len(m), -1)
    aa, bb, xx = a[:, :, None], b[:, :, None], x[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_cdf = K.log_cdf(xx, aa, bb)
        log_pdf = K.log_pdf(xx, aa, bb)
        total = log_cdf.sum(axis=1, keepdims=True)
        dens = np.exp(log_pdf + total - log_cdf)
    out = np.sum(np.nan_to_num(dens) * w[:, None, :], axis=-1)
    return out / out.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class BanditSimulation:
    r"""Replicates of one policy on one scenario.

    Attributes
    ----------
    policy : str
    rates : numpy.ndarray of shape (T, K)
        True rates :math:`p_{tk}`.
    n, y : numpy.ndarray of shape (R, T, K)
        Users and conversions per replicate, period and arm.
    prob_best : numpy.ndarray of shape (R, T)
        P(best) of the truly best arm (of the whole experiment) after each period.
    floor : float
    seed : int
    """

    policy: str
    rates: np.ndarray
    n: np.ndarray
    y: np.ndarray
    prob_best: np.ndarray
    floor: float
    seed: int

    @property
    def regret(self) -> np.ndarray:
        r"""Cumulative regret per replicate: :math:`\sum_{t,k} n_{tk}(\max_j p_{tj} - p_{tk})`."""
        gap = self.rates.max(axis=1, keepdims=True) - self.rates
        return np.sum(self.n * gap, axis=(1, 2))

    @property
    def identified_at(self) -> np.ndarray:
        """First period (1-based) with P(best arm) >= 0.95 per replicate; NaN if never."""
        hit = self.prob_best >= IDENTIFIED
        first = np.argmax(hit, axis=1).astype(float) + 1.0
        return np.where(hit.any(axis=1), first, np.nan)

    def row(self) -> dict:
        """Mean regret (with its Monte Carlo se), share identified and median time to do so."""
        r = self.regret
        t = self.identified_at
        ok = np.isfinite(t)
        return {"policy": self.policy, "reps": int(len(r)), "regret": float(r.mean()),
                "regret_se": float(r.std(ddof=1) / np.sqrt(len(r))),
                "identified": float(ok.mean()),
                "median_period": float(np.median(t[ok])) if ok.any() else float("nan"),
                "best_arm_share": float(self.n[..., int(np.argmax(self.rates.sum(axis=0)))].sum()
                                        / self.n.sum())}


def simulate_bandit(rates, *, periods: int = 20, users: int = 10_000, policy: str = "thompson",
                    floor: float | None = None, top_two: float = 0.5, reps: int = 200,
                    period_effect=None, seed: int = 0) -> BanditSimulation:
    r"""Simulate ``reps`` conversion bandits of one policy (see the module docstring).

    Parameters
    ----------
    rates : sequence of float
        Base rate :math:`p_k` per arm (the first is the control of a readout).
    periods, users : int
        :math:`T` periods of :math:`N` users.
    policy : {"thompson", "top-two", "uniform"}
    floor : float, optional
        Exploration floor (default :math:`0.1/K`; ignored by ``uniform``).
    top_two : float
        :math:`\beta` of the top-two policy.
    reps : int
    period_effect : sequence of float, optional
        Multiplier :math:`m_t` of every arm's rate in period :math:`t` (length ``periods``).
    seed : int

    Returns
    -------
    BanditSimulation

    Raises
    ------
    ModelError
        An unknown policy, rates outside (0, 1) after the period effect, a bad length.
    """
    if policy not in POLICIES:
        raise ModelError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    base = np.asarray(rates, dtype=float)
    k = base.size
    m = np.ones(periods) if period_effect is None else np.asarray(period_effect, dtype=float)
    if m.shape != (periods,):
        raise ModelError(f"period_effect needs {periods} multipliers, got {m.size}")
    p = m[:, None] * base[None, :]
    if k < 2 or not np.all((p > 0) & (p < 1)):
        raise ModelError(f"rates must be two or more values in (0, 1) in every period, got "
                         f"{base.tolist()} x period effects {m.min():g}..{m.max():g}")
    f = 0.0 if policy == "uniform" else check_floor(floor, k)
    rng = np.random.default_rng(seed)
    n = np.zeros((reps, periods, k))
    y = np.zeros((reps, periods, k))
    best = int(np.argmax(p.sum(axis=0)))
    pb = np.zeros((reps, periods))
    a = np.ones((reps, k))
    b = np.ones((reps, k))
    alpha = np.full((reps, k), 1.0 / k)
    for t in range(periods):
        if policy == "uniform":
            w = np.full((reps, k), 1.0 / k)
        else:
            w = allocation(alpha, floor=f, top_two=top_two if policy == "top-two" else None)
        n[:, t] = rng.multinomial(users, w)
        y[:, t] = rng.binomial(n[:, t].astype(np.int64), p[t])
        a += y[:, t]
        b += n[:, t] - y[:, t]
        alpha = batched_prob_best(a, b)
        pb[:, t] = alpha[:, best]
    return BanditSimulation(policy=policy, rates=p, n=n, y=y, prob_best=pb, floor=f, seed=seed)


def compare_policies(rates, *, periods: int = 20, users: int = 10_000, reps: int = 200,
                     floor: float | None = None, top_two: float = 0.5, period_effect=None,
                     seed: int = 0, policies=POLICIES) -> list[dict]:
    """One :meth:`BanditSimulation.row` per policy on the same scenario (same seed each).

    Each row adds ``regret_vs_uniform`` (mean regret over the uniform split's, when the uniform
    policy is among ``policies``) and the scenario.
    """
    rows = [simulate_bandit(rates, periods=periods, users=users, policy=p, floor=floor,
                            top_two=top_two, reps=reps, period_effect=period_effect,
                            seed=seed).row() for p in policies]
    base = next((r["regret"] for r in rows if r["policy"] == "uniform"), None)
    for r in rows:
        r["regret_vs_uniform"] = r["regret"] / base if base else float("nan")
        r.update(rates=[float(v) for v in rates], periods=periods, users=users)
    return rows

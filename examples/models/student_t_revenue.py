"""A user's own revenue model for bayeslab's ``custom`` kind (see examples/custom_model.toml).

``build(frame)`` receives the unit rows (the arm column ``treatment`` coded 0/1, control 0) and
returns the PyMC model and, as the frequentist counterpart, a statsmodels fit of the same mean
structure. The model: 60-day revenue with heavy tails (Student-t), a pre-period spend slope and a
partially pooled intercept per country,

    revenue_i ~ StudentT(nu, mu_i, sigma),
    mu_i = a + a_country[i] + b * pre_30d_spend_i + effect * treatment_i,
    a_country ~ Normal(0, tau),

with ``effect`` the treatment effect in EUR that bayeslab reads out.
"""

import numpy as np
import pymc as pm
import statsmodels.formula.api as smf


def build(frame):
    y = frame["revenue_60d"].to_numpy(float)
    t = frame["treatment"].to_numpy(float)
    pre = frame["pre_30d_spend"].to_numpy(float)
    pre_c = (pre - pre.mean()) / pre.std()
    countries, country = np.unique(frame["country"].to_numpy(str), return_inverse=True)
    scale = float(np.std(y))
    with pm.Model(coords={"country": countries}) as model:
        a = pm.Normal("intercept", float(np.mean(y)), 2 * scale)
        tau = pm.HalfNormal("country_sd", 0.5 * scale)
        z = pm.Normal("country_z", 0.0, 1.0, dims="country")
        b = pm.Normal("pre_slope", 0.0, scale)
        effect = pm.Normal("effect", 0.0, scale)
        sigma = pm.HalfNormal("sigma", scale)
        nu = pm.Gamma("nu", 2.0, 0.1)
        mu = a + tau * z[country] + b * pre_c + effect * t
        pm.StudentT("revenue_60d", nu=nu, mu=mu, sigma=sigma, observed=y)
    ols = smf.ols("revenue_60d ~ treatment + pre_30d_spend + C(country)", frame)
    return model, ols.fit(cov_type="HC1")

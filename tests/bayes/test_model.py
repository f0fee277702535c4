"""A user's PyMC model: an effect the data cannot inform is refused before any sampling."""

import numpy as np
import pytest

pm = pytest.importorskip("pymc")

from bayeslab.bayes.model import PyMCModel  # noqa: E402
from bayeslab.core.errors import ModelError  # noqa: E402


def _model():
    with pm.Model() as m:
        mt, mc = pm.Normal("mt", 0, 1), pm.Normal("mc", 0, 1)
        pm.Deterministic("effect", mt - mc)
        z = pm.Normal("unused", 0, 1)
        pm.Deterministic("unused_x2", 2 * z)
        pm.Normal("y", mt + mc, 1, observed=np.zeros(5))
    return m


@pytest.mark.parametrize("name", ["unused", "unused_x2"])
def test_an_effect_outside_the_likelihood_is_refused_before_sampling(name):
    with pytest.raises(ModelError, match=f"the effect '{name}' does not enter the likelihood"):
        PyMCModel(effect=name, draws=10, tune=10, chains=1).fit(_model())
    with pytest.raises(ModelError, match="the baseline 'unused' does not enter"):
        PyMCModel(effect="mt", baseline="unused", draws=10, tune=10, chains=1).fit(_model())


def test_a_model_without_data_is_refused():
    with pm.Model() as m:
        pm.Normal("effect", 0, 1)
    with pytest.raises(ModelError, match="no observed variable"):
        PyMCModel(effect="effect", draws=10, tune=10, chains=1).fit(m)


def test_a_derived_effect_of_informed_variables_is_accepted():
    from bayeslab.bayes.model import _check_informed

    _check_informed(_model(), "effect", "effect")      # mt - mc: both reach the data


def test_discrete_or_no_free_variables_are_refused_before_sampling():
    with pm.Model() as m:
        k = pm.Poisson("k", 3)
        effect = pm.Normal("effect", 0, 1)
        pm.Normal("y", effect + k, 1, observed=np.zeros(5))
    with pytest.raises(ModelError, match=r"discrete free variable \(k\)"):
        PyMCModel(effect="effect", draws=10, tune=10, chains=1).fit(m)
    with pm.Model() as none:
        pm.Normal("y", 0, 1, observed=np.zeros(5))
        pm.Deterministic("effect", pm.math.constant(0.0))
    with pytest.raises(ModelError, match="no free variable"):
        PyMCModel(effect="effect", draws=10, tune=10, chains=1).fit(none)

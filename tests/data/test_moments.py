import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError
from bayeslab.data.moments import unit_rows


def test_unit_rows_exclusion_and_order():
    df = pd.DataFrame({"arm": ["b", "control", "b", "control", None],
                       "y": [1.0, 2.0, np.nan, 4.0, 5.0], "x": [1.0, 1.0, 1.0, 2.0, 3.0]})
    rows = unit_rows(df, arm="arm", metric="y", covariate="x", missing="exclude")
    assert rows.arms == ("control", "b")
    np.testing.assert_array_equal(rows.arm_index, [1, 0, 0])
    np.testing.assert_allclose(rows.y, [1.0, 2.0, 4.0])
    assert rows.rows.read == 5 and rows.rows.used == 3 and rows.rows.n_excluded == 2
    with pytest.raises(DataError, match="'y' is missing"):
        unit_rows(df.dropna(subset=["arm"]), arm="arm", metric="y")


def test_modules_do_not_import_pymc():
    code = ("import sys, bayeslab.bayes.revenue, bayeslab.bayes.means, bayeslab.bayes.funnel, "
            "bayeslab.bayes.retention, bayeslab.frequentist.revenue, bayeslab.frequentist.funnel, "
            "bayeslab.frequentist.retention; "
            "bad = [m for m in ('pymc', 'pytensor', 'arviz', 'matplotlib') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

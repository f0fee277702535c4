"""Unit rows for a formula or a user's own model: the columns it names, validated, accounted.

:func:`model_frame` reads the arm, the outcome and the model's other columns (only those)
through the engine, refuses or excludes rows with missing values (naming the column and the
rows), codes the arm as a 0/1 treatment indicator (control 0) under the arm column's own name,
keeps text and boolean columns as text (categorical) and numbers as floats, and accounts for
every row read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.data.accounting import RowAccount
from bayeslab.data.moments import UNIT_MODEL_MAX_ROWS
from bayeslab.data.sources import check_columns, quote
from bayeslab.data.units import (
    _arm_indicator,
    account_missing,
    column_expressions,
    missing_checks,
)


@dataclass(frozen=True, eq=False)
class ModelFrame:
    """Validated unit rows for a model.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per used unit: the arm column as 0/1 (control 0), the outcome and every other
        column the model names.
    arm, metric : str
    control, treatment : str
        Arm labels as text.
    rows : RowAccount
    """

    frame: object = field(repr=False)
    arm: str
    metric: str
    control: str
    treatment: str
    rows: RowAccount

    def arm_table(self):
        """``arm``, ``n``, ``mean`` of the outcome per arm, control first."""
        import pandas as pd

        t = self.frame[self.arm].to_numpy()
        y = self.frame[self.metric].to_numpy(dtype=float)
        n = [int(np.sum(t == 0)), int(np.sum(t == 1))]
        mean = [float(y[t == 0].mean()), float(y[t == 1].mean())]
        return pd.DataFrame({"arm": [self.control, self.treatment],
                             "n": np.asarray(n, dtype=np.int64), "mean": mean})


def model_frame(source, *, arm: str, metric: str, columns=(), control=None,
                missing: str = "error", max_rows: int | None = UNIT_MODEL_MAX_ROWS,
                what: str = "this model") -> ModelFrame:
    """Read the unit rows a model needs.

    Parameters
    ----------
    source : Source
    arm, metric : str
        Arm column (exactly two arms) and outcome column (numeric).
    columns : sequence of str
        The model's other columns (covariates, groups); the arm and outcome may repeat here.
    control : str, optional
        Control label (``0`` / ``false`` / ``control`` by default).
    missing : {"error", "exclude"}
        Rows with a missing value in any of these columns: raise naming the column and rows, or
        leave them out and record why.
    max_rows : int, optional
        Most rows read into memory; above it the error says what to do.
    what : str
        The model, for messages.

    Returns
    -------
    ModelFrame

    Raises
    ------
    DataError
        A missing column, missing values (``missing="error"``), a non-numeric outcome, an arm
        column without exactly two labels, too many rows.
    """
    import pandas as pd

    if missing not in ("error", "exclude"):
        raise DataError(f"missing must be 'error' or 'exclude', got {missing!r}")
    others = [c for c in dict.fromkeys(columns) if c not in (arm, metric)]
    check_columns(source, [arm, metric, *others])
    y_expr, cat, x_expr = column_expressions(source, metric, others)
    checks = missing_checks(source, arm, metric, y_expr, cat, x_expr)
    read, excluded, keep = account_missing(source, checks, missing, max_rows, what)
    select = [f"{quote(arm)} AS a", f"{y_expr} AS y"]
    select += [f"{x_expr[c]} AS x{i}" for i, c in enumerate(others)]
    cols = source.execute(f"SELECT {', '.join(select)} FROM {source.relation} "
                          f"WHERE {keep}").fetchnumpy()
    used = len(cols["y"])
    if used == 0:
        raise DataError(f"no usable rows left in {source.label} after excluding missing values")
    t, control, treatment = _arm_indicator(np.asarray(cols["a"]), arm, control)
    data = {arm: t.astype(np.int64), metric: np.asarray(cols["y"], dtype=np.float64)}
    for i, c in enumerate(others):
        values = np.asarray(cols[f"x{i}"])
        data[c] = values.astype(str) if cat[c] else values.astype(np.float64)
    return ModelFrame(frame=pd.DataFrame(data), arm=arm, metric=metric, control=control,
                      treatment=treatment,
                      rows=RowAccount(read=read, used=used, excluded=excluded))

"""Survival rows for retention: duration and event per unit, validated and accounted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayeslab.core.errors import DataError
from bayeslab.data.accounting import RowAccount
from bayeslab.data.columns import (
    numeric_expression,
    rows_text,
)
from bayeslab.data.moments import unit_rows
from bayeslab.data.sources import (
    open_source,
)


@dataclass(frozen=True)
class SurvivalRows:
    """Durations and event flags per unit, with the arm index (0 is the control)."""

    arm_index: np.ndarray
    duration: np.ndarray
    event: np.ndarray
    arms: tuple[str, ...]
    rows: RowAccount | None = None

    @property
    def control(self) -> str:
        """Control label."""
        return self.arms[0]

    @classmethod
    def from_arrays(cls, arm, duration, event, *, control=None):
        """Build from arrays (validated as :func:`survival_rows`)."""
        frame = pd.DataFrame({"arm": np.asarray(arm), "duration": np.asarray(duration, float),
                              "event": np.asarray(event, float)})
        return survival_rows(frame, arm="arm", duration="duration", event="event",
                             control=control)


def survival_rows(data, *, arm: str, duration: str, event: str, control: str | None = None,
                  missing: str = "error") -> SurvivalRows:
    """Validate and fetch (duration, event) per unit.

    Parameters
    ----------
    data : Source, DataFrame or path
        One row per unit.
    arm : str
        Arm column.
    duration : str
        Follow-up time (non-negative): time to the event (churn) or to censoring.
    event : str
        1 if the event was observed at ``duration``, 0 if censored.
    control : str, optional
        Control label.
    missing : {"error", "exclude"}
        Rows with a missing duration, event or arm.

    Returns
    -------
    SurvivalRows

    Raises
    ------
    DataError
        Missing columns, event not 0/1, negative or missing durations.
    """
    source = open_source(data)
    rows = unit_rows(source, arm=arm, metric=event, covariate=duration, control=control,
                     kind="binary", missing=missing)
    negative = int(np.sum(rows.x < 0))
    if negative:
        d = numeric_expression(source, duration)
        raise DataError(f"column {duration!r} must be non-negative; negative values in "
                        f"{rows_text(source, f'{d} < 0', negative)}",
                        column=duration, rows=negative)
    return SurvivalRows(arm_index=rows.arm_index, duration=rows.x, event=rows.y.astype(np.int64),
                        arms=rows.arms, rows=rows.rows)

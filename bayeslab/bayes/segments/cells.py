"""What the segment model sees: one row per observed (segment, arm) cell, and the segment layout."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayeslab.core.errors import DataError, ModelError, StatisticalWarning
from bayeslab.core.format import cell_label


@dataclass(frozen=True)
class CellData:
    """What the model sees: one row per observed (segment, arm) cell, and the segment layout.

    ``cells`` has ``dim0`` (and ``dim1``: the segment values), ``segment`` (label), ``arm``,
    ``seg_idx`` and ``arm_idx``
    (integer codes), ``n``, ``sum``, ``sum_sq`` and ``y`` / ``se`` (the modelled value and, for
    the normal model, its standard error, both standardized).
    """

    cells: pd.DataFrame
    labels: tuple[str, ...]
    arms: tuple[str, ...]
    segment_columns: tuple[str, ...]
    components: tuple[tuple[str, tuple[str, ...], np.ndarray], ...]
    weights: np.ndarray
    center: float
    scale: float


def prepare_cells(stats, family: str) -> CellData:
    """Validate ``stats`` for a segment model and lay out its cells.

    Raises
    ------
    ModelError
        No segment columns, more than two, or a metric kind the family cannot model.
    """
    segs = tuple(stats.segments)
    if not segs:
        raise ModelError("segment models need ArmStats with segments=(...): pass segments= to "
                         "sufficient_stats (--segment COL on the command line)")
    if len(segs) > 2:
        raise ModelError(f"at most two segment dimensions are supported, got {len(segs)}: "
                         f"{', '.join(segs)}")
    if family == "logistic" and stats.kind != "binary":
        raise ModelError(f"the logistic segment model needs a binary metric; {stats.metric!r} "
                         f"is {stats.kind}: use family='normal'")
    t = stats.table
    t = t[t["n"] > 0].reset_index(drop=True)
    keys = [tuple(str(v) for v in row) for row in t[list(segs)].itertuples(index=False)]
    labels = tuple(dict.fromkeys(cell_label(k) for k in keys))
    seg_index = {lab: i for i, lab in enumerate(labels)}
    arms = tuple(stats.arms)
    arm_index = {a: i for i, a in enumerate(arms)}
    cells = pd.DataFrame({f"dim{i}": [k[i] for k in keys] for i in range(len(segs))})
    cells["segment"] = [cell_label(k) for k in keys]
    cells["arm"] = t["arm"].astype(str).to_numpy()
    cells["seg_idx"] = cells["segment"].map(seg_index).to_numpy(dtype=np.int64)
    cells["arm_idx"] = cells["arm"].map(arm_index).to_numpy(dtype=np.int64)
    for col in ("n", "sum", "sum_sq"):
        cells[col] = t[col].to_numpy(dtype=float)
    totals = cells.groupby("seg_idx")["n"].sum().reindex(range(len(labels))).to_numpy()
    weights = totals / totals.sum()
    center, scale = _standardize(cells, family)
    if family == "normal":
        cells = _normal_cells(cells, center, scale)
    else:
        cells["y"] = cells["sum"]
        cells["se"] = np.nan
    components = segment_components(labels, segs, seg_index, keys)
    return CellData(cells=cells, labels=labels, arms=arms, segment_columns=segs,
                    components=components, weights=weights, center=center, scale=scale)


def _standardize(cells, family):
    n, s, q = cells["n"].sum(), cells["sum"].sum(), cells["sum_sq"].sum()
    if family == "logistic":
        ctrl = cells[cells["arm_idx"] == 0]
        rate = float(np.clip(ctrl["sum"].sum() / ctrl["n"].sum(), 1e-4, 1 - 1e-4))
        return math.log(rate / (1 - rate)), 1.0
    mean = s / n
    var = (q - n * mean**2) / max(n - 1, 1)
    if not var > 0:
        raise DataError("the metric has zero variance across all cells; nothing to model")
    return float(mean), float(math.sqrt(var))


def _normal_cells(cells, center, scale):
    n = cells["n"].to_numpy()
    mean = cells["sum"].to_numpy() / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (cells["sum_sq"].to_numpy() - n * mean**2) / (n - 1)
    bad = (n < 2) | ~(var > 0)
    if bad.any():
        warnings.warn(f"{int(bad.sum())} cell(s) with fewer than 2 units or zero variance have no "
                      "standard error and are left out of the normal segment model "
                      f"(segments: {', '.join(sorted(set(cells.loc[bad, 'segment'])))})",
                      StatisticalWarning, stacklevel=3)
    cells = cells[~bad].reset_index(drop=True)
    mean, var, n = mean[~bad], var[~bad], n[~bad]
    cells["y"] = (mean - center) / scale
    cells["se"] = np.sqrt(var / n) / scale
    return cells


def segment_components(labels, segs, seg_index, keys):
    """Hierarchical components: (name, levels, index of each segment into the levels)."""
    by_label = {cell_label(k): k for k in keys}
    parts = []
    if len(labels) < 2:
        return ()
    if len(segs) == 2:
        for i, col in enumerate(segs):
            levels = tuple(dict.fromkeys(by_label[lab][i] for lab in labels))
            if len(levels) > 1:
                pos = {v: j for j, v in enumerate(levels)}
                parts.append((col, levels, np.array([pos[by_label[lab][i]] for lab in labels])))
        name = cell_label(segs)
    else:
        name = segs[0]
    parts.append((name, labels, np.arange(len(labels))))
    return tuple(parts)

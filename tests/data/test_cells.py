"""Cells grouped and ordered by numpy: the same groups and order as a plain Python reference."""

import math

import numpy as np
import pytest

from bayeslab.data.cells import Cells, is_missing, sort_key


def _reference_groups(cols, keys):
    """Groups in first-appearance order, missing values one group (the definition)."""
    seen, first, inverse = {}, [], []
    for i in range(len(cols[keys[0]])):
        key = tuple(None if is_missing(cols[k][i]) else cols[k][i] for k in keys)
        if key not in seen:
            seen[key] = len(first)
            first.append(i)
        inverse.append(seen[key])
    return inverse, first


@pytest.mark.parametrize("seed", range(6))
def test_group_index_and_order_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    labels = np.array(["a", "b", None, "c", float("nan")], dtype=object)
    cols = {"arm": labels[rng.integers(0, 5, n)],
            "seg": rng.integers(0, 4, n).astype(np.int64),
            "f": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 3, n).astype(float)),
            "y": rng.random(n)}
    cells = Cells(cols)
    for keys in (["arm"], ["seg"], ["f"], ["arm", "seg"], ["f", "arm", "seg"]):
        inverse, first = cells._group_index(keys)
        ref_inverse, ref_first = _reference_groups(cols, keys)
        assert inverse.tolist() == ref_inverse and list(first) == ref_first
        grouped = cells.select([*keys, "y"]).group(keys)
        for g in range(len(ref_first)):
            members = [j for j, h in enumerate(ref_inverse) if h == g]
            assert grouped["y"][g] == pytest.approx(sum(cols["y"][j] for j in members))
        ordered = cells.sorted_by(keys)
        want = sorted(range(n), key=lambda i: tuple(sort_key(cols[k][i]) for k in keys))
        got_keys = [tuple(sort_key(ordered[k][i]) for k in keys) for i in range(n)]
        assert got_keys == [tuple(sort_key(cols[k][i]) for k in keys) for i in want]


def test_empty_cells_and_mixed_numbers():
    empty = Cells({"k": np.array([], dtype=object), "y": np.array([], dtype=float)})
    assert len(empty.group(["k"])) == 0 and len(empty.sorted_by(["k"])) == 0
    mixed = Cells({"k": np.array([1, 1.0, "1", None, math.nan], dtype=object),
                   "y": np.array([1, 2, 4, 8, 16])})
    got = mixed.group(["k"])
    assert got["y"].tolist() == [3, 4, 24]          # 1 == 1.0; "1" apart; None with NaN
    assert mixed.has_duplicates(["k"]) and not Cells({"k": np.arange(3)}).has_duplicates(["k"])

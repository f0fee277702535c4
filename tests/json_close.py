"""JSON readouts equal up to float rounding of the last digits (ints, strings and keys exact)."""

import math


def assert_json_close(a, b, path="$", *, rel_tol=1e-9, abs_tol=1e-12):
    """Assert two JSON documents are equal, floats to ``rel_tol`` (counts, labels exact)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_json_close(a[k], b[k], f"{path}.{k}", rel_tol=rel_tol, abs_tol=abs_tol)
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_json_close(x, y, f"{path}[{i}]", rel_tol=rel_tol, abs_tol=abs_tol)
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol), (path, a, b)
    else:
        assert a == b, (path, a, b)  # counts, labels, verdicts: exact

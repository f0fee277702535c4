"""Golden readouts: every number of each shipped plan's ``readout.json``, kept to catch drift.

Recorded from the plans in ``models/`` (``python -m tests.golden_readouts`` rewrites them after a
deliberate change of numbers; say which in the commit). The comparison walks both JSON documents
and checks every number by its path, the way a statistician compares them:

- A number that MCMC (or another Monte Carlo draw) produced sits in an entry whose ``mcse``
  holds its Monte Carlo standard error (from the sample's effective size; derived ratios such as
  the segment shrinkage carry their own propagated error). Two runs on different machines are
  two independent Monte Carlo estimates, so their difference has standard error
  :math:`\\sqrt{m_g^2 + m_c^2}`; a difference beyond ``MC_SIGMAS`` (5) of those fails. That
  is about one false alarm in a million numbers under normality, and it catches any real change
  of the posterior larger than 5 standard errors.
- Every other number (counts, closed forms, frequentist tests, seeded simulations of numpy's
  portable generators) to ``rtol=1e-6``.
- Verdicts (``verdict`` fields) exactly.

Sampler diagnostics (ESS, R-hat, step sizes) and the ``mcse`` values themselves are not
compared; text (decision sentences, labels) and run-specific fields (plan path, package versions)
are not either: a layout change moves paths and must be listed when the golden files are
rewritten. Bit-identical reruns are a promise on one machine only (``test_plan.py``): NUTS
trajectories differ in the last bits across CPUs, numba and BLAS builds.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
PLANS = ("migration", "campaign", "musicstream", "homepage", "personalization")
SKIP = {"plan", "bayeslab", "versions", "timings", "seconds", "elapsed"}
MC_SIGMAS = 5.0


def numbers(doc, path="", *, errors: dict | None = None,
            verdicts: dict | None = None) -> dict[str, float]:
    """Every number of a JSON document by its path (``metrics[0].results[2].estimate``).

    ``errors`` (when given) receives the Monte Carlo standard error of each sampled number by
    the same path, and ``verdicts`` every ``verdict`` string. Sampler diagnostics and the
    ``mcse`` entries themselves are left out of the numbers.
    """
    out: dict[str, float] = {}
    if isinstance(doc, dict):
        mc = doc.get("mcse")
        if isinstance(mc, dict) and errors is not None:
            for k, v in mc.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    errors[f"{path}.{k}" if path else k] = float(v)
        for k, v in doc.items():
            if k in SKIP or k == "mcse" or (k == "diagnostics" and path):
                continue
            sub = f"{path}.{k}" if path else k
            if k == "verdict" and isinstance(v, str) and verdicts is not None:
                verdicts[sub] = v
            out.update(numbers(v, sub, errors=errors, verdicts=verdicts))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.update(numbers(v, f"{path}[{i}]", errors=errors, verdicts=verdicts))
    elif isinstance(doc, bool) or doc is None or isinstance(doc, str):
        pass
    elif isinstance(doc, (int, float)):
        out[path] = float(doc)
    return out


def differences(golden: dict, current: dict, *, rtol: float = 1e-6,
                atol: float = 1e-12, sigmas: float = MC_SIGMAS) -> list[str]:
    """Paths whose numbers differ (or are missing) between two readouts.

    A sampled number (one with an MCSE in both documents) may differ by ``sigmas`` standard
    errors of the difference, :math:`\\sqrt{m_g^2 + m_c^2}`; any other number by ``rtol``.
    """
    ea, eb, va, vb = {}, {}, {}, {}
    a, b = numbers(golden, errors=ea, verdicts=va), numbers(current, errors=eb, verdicts=vb)
    bad = [f"{p}: missing" for p in a if p not in b]
    bad += [f"{p}: new" for p in b if p not in a]
    bad += [f"{p}: Monte Carlo error missing" for p in ea if p in a and p not in eb]
    bad += [f"{p}: verdict {v!r}, now {vb.get(p)!r}" for p, v in va.items() if vb.get(p) != v]
    for p, x in a.items():
        y = b.get(p)
        if y is None:
            continue
        if (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=rtol, abs_tol=atol):
            continue
        if p in ea and p in eb:
            se = math.hypot(ea[p], eb[p])
            if abs(x - y) <= sigmas * se:
                continue
            bad.append(f"{p}: golden {x!r}, now {y!r} ({abs(x - y) / se:.1f} Monte Carlo "
                       f"standard errors apart)")
            continue
        bad.append(f"{p}: golden {x!r}, now {y!r}")
    return bad


def golden(name: str) -> dict:
    """The recorded readout of plan ``name``."""
    return json.loads((GOLDEN / f"{name}.json").read_text())


def main() -> int:
    """Rewrite the golden readouts from the shipped plans."""
    import tempfile

    from bayeslab.plan.runner import run_plan

    GOLDEN.mkdir(exist_ok=True)
    for name in sys.argv[1:] or PLANS:
        with tempfile.TemporaryDirectory() as tmp:
            run_plan(ROOT / "models" / f"{name}.toml", Path(tmp) / "out", quiet=True)
            payload = json.loads((Path(tmp) / "out" / "readout.json").read_text())
        (GOLDEN / f"{name}.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        print(f"wrote tests/golden/{name}.json ({len(numbers(payload))} numbers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Golden readouts: every number of each shipped plan's ``readout.json``, kept to catch drift.

Recorded from the plans in ``models/`` (``python -m tests.golden_readouts`` rewrites them after a
deliberate change of numbers; say which in the commit). The comparison walks both JSON documents
and checks every number by its path: counts, closed forms and seeded simulations to
``rtol=1e-6``; numbers from MCMC (segment models, the Bayesian propensity estimates) to Monte
Carlo accuracy (``rtol=0.1``, ``atol=5e-3``), because a NUTS trajectory on another CPU is not
bit-identical; their sampler diagnostics (ESS, step sizes) are not compared. Text (decision
sentences, labels) and run-specific fields (plan path, package versions) are not compared: a
layout change moves paths and must be listed when the golden files are rewritten.
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
SAMPLED_METHODS = {"hierarchical-logistic", "hierarchical-normal", "bayes-dr", "bayes-ipw",
                   "bayes-overlap", "bayes-robust", "bayes-hurdle"}
SAMPLED = "~"  # path prefix marking a number that MCMC produced


def _sampled(doc: dict) -> bool:
    return doc.get("method") in SAMPLED_METHODS


def numbers(doc, path="", *, sampled: bool = False) -> dict[str, float]:
    """Every number of a JSON document by its path (``metrics[0].results[2].estimate``).

    Numbers that MCMC produced get the prefix ``~``; sampler diagnostics are left out.
    """
    out: dict[str, float] = {}
    if isinstance(doc, dict):
        sampled = sampled or _sampled(doc)
        for k, v in doc.items():
            if k in SKIP or (k == "diagnostics" and path):
                continue
            out.update(numbers(v, f"{path}.{k}" if path else k,
                               sampled=sampled or k == "segments"))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.update(numbers(v, f"{path}[{i}]", sampled=sampled))
    elif isinstance(doc, bool) or doc is None or isinstance(doc, str):
        pass
    elif isinstance(doc, (int, float)):
        out[(SAMPLED if sampled else "") + path] = float(doc)
    return out


def differences(golden: dict, current: dict, *, rtol: float = 1e-6,
                atol: float = 1e-12) -> list[str]:
    """Paths whose numbers differ (or are missing) between two readouts."""
    a, b = numbers(golden), numbers(current)
    bad = [f"{p}: missing" for p in a if p not in b]
    bad += [f"{p}: new" for p in b if p not in a]
    for p, x in a.items():
        y = b.get(p)
        if y is None:
            continue
        r, t = (0.1, 5e-3) if p.startswith(SAMPLED) else (rtol, atol)
        same = (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=r, abs_tol=t)
        if not same:
            bad.append(f"{p}: golden {x!r}, now {y!r}")
    return bad


def golden(name: str) -> dict:
    """The recorded readout of plan ``name``."""
    return json.loads((GOLDEN / f"{name}.json").read_text())


def main() -> int:
    """Rewrite the golden readouts from the shipped plans."""
    import tempfile

    from bayeslab.runner import run_plan

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

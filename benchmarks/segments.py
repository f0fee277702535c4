"""Segment model timings: compile vs sample, ESS per second, and flat cost in rows.

Run: PYTHONPATH=. python benchmarks/segments.py [--chains 2 --draws 1000 --tune 1000]
The model only sees (segment, arm) cells, so counts for 1e5..1e7 rows are generated directly.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from segment_data import simulate_segments  # noqa: E402

from bayeslab.bayes.segments import fit_segments  # noqa: E402


def run(segments, rows, args, seed=0):
    n = max(int(rows / (2 * segments)), 1)
    stats, _ = simulate_segments(segments=segments, n_per_arm=n, seed=seed)
    t0 = time.perf_counter()
    fit = fit_segments(stats, draws=args.draws, tune=args.tune, chains=args.chains,
                       cores=args.cores, seed=seed, remedy=False)
    total = time.perf_counter() - t0
    d = fit.diagnostics
    ess = d.check("ess_bulk").value
    s = fit.settings
    return dict(segments=segments, rows=rows, total_s=total, compile_s=s["compile_s"],
                sample_s=s["sample_s"], ess_bulk_min=ess, ess_per_s=ess / s["sample_s"],
                verdict=d.verdict)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--cores", type=int, default=1)
    args = p.parse_args()
    print(f"chains={args.chains} draws={args.draws} tune={args.tune} cores={args.cores}")
    print(f"{'segments':>8} {'rows':>10} {'compile_s':>9} {'sample_s':>8} {'total_s':>8} "
          f"{'min ESS':>8} {'ESS/s':>7} verdict")
    results = []
    for segments in (16, 200):
        results.append(run(segments, 1e6, args))
    for rows in (1e5, 1e6, 1e7):
        results.append(run(16, rows, args, seed=1))
    for r in results:
        print(f"{r['segments']:>8} {r['rows']:>10.0e} {r['compile_s']:>9.2f} "
              f"{r['sample_s']:>8.2f} {r['total_s']:>8.2f} {r['ess_bulk_min']:>8.0f} "
              f"{r['ess_per_s']:>7.1f} {r['verdict']}")
    flat = [r["sample_s"] for r in results[2:]]
    print(f"sample time ratio 1e7 rows / 1e5 rows: {flat[-1] / flat[0]:.2f} "
          "(flat: the model sees cells, not rows)")
    ratio = results[1]["sample_s"] / results[0]["sample_s"]
    print(f"sample time ratio 200 / 16 segments: {ratio:.2f}")
    return np.array(flat)


if __name__ == "__main__":
    main()

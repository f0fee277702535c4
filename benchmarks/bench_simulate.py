"""Time each scenario generator at 1,000,000 rows (best of 3) and print seconds and rows/s."""

import time

from bayeslab.scenarios import SCENARIOS, simulate

ROWS = 1_000_000

if __name__ == "__main__":
    for name in SCENARIOS:
        best = float("inf")
        for seed in range(3):
            start = time.perf_counter()
            simulate(name, rows=ROWS, seed=seed)
            best = min(best, time.perf_counter() - start)
        print(f"{name:<16} {ROWS:,} rows  {best:6.2f} s  {ROWS / best / 1e6:5.2f} M rows/s")

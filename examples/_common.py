"""Helpers shared by the example scripts: arguments, section headers, truth lines, figures.

Not part of bayeslab: the examples use only bayeslab's public API for the analysis; this file
only prints and saves.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

TRUTH_TAG = "| truth"


MODELS = Path(__file__).resolve().parents[1] / "models"


def plan_settings(name: str):
    """The shipped plan ``models/<name>.toml``: the one source of the seed analyses' settings.

    Examples take margins, priors, rows and seed from it, so an example and ``bayeslab run``
    on the same scenario read the same settings (and reach the same decision).
    """
    from bayeslab.plan.schema import load_plan

    return load_plan(MODELS / f"{name}.toml")


def plan_margins(name: str) -> dict:
    """Guardrail margins of a shipped plan, by metric, as the plan writes them (0.005, "25%")."""
    return {m.name: m.options["margin"] for m in plan_settings(name).metrics
            if m.role == "guardrail"}


def parser(description: str, rows: int | None = None, plan: str | None = None
           ) -> argparse.ArgumentParser:
    """Argument parser with the options every example takes.

    With ``plan``, the default rows and seed are the shipped plan's (its ``simulate`` block).
    """
    seed = 0
    if plan is not None:
        sim = plan_settings(plan).data.get("simulate", {})
        rows, seed = int(sim.get("rows", rows)), int(sim.get("seed", seed))
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--rows", type=int, default=rows, help=f"units to simulate (default {rows:,})")
    p.add_argument("--seed", type=int, default=seed,
                   help=f"scenario and analysis seed (default {seed})")
    p.add_argument("--out", type=Path, default=None, help="directory for PNG figures (optional)")
    p.add_argument("--draws", type=int, default=1000, help="MCMC draws per chain (default 1000)")
    p.add_argument("--tune", type=int, default=500, help="MCMC tuning steps (default 500)")
    p.add_argument("--chains", type=int, default=2, help="MCMC chains (default 2)")
    p.add_argument("--no-remedy", action="store_true",
                   help="do not refit a hierarchical model whose diagnostics fail (faster)")
    p.add_argument("--sims", type=int, default=2000,
                   help="Monte Carlo experiments for A/A and false-positive rates (default 2000)")
    return p


def section(title: str) -> None:
    """Print a section header."""
    print()
    print(f"== {title} " + "=" * max(3, 92 - len(title)))


def _fmt(v, fmt):
    """``fmt`` is a format spec, or ``"pp"`` for a difference of rates in percentage points."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if fmt == "pp":
        from bayeslab.core.format import pp

        return pp(v)
    return format(v, fmt)


def truth_line(label: str, estimate: float, lower: float | None, upper: float | None,
               truth: float | None, fmt: str = "+.4f", *, note: str = "") -> bool | None:
    """Print ``label  estimate [lower, upper] | truth T (inside / OUTSIDE)``.

    Returns whether the interval covers the truth (``None`` without an interval or truth).
    """
    est = _fmt(estimate, fmt)
    interval = "" if lower is None else f" [{_fmt(lower, fmt)}, {_fmt(upper, fmt)}]"
    covered = None
    tail = ""
    if truth is not None and lower is not None and upper is not None:
        covered = lower <= truth <= upper
        tail = "  (inside)" if covered else "  (OUTSIDE the interval)"
    print(f"  {label:<46} {est:>11}{interval:<28} {TRUTH_TAG} {_fmt(truth, fmt)}{tail}"
          + (f"  {note}" if note else ""))
    return covered


def prob_text(complement: float) -> str:
    """A probability close to 1 given its complement: ``1 - 2.3e-08`` rather than ``1.0000``."""
    from bayeslab.core.format import prob

    return prob(1.0 - complement, complement)


def value_line(label: str, text: str) -> None:
    """Print an aligned ``label  text`` line."""
    print(f"  {label:<46} {text}")


def mcmc(args) -> dict:
    """Sampler settings of the hierarchical segment models, from the arguments.

    ``target_accept`` 0.95 removes the few divergences these small models show at 0.9; a fit
    that still fails is refitted once with longer tuning (bayeslab's remedy) unless
    ``--no-remedy``.
    """
    return {"draws": args.draws, "tune": args.tune, "chains": args.chains,
            "target_accept": 0.95, "remedy": not args.no_remedy}


class Figures:
    """Save figures as PNG under ``--out`` (no-op without it); closes each figure."""

    def __init__(self, out: Path | None):
        self.out = out
        self.saved: list[Path] = []
        if out is not None:
            import matplotlib

            matplotlib.use("Agg")
            out.mkdir(parents=True, exist_ok=True)

    @property
    def on(self) -> bool:
        """Whether figures are written."""
        return self.out is not None

    def save(self, fig, name: str) -> None:
        """Write ``fig`` to ``OUT/name.png`` and close it."""
        import matplotlib.pyplot as plt

        path = self.out / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.saved.append(path)

    def report(self) -> None:
        """Print where the figures went."""
        if self.saved:
            section("Figures")
            for p in self.saved:
                print(f"  {p}")


class Timer:
    """Wall time of the whole script, printed at the end."""

    def __init__(self):
        self.start = time.perf_counter()

    def done(self, name: str) -> None:
        """Print the elapsed time."""
        print(f"\n{name} finished in {time.perf_counter() - self.start:.1f} s")

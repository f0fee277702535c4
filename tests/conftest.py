import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tests.signals import sigint_default


def make_conversion_frame(n=20_000, p=(0.10, 0.12), seed=0, arm_labels=(0, 1)):
    """Unit rows with a 0/1 outcome and an exact 50/50 split (or equal split over arms)."""
    rng = np.random.default_rng(seed)
    k = len(p)
    arm_idx = np.repeat(np.arange(k), n // k)
    y = (rng.random(len(arm_idx)) < np.asarray(p)[arm_idx]).astype(np.int64)
    return pd.DataFrame({"arm": np.asarray(arm_labels, dtype=object)[arm_idx]
                         if not isinstance(arm_labels[0], int) else arm_idx,
                         "y": y, "user_id": np.arange(len(arm_idx))})


@pytest.fixture
def conversion_frame():
    return make_conversion_frame()


@pytest.fixture(scope="session")
def migration_plan_run(tmp_path_factory):
    """``(folder, RunResult)`` of ``bayeslab run models/migration.toml``, run once per session.

    The shipped-plan, report, app and browser tests all read this one run (copy the folder
    before changing it).
    """
    from pathlib import Path

    from bayeslab.plan.runner import run_plan

    out = tmp_path_factory.mktemp("run") / "migration"
    result = run_plan(Path(__file__).resolve().parents[1] / "models" / "migration.toml", out)
    return out, result


@pytest.fixture(scope="session")
def migration_run(migration_plan_run):
    """Output folder of the session's migration plan run (read only)."""
    return migration_plan_run[0]


#: the plans shipped in models/ besides migration (its run is ``migration_run``)
OTHER_PLANS = ("campaign", "homepage", "musicstream", "personalization")


@pytest.fixture(scope="session")
def shipped_results(migration_plan_run, tmp_path_factory):
    """``(folder, RunResult)`` of each shipped plan, by name, run once per session (read only)."""
    from pathlib import Path

    from bayeslab.plan.runner import run_plan

    models = Path(__file__).resolve().parents[1] / "models"
    out = {"migration": migration_plan_run}
    for name in OTHER_PLANS:
        folder = tmp_path_factory.mktemp(name) / "out"
        out[name] = folder, run_plan(models / f"{name}.toml", folder)
    return out


@pytest.fixture(scope="session")
def shipped_runs(shipped_results):
    """Output folder of each shipped plan, by name (read only)."""
    return {name: folder for name, (folder, _) in shipped_results.items()}


def overview_numbers(readout) -> dict:
    """What the overview (report, app) shows for a saved metric: its headline estimates."""
    from bayeslab.core import format as fmt
    from bayeslab.report.tables import estimate_prob

    kind, unit = readout.kind, readout.unit
    b, f = readout.headline_estimates()
    out = {}
    if b is not None:
        out["Bayes estimate"] = fmt.effect(b.estimate, b.effect, kind, unit)
        out["bayes P"] = estimate_prob(b)
    if f is not None:
        out["Frequentist estimate"] = fmt.effect(f.estimate, f.effect, kind, unit)
    return out


def interrupt_cli(args, *, after: float) -> tuple[int, float, str]:
    """Run ``bayeslab ARGS`` in a fresh process, send SIGINT ``after`` seconds in (it must still
    be running then), and return ``(exit code, seconds from the signal to the exit, stderr)``."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "bayeslab.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_default)
    time.sleep(after)
    assert proc.poll() is None, "the command ended before the signal"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, time.monotonic() - sent, err

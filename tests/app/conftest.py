"""Run folders for the app tests: the migration plan run once per session."""

import json
import shutil
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "models"
PRIMARY = "ps5_purchase_30d"
SEGMENTS = ("ps_plus_member", "spend_tier")


@pytest.fixture(scope="session")
def plan_data():
    """The unit rows the migration plan reads (its simulated scenario)."""
    from bayeslab.plan.runner import load_plan_data
    from bayeslab.plan.schema import load_plan

    return load_plan_data(load_plan(MODELS / "migration.toml"))


@pytest.fixture(scope="session")
def run_dir(migration_run):
    """Output folder of ``bayeslab run models/migration.toml`` (shared, read only)."""
    return migration_run


@pytest.fixture(scope="session")
def segment_run_dir(run_dir, plan_data, tmp_path_factory):
    """The run folder with per-(ps_plus_member, spend_tier, arm) cells of the primary metric.

    The cells are (re)written here through the same writer (``stats_block``) that
    ``RunResult.to_dict`` uses.
    """
    from bayeslab.data.sources import open_source
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.plan.runner import stats_block

    out = tmp_path_factory.mktemp("run") / "segments"
    shutil.copytree(run_dir, out)
    readout = json.loads((out / "readout.json").read_text())
    st = sufficient_stats(open_source(plan_data), arm="treatment", metric=PRIMARY, control="0",
                          kind="binary", segments=SEGMENTS)
    readout["metrics"][0]["stats"] = stats_block(st)
    (out / "readout.json").write_text(json.dumps(readout))
    return out

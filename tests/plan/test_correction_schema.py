"""[decision] correction and scope (issue 24): accepted, filled with their defaults, bad values
refused in one line naming the key and its line; the template states both."""

from pathlib import Path

import pytest

from bayeslab.plan.schema import PlanError, load_plan
from bayeslab.readout.corrections import DEFAULT_METHOD, DEFAULT_SCOPE, Correction

PLAN = """[experiment]
name = "t"

[data]
simulate = {{ scenario = "migration", rows = 2000, seed = 2 }}

[columns]
arm = "treatment"
control = "0"

[decision]
alpha = 0.05
{extra}

[[metrics]]
name = "ps5_purchase_30d"
role = "primary"
"""


def load(tmp_path, extra):
    path = tmp_path / "plan.toml"
    path.write_text(PLAN.format(extra=extra))
    return load_plan(path)


def test_defaults_are_filled_in(tmp_path):
    plan = load(tmp_path, "")
    assert plan.decision["correction"] == DEFAULT_METHOD == "holm"
    assert plan.decision["scope"] == list(DEFAULT_SCOPE) == ["variants", "segments"]
    assert Correction.from_plan(plan.decision) == Correction()


@pytest.mark.parametrize("method", ["holm", "bh", "bonferroni", "none"])
def test_methods_and_scope_accepted(tmp_path, method):
    plan = load(tmp_path, f'correction = "{method}"\nscope = ["metrics", "variants"]')
    assert plan.decision["correction"] == method
    assert plan.decision["scope"] == ["variants", "metrics"]      # canonical order
    assert load(tmp_path, "scope = []").decision["scope"] == []


@pytest.mark.parametrize("extra,match", [
    ('correction = "sidak"', r"decision\.correction \(line 13\): correction must be one of "
                             r"'holm', 'bh', 'bonferroni', 'none', got 'sidak'$"),
    ('scope = ["arms"]', r"decision\.scope \(line 13\): scope entries must be 'variants', "
                         r"'metrics', 'segments', got 'arms'$"),
    ('scope = ["metrics", "metrics"]', r"decision\.scope \(line 13\): scope names 'metrics' "
                                       r"twice$"),
    ('scope = "variants"', r"decision\.scope \(line 13\) must be list, got 'variants'$"),
    ("correction = 1", r"decision\.correction \(line 13\) must be str, got 1$"),
])
def test_bad_values_refused_in_one_line(tmp_path, extra, match):
    with pytest.raises(PlanError, match=match) as info:
        load(tmp_path, extra)
    assert "\n" not in str(info.value)


def test_template_names_both_keys():
    text = (Path(__file__).resolve().parents[2] / "bayeslab" / "plan"
            / "template.toml").read_text()
    assert "# correction = " in text and "# scope = " in text

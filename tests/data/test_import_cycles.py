"""The data layer has no import cycles: every pair of its modules imports one way at most."""

import itertools

import pytest

grimp = pytest.importorskip("grimp")  # installed with import-linter (the dev extra)


def test_no_two_data_modules_import_each_other():
    graph = grimp.build_graph("bayeslab")
    modules = sorted(m for m in graph.modules if m.startswith("bayeslab.data."))
    assert {"bayeslab.data.stats", "bayeslab.data.aggregated", "bayeslab.data.sources",
            "bayeslab.data.spark"} <= set(modules)
    both = [(a, b) for a, b in itertools.combinations(modules, 2)
            if graph.find_shortest_chain(a, b) and graph.find_shortest_chain(b, a)]
    assert both == []

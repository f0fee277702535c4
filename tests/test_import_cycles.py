"""No import cycle anywhere in bayeslab: the module graph has no strongly connected component.

grimp (installed with import-linter) reads every ``import`` statement of every module, including
the ones inside functions, so a lazy import that closes a loop counts: two modules that import
each other, directly or through a chain, form a strongly connected component of more than one
module, and the test names it with the import lines that make it.
"""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (the dev extra)")

# Cycles tolerated for now, each one strongly connected component exactly; an entry that is no
# longer a cycle fails test_known_cycles_are_still_cycles, so the list never outlives the cycle.
KNOWN_CYCLES: tuple[frozenset[str], ...] = ()   # none left


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative).

    ``graph`` maps a node to the nodes it points to; nodes only pointed to may be absent.
    A self-loop is not reported (a module cannot import itself in a way that matters).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        comp.add(member)
                        if member == node:
                            break
                    if len(comp) > 1:
                        found.append(frozenset(comp))
    return found


@pytest.fixture(scope="module")
def import_graph():
    return grimp.build_graph("bayeslab", cache_dir=None, exclude_type_checking_imports=True)


@pytest.fixture(scope="module")
def cycles(import_graph):
    g = import_graph
    edges = {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}
    return strongly_connected(edges)


def _explain(g, comp) -> str:
    lines = []
    for a in sorted(comp):
        for b in sorted(set(g.find_modules_directly_imported_by(a)) & comp):
            for d in g.get_import_details(importer=a, imported=b):
                lines.append(f"    {a}:{d['line_number']}: {d['line_contents']}")
    return "\n".join(lines)


def test_scc_finder_on_known_graphs():
    """The finder itself: a chain, a 2-cycle, a 3-cycle through a chain, a self-loop."""
    assert strongly_connected({"a": {"b"}, "b": {"c"}}) == []
    assert strongly_connected({"a": {"a"}}) == []
    assert strongly_connected({"a": {"b"}, "b": {"a"}}) == [frozenset("ab")]
    found = strongly_connected({"x": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a", "d"},
                                "d": {"e"}, "e": {"d"}})
    assert sorted(found, key=sorted) == [frozenset("abc"), frozenset("de")]
    # deep chains do not hit Python's recursion limit
    n = 5000
    ring = {str(i): {str((i + 1) % n)} for i in range(n)}
    assert strongly_connected(ring) == [frozenset(ring)]


def test_graph_sees_function_level_imports(import_graph):
    """Lazy imports count: sampling imports diagnostics inside sample_with_remedy."""
    g = import_graph
    imported = g.find_modules_directly_imported_by("bayeslab.inference.sampling")
    assert "bayeslab.inference.diagnostics" in imported
    assert "bayeslab.readout.monitor" in g.modules
    assert len(g.modules) > 50


def test_no_import_cycles(import_graph, cycles):
    new = [c for c in cycles if c not in KNOWN_CYCLES]
    assert not new, "import cycles:\n" + "\n".join(
        f"  {' <-> '.join(sorted(c))}\n{_explain(import_graph, c)}" for c in new)


def test_known_cycles_are_still_cycles(cycles):
    """An allowlisted cycle that is gone must leave KNOWN_CYCLES (it names what is left)."""
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in cycles]
    assert not gone, f"no longer cycles, remove from KNOWN_CYCLES: {gone}"
